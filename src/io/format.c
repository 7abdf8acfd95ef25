/*
 * format.c — a double as Python's repr() prints it.
 *
 * Two steps. First the digits: the shortest decimal M x 10^q that reads
 * back (rounding to nearest) to exactly v, and of those the one nearest v.
 * Then the layout: Python writes that decimal in positional form ("0.0001",
 * "1234567890123456.0") unless the exponent is below -4 or above 15, where
 * it switches to "1e-05" and "1e+16".
 *
 * The digits come from the C library, which converts exactly: snprintf's
 * "%.*e" gives v correctly rounded to p significant digits, and strtod reads
 * a decimal back correctly rounded. Neither ever sees a decimal point from
 * us: we read only the ASCII digits and the exponent that snprintf prints,
 * and hand strtod an integer with an exponent ("19959959983825684e-16"), so
 * the current locale's decimal comma cannot get in.
 */
#include "tapegrad/io.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A positive decimal M x 10^q, with M of at most 17 digits. */
typedef struct decimal {
    uint64_t m;
    int q;
} decimal;

/* v (finite, > 0) correctly rounded to p significant digits. */
static decimal round_to_digits(double v, int p)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.*e", p - 1, v);
    decimal d = {0, 0};
    const char *s = buf;
    for (; *s != 'e'; s++)           /* digits, skipping the decimal point */
        if (*s >= '0' && *s <= '9')
            d.m = d.m * 10 + (uint64_t)(*s - '0');
    int sign = s[1] == '-' ? -1 : 1;
    int e = 0;
    for (s += 2; *s >= '0' && *s <= '9'; s++)
        e = e * 10 + (*s - '0');
    d.q = sign * e - (p - 1);
    return d;
}

/* Whether M x 10^q reads back as exactly v. */
static bool reads_back(decimal d, double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%" PRIu64 "e%d", d.m, d.q);
    return strtod(buf, NULL) == v;
}

/*
 * The p-digit decimal nearest v that reads back as v, if there is one.
 * Usually that is v correctly rounded to p digits or nothing. But at a
 * power of two the doubles below v are twice as dense as those above, so
 * the interval that reads back as v reaches only half as far down as up:
 * the rounded decimal can lie below v, outside it, while the next p-digit
 * decimal up lies inside. (The one below never helps: it is farther from v
 * than the rounded one, on the narrow side or in a symmetric interval.)
 */
static bool digits_that_read_back(double v, int p, decimal *out)
{
    decimal d = round_to_digits(v, p);
    decimal up = {d.m + 1, d.q};
    if (reads_back(d, v))
        *out = d;
    else if (reads_back(up, v))
        *out = up;
    else
        return false;
    return true;
}

/*
 * The shortest decimal that reads back as v (finite, > 0), without
 * trailing zeros. Seventeen digits always suffice, and if p digits do then
 * so do p + 1, so a binary search over 1..17 finds the least p.
 */
static decimal shortest(double v)
{
    int lo = 1, hi = 17;
    decimal d;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (digits_that_read_back(v, mid, &d))
            hi = mid;
        else
            lo = mid + 1;
    }
    digits_that_read_back(v, lo, &d);
    while (d.m % 10 == 0) {
        d.m /= 10;
        d.q++;
    }
    return d;
}

/*
 * Lay out the digits as Python does. With the digits read as 0.DDD x
 * 10^point: exponent form when point <= -4 or point > 16 ("1.5e+16",
 * "1e-05": at least two exponent digits, no ".0"), otherwise positional,
 * always with a fractional part ("2.0", "0.001", "1e+16" - 1 =
 * "9999999999999998.0"). Returns the length.
 */
static int layout(char *out, const char *digits, int point)
{
    int nd = (int)strlen(digits);
    char *o = out;
    if (point <= -4 || point > 16) {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        int x = point - 1;
        *o++ = 'e';
        *o++ = x < 0 ? '-' : '+';
        x = abs(x);
        if (x >= 100)
            *o++ = (char)('0' + x / 100);
        *o++ = (char)('0' + x / 10 % 10);
        *o++ = (char)('0' + x % 10);
    } else if (point <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int k = 0; k < -point; k++)
            *o++ = '0';
        memcpy(o, digits, (size_t)nd);
        o += nd;
    } else {
        for (int k = 0; k < point || k < nd; k++) {
            if (k == point)
                *o++ = '.';
            *o++ = k < nd ? digits[k] : '0';
        }
        if (point >= nd) {
            *o++ = '.';
            *o++ = '0';
        }
    }
    *o = '\0';
    return (int)(o - out);
}

int tg_format_double(char *buf, size_t n, double v)
{
    if (buf == NULL) /* said as such, not as "a buffer of 0 bytes" */
        return tg_set_error(TG_EINVAL, "tg_format_double: buffer is NULL");
    if (n < TG_FLOAT_BUFSIZE)
        return tg_set_error(TG_EINVAL, "tg_format_double: buffer of %zu "
                            "bytes, needs at least %d", n, TG_FLOAT_BUFSIZE);
    if (isnan(v)) {
        strcpy(buf, "nan");
        return 3;
    }
    char *o = buf;
    if (signbit(v))
        *o++ = '-';
    if (isinf(v)) {
        strcpy(o, "inf");
        return (int)(o - buf) + 3;
    }
    if (v == 0.0) {
        strcpy(o, "0.0");
        return (int)(o - buf) + 3;
    }
    decimal d = shortest(fabs(v));
    char digits[24];
    snprintf(digits, sizeof digits, "%" PRIu64, d.m);
    int point = (int)strlen(digits) + d.q;
    return (int)(o - buf) + layout(o, digits, point);
}

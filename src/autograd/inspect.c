/*
 * inspect.c — looking inside a tape: names, summaries, the printed table,
 * backward's trace and anomaly checks.
 */
#include "tapegrad/tape.h"
#include "tapegrad/tensor.h"

#include "autograd/entry.h"
#include "autograd/inspect.h"
#include "io/utf8.h"
#include "tensor/error_internal.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int tg_set_name(tg_tensor *x, const char *name)
{
    int rc = tg__check_tensor("tg_set_name", x);
    if (rc != TG_OK)
        return rc;
    if (name == NULL)
        return tg_set_error(TG_EINVAL, "tg_set_name: name is NULL");
    size_t len = strnlen(name, 63);
    char *copy = tg__arena_alloc(&x->tape->arena, len + 1);
    if (copy == NULL)
        return tg_set_error(TG_ENOMEM, "tg_set_name: out of memory");
    memcpy(copy, name, len);
    copy[len] = '\0';
    x->name = copy;
    return TG_OK;
}

const char *tg_name(const tg_tensor *x)
{
    return x ? x->name : NULL;
}

/* Element i of x; of a uniform gradient (see tg_grad_fill), its value. */
static double value_at(const tg_tensor *x, int64_t i)
{
    /* a kept gradient that tg_zero_grad cleared reads as zeros (rule 10
     * of docs/errors.md), though they are not written yet */
    if (x->grad_of != NULL && x->grad_of->grad == x &&
        x->grad_of->grad_state == TG__GRAD_STALE)
        return 0.0;
    if (x->uniform)
        return x->uniform_value;
    return x->dtype == TG_F32 ? ((const float *)x->data)[i]
                              : ((const double *)x->data)[i];
}

const char *tg__escape_name(const char *name, char *buf)
{
    /* At most 4 bytes out per byte in ("\\x01"): 63 bytes fit in 256. */
    char cut[64];
    snprintf(cut, sizeof cut, "%s", name);
    tg__escape_text(cut, buf, TG__NAME_ESCAPED);
    return buf;
}

void tg__describe(const tg_tensor *x, char *buf, size_t n)
{
    char shape[96], name[TG__NAME_ESCAPED];
    tg_shape_str(x, shape, sizeof shape);
    if (x->name != NULL)
        snprintf(buf, n, "%s %s %s", tg__escape_name(x->name, name),
                 shape, tg_dtype_name(x->dtype));
    else if (x->creator >= 0)
        snprintf(buf, n, "#%lld %s %s", (long long)x->creator, shape,
                 tg_dtype_name(x->dtype));
    else
        snprintf(buf, n, "leaf %s %s", shape, tg_dtype_name(x->dtype));
}

void tg__summarise(const tg_tensor *x, char *buf, size_t n)
{
    size_t len = 0;
    if (x->numel <= 8) {
        len += (size_t)snprintf(buf, n, "[");
        for (int64_t i = 0; i < x->numel && len < n; i++)
            len += (size_t)snprintf(buf + len, n - len, "%s%.4g", i ? ", " : "",
                                    value_at(x, i));
        if (len < n)
            snprintf(buf + len, n - len, "]");
        return;
    }
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    for (int64_t i = 0; i < x->numel; i++) {
        double v = value_at(x, i);
        lo = fmin(lo, v);
        hi = fmax(hi, v);
        sum += v;
    }
    snprintf(buf, n, "min %.4g mean %.4g max %.4g", lo, sum / (double)x->numel,
             hi);
}

/* What a tensor's gradient is at this moment, for tables and traces. */
static void gradient_summary(const tg_tensor *x, char *buf, size_t n)
{
    if (x->grad == NULL || x->grad_state == TG__GRAD_STALE)
        snprintf(buf, n, "-");
    else
        tg__summarise(x->grad, buf, n);
}

int tg_tape_print(const tg_tape *t, FILE *f)
{
    if (t == NULL || f == NULL)
        return tg_set_error(TG_EINVAL, "tg_tape_print: tape or file is NULL");
    /* An input of another tape, reset since, may now be any bytes: check
     * every entry before writing anything (as tg_backward does). */
    for (int64_t k = 0; k < t->n_entries; k++) {
        int rc = tg__entry_check_inputs(&t->entries[k], "tg_tape_print");
        if (rc != TG_OK)
            return rc;
    }
    fprintf(f, "tape: %lld entries\n", (long long)t->n_entries);
    for (int64_t k = 0; k < t->n_entries; k++) {
        const tg__entry *e = &t->entries[k];
        char d[TG__DESCRIBED], v[256], g[256];
        char op[TG__NAME_ESCAPED];
        fprintf(f, "#%-4lld %-14s", (long long)k,
                tg__escape_name(e->op->name, op));
        for (int i = 0; i < e->n; i++) {
            tg__describe(e->in[i], d, sizeof d);
            fprintf(f, "%s%s", i ? ", " : "(", d);
        }
        tg__describe(e->out, d, sizeof d);
        tg__summarise(e->out, v, sizeof v);
        gradient_summary(e->out, g, sizeof g);
        fprintf(f, ") -> %s\n       value %s\n       grad  %s\n", d, v, g);
    }
    return ferror(f) ? tg_set_error(TG_EIO, "tg_tape_print: write failed")
                     : TG_OK;
}

void tg_tape_set_trace(tg_tape *t, FILE *f)
{
    if (t != NULL)
        t->trace = f;
}

void tg__trace_entry_to(const tg_tape *t, int64_t k, const tg__entry *e,
                        tg_tensor *const *slot)
{
    char d[TG__DESCRIBED], s[256];
    FILE *f = t->trace;
    if (slot == NULL) { /* before the op's backward runs */
        tg__describe(e->out, d, sizeof d);
        tg__summarise(e->out->grad, s, sizeof s);
        char op[TG__NAME_ESCAPED];
        fprintf(f, "backward #%lld %s: d root / d %s = %s\n", (long long)k,
                tg__escape_name(e->op->name, op), d, s);
        return;
    }
    for (int i = 0; i < e->n; i++) {
        if (slot[i] == NULL)
            continue;
        tg__describe(e->in[i], d, sizeof d);
        tg__summarise(slot[i], s, sizeof s);
        fprintf(f, "    passes to input %d (%s): %s\n", i, d, s);
    }
}

void tg_tape_set_anomaly(tg_tape *t, bool on)
{
    if (t != NULL)
        t->anomaly = on;
}

int tg__check_finite(const tg_tape *t, const tg_op *op, int64_t k,
                     tg_tensor *const *in, int n, const tg_tensor *x,
                     const char *what)
{
    (void)t;
    for (int64_t i = 0; i < x->numel; i++) {
        double v = value_at(x, i);
        if (isfinite(v))
            continue;
        char shapes[256], s[96];
        size_t len = 0;
        shapes[0] = '\0';
        for (int j = 0; j < n && len < sizeof shapes; j++)
            len += (size_t)snprintf(shapes + len, sizeof shapes - len, "%s%s",
                                    j ? " and " : "",
                                    tg_shape_str(in[j], s, sizeof s));
        char name[TG__NAME_ESCAPED];
        return tg_set_error(TG_ENUMERIC, "anomaly: %s of %s (tape entry "
                            "%lld, inputs %s) is %s at element %lld",
                            what, tg__escape_name(op->name, name), (long long)k, shapes,
                            isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf",
                            (long long)i);
    }
    return TG_OK;
}

int tg__check_gradients_now(const tg_tape *t, int64_t k, const tg__entry *e,
                            tg_tensor *const *gx)
{
    for (int i = 0; i < e->n; i++) {
        char what[48];
        snprintf(what, sizeof what, "the gradient of input %d", i);
        if (gx[i] != NULL &&
            tg__check_finite(t, e->op, k, e->in, e->n, gx[i], what) != TG_OK)
            return TG_ENUMERIC;
    }
    return TG_OK;
}

int tg__backward_failed(const tg_op *op, int rc, unsigned long errors)
{
    if (rc < 0 && tg__error_count() != errors)
        /* It said why: the prefix rule (base.h), "tg_<op>: " once. */
        return tg__error_in_op(op->name);
    /* A (user's) backward failed without saying why, or returned something
     * that is not a status: say which op it was. */
    return tg_set_error(rc < 0 ? rc : TG_EINVAL, "tg_backward: the backward "
                        "of %s failed (%s) without setting an error",
                        op->name, tg_strerror(rc));
}

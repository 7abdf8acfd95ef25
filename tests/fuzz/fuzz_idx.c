/*
 * fuzz_idx.c — libFuzzer harness for the IDX reader (tg_idx_parse and
 * tg_idx_parse_labels).
 *
 * Any input must be refused with TG_EFORMAT (and a message) or parsed
 * into exactly as many values as the bytes after the header hold.
 */
#include <tapegrad.h>

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The status of a failed parse must be TG_EFORMAT, with a message. */
static void check_refusal(void)
{
    if (tg_last_status() != TG_EFORMAT || tg_last_error()[0] == '\0')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg_tape *t = tg_tape_new();
    tg_clear_error();
    tg_tensor *x = tg_idx_parse(t, data, size, TG_F32, 1.0 / 255);
    if (x == NULL)
        check_refusal();
    else if (4 + 4 * (size_t)tg_ndim(x) >= size ||
             (size - 4 - 4 * (size_t)tg_ndim(x)) % (size_t)tg_numel(x) != 0)
        abort();
    int64_t n = -1;
    tg_clear_error();
    int64_t *y = tg_idx_parse_labels(t, data, size, &n);
    if (y == NULL) {
        check_refusal();
    } else {
        volatile int64_t sum = 0;
        for (int64_t i = 0; i < n; i++)
            sum += y[i];
        (void)sum;
    }
    tg_tape_free(t);
    return 0;
}

/*
 * fuzz_npy.c — libFuzzer harness for the .npy reader (tg_npy_parse).
 *
 * Any input must be either refused with TG_EFORMAT (and a message) or
 * accepted as a tensor whose values can all be read and whose size
 * accounts for every byte after the header.
 */
#include <tapegrad.h>

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg_tape *t = tg_tape_new();
    tg_clear_error();
    tg_tensor *x = tg_npy_parse(t, data, size);
    if (x == NULL) {
        if (tg_last_status() != TG_EFORMAT || tg_last_error()[0] == '\0')
            abort();
    } else {
        size_t bytes = (size_t)tg_numel(x) * tg_dtype_size(tg_dtype_of(x));
        if (bytes >= size)
            abort();
        volatile double sum = 0;
        for (int64_t i = 0; i < tg_numel(x); i++)
            sum += tg_dtype_of(x) == TG_F32 ? tg_data_f32(x)[i]
                                            : tg_data_f64(x)[i];
        (void)sum;
    }
    tg_tape_free(t);
    return 0;
}

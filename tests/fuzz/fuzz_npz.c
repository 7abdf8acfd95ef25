/*
 * fuzz_npz.c — libFuzzer harness for the .npz reader (tg_npz_parse, with
 * its ZIP reader).
 *
 * Any input must be refused with TG_EFORMAT (and a message) or give an
 * archive whose every name finds its own array.
 */
#include <tapegrad.h>

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tg_tape *t = tg_tape_new();
    tg_clear_error();
    const tg_npz *z = tg_npz_parse(t, data, size);
    if (z == NULL) {
        if (tg_last_status() != TG_EFORMAT || tg_last_error()[0] == '\0')
            abort();
    } else {
        for (int i = 0; i < z->n; i++) {
            if (tg_npz_get(z, z->names[i]) != z->arrays[i])
                abort();
            volatile double first = tg_item(z->arrays[i]);
            (void)first;
        }
    }
    tg_tape_free(t);
    return 0;
}

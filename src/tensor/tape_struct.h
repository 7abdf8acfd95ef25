/*
 * tape_struct.h — struct tg_tape, the struct behind the opaque tg_tape
 * handle: the arena that owns every tensor, the list of live tensors and
 * the recorded entries (struct tg__entry, src/autograd/entry.h).
 */
#ifndef TG_TENSOR_TAPE_STRUCT_H
#define TG_TENSOR_TAPE_STRUCT_H

#include "tapegrad/tensor.h"

#include <stdio.h>

#include "tensor/arena.h"

struct tg__entry;
struct tg__handle;

struct tg_tape {
    tg__arena arena;
    struct tg__entry *entries; /* allocator-owned, capacity kept by reset */
    int64_t n_entries;
    int64_t cap_entries;
    tg_tensor *tensors;      /* every live tensor, newest first */
    struct tg__handle *handles; /* every live handle (tensor/handle.h) */
    uint32_t generation;     /* bumped by every reset */
    bool grad_enabled;
    bool anomaly;            /* check every value for NaN and infinity */
    FILE *trace;             /* backward prints each step here, or NULL */
};

#endif /* TG_TENSOR_TAPE_STRUCT_H */

/*
 * tensor_struct.h — struct tg_tensor, the struct behind the opaque
 * tg_tensor handle: what every op reads (data, shape, dtype) and what the
 * tape and backward keep in it (owner, generation, gradient buffer).
 */
#ifndef TG_TENSOR_TENSOR_STRUCT_H
#define TG_TENSOR_TENSOR_STRUCT_H

#include "tapegrad/tensor.h"

/* Marks a live tensor; reset overwrites it so stale pointers are caught. */
#define TG__LIVE 0x7467746eu /* "tgtn" */
#define TG__DEAD 0xdeadbeefu

/*
 * What a tensor's gradient buffer holds. Backward may overwrite a STALE or
 * ZERO buffer instead of adding to it, which saves a pass over memory. A
 * LIVE gradient may also be uniform (its buffer's `uniform` flag): one
 * value for every element, not yet written out; only a LIVE one is.
 */
enum tg__grad_state {
    TG__GRAD_STALE = 0,      /* left over from an earlier pass, or zeroed by
                                tg_zero_grad: reads as 0 */
    TG__GRAD_ZERO = 1,       /* all zeros */
    TG__GRAD_LIVE = 2        /* a gradient */
};

struct tg_tensor {
    uint32_t magic;          /* TG__LIVE while its tape owns it */
    uint32_t generation;     /* the tape's generation when it was made */
    uint32_t version;        /* bumped by every tg_mut_f32 / tg_mut_f64:
                                backward refuses an entry whose input or
                                output changed since it was recorded */
    tg_tape *tape;           /* the owner */
    tg_tensor *next;         /* the owner's list of tensors, newest first */
    void *data;              /* numel values of dtype, row-major */
    tg_tensor *grad;         /* on the same tape; NULL until backward */
    int64_t numel;
    int64_t shape[TG_MAX_DIMS];
    int ndim;
    tg_dtype dtype;
    bool requires_grad;
    uint8_t grad_state;      /* a tg__grad_state: what grad's values mean */
    bool uniform;            /* a gradient: every element is uniform_value,
                                which data does not hold (tg_grad_fill) */
    double uniform_value;    /* already rounded to dtype */
    tg_tensor *grad_of;      /* a gradient buffer (or backward's scratch for
                                one): the tensor it is the gradient of */
    int64_t creator;         /* index of the entry that made it, -1: leaf */
    const char *name;        /* for pictures and traces; NULL: none */
};

#endif /* TG_TENSOR_TENSOR_STRUCT_H */

/*
 * grad_buffer.h — a tensor's gradient buffer, made and written out for
 * backward and the gradient accessors (src/tensor/grad_buffer.c).
 */
#ifndef TG_TENSOR_GRAD_BUFFER_H
#define TG_TENSOR_GRAD_BUFFER_H

#include "tapegrad/tensor.h"

/* x's gradient buffer, made on x's tape (and STALE) if missing. */
tg_tensor *tg__grad_buffer(tg_tensor *x);

/*
 * A gradient kept as one value (g->uniform, see tg_grad_fill) written out
 * into every element; nothing happens to any other tensor. The public
 * accessors (tg_grad, tg_data_f32 ...) do this before handing out
 * elements, and backward before an op without TG_OP_UNIFORM_GRAD reads
 * its gy.
 */
void tg__grad_materialize(tg_tensor *g);

/*
 * A gradient buffer g is about to be read (or written) element by element
 * through the public API: make its elements what its state says. A STALE
 * gradient (an earlier pass's, or one tg_zero_grad cleared without
 * writing) reads as zeros, so they are written now; a uniform one is
 * written out. Any other tensor is left alone.
 */
void tg__grad_prepare(const tg_tensor *g);

#endif /* TG_TENSOR_GRAD_BUFFER_H */

/*
 * tapegrad.h — a small autograd engine in C11. Include this one header.
 *
 * A tour: the derivative of relu on [-2, 2], as PyTorch's
 * relu(x).sum().backward() computes it.
 *
 *     #include <tapegrad.h>
 *
 *     tg_tape   *tape = tg_tape_new();                  // owns every tensor
 *     tg_tensor *x = tg_linspace(tape, TG_F32, -2.0, 2.0, 1000);
 *     tg_set_requires_grad(x, true);                    // a leaf we want d/dx of
 *     tg_tensor *y = tg_relu(tape, x);                  // recorded on the tape
 *     if (tg_backward(tape, tg_sum(tape, y)) != TG_OK)  // walk the tape backwards
 *         fprintf(stderr, "%s\n", tg_last_error());    // "tg_relu: ..." names the op
 *     const float *yp = tg_data_f32(tg_grad(x));        // d sum(relu(x)) / dx
 *     tg_tape_free(tape);                               // frees x, y, yp's storage
 *
 * The memory model, in one sentence: every tensor belongs to the tape it was
 * made on, and freeing or resetting the tape frees it. Parameters live on a
 * long-lived tape; each training step's work lives on a tape that is reset
 * after the step (keeping its memory, so the loop stops calling malloc).
 *
 * Errors never abort: pointer-returning calls return NULL, int-returning
 * ones a negative tg_status, and tg_last_error() (thread-local) says what
 * went wrong. A NULL input propagates with the status and message of the
 * failure that produced it, so a chain of ops is checked once, at the end.
 * (After handling an error and carrying on, call tg_clear_error(), so that
 * a later NULL is not blamed on it.)
 *
 * The conventions every call follows (names, argument order, how failure
 * is reported): docs/api-conventions.md.
 *
 * The headers, in reading order:
 *   tapegrad/base.h    dtypes, status codes, errors, allocator, version
 *   tapegrad/tensor.h  making tensors and reading them
 *   tapegrad/tape.h    the tape and tg_backward
 *   tapegrad/ops.h     the built-in ops, one line of maths each
 *   tapegrad/conv.h    conv1d and conv2d, with their options
 *   tapegrad/index.h   gather, index_select, embedding, split, and the
 *                      losses that pick by class
 *   tapegrad/op.h      defining and registering your own op
 *   tapegrad/elementwise.h  the loops of an elementwise op, written once
 *                      (not included here: an op file includes it)
 *   tapegrad/gradcheck.h  finite-difference gradient checks
 *   tapegrad/check.h   one-line gradient assertions for Check suites (not
 *                      included here: include it yourself, it needs Check)
 *   tapegrad/io.h      JSON and SVG output
 *   tapegrad/histogram.h  binned counts and their SVG bar charts
 *   tapegrad/random.h  a seeded generator (PCG32) and random tensors
 *   tapegrad/npy.h     NumPy's .npy and .npz files
 *   tapegrad/idx.h     MNIST's IDX files (images and labels)
 *   tapegrad/nn.h      parameter lists, layers, losses, optimizers
 *   tapegrad/sequence.h  layer norm, attention, GRU and LSTM cells,
 *                      multi-head self-attention
 *   tapegrad/pool.h    pooling, dropout, batch normalisation
 *   tapegrad/sequential.h  the layer interface and a sequential container
 *   tapegrad/train.h   gradient clipping, learning-rate schedules,
 *                      checkpoints
 */
#ifndef TAPEGRAD_H
#define TAPEGRAD_H

#include "tapegrad/base.h"
#include "tapegrad/tensor.h"
#include "tapegrad/tape.h"
#include "tapegrad/op.h"
#include "tapegrad/ops.h"
#include "tapegrad/conv.h"
#include "tapegrad/io.h"
#include "tapegrad/histogram.h"
#include "tapegrad/random.h"
#include "tapegrad/npy.h"
#include "tapegrad/idx.h"
#include "tapegrad/nn.h"
#include "tapegrad/sequence.h"
#include "tapegrad/sequential.h"
#include "tapegrad/train.h"
#include "tapegrad/gradcheck.h"
#include "tapegrad/vjp.h"
#include "tapegrad/pool.h"
#include "tapegrad/index.h"

#endif /* TAPEGRAD_H */

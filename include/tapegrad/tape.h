/*
 * tapegrad/tape.h — the tape: the arena that owns tensors and the list of
 * op calls (a Wengert list) that backward replays in reverse.
 *
 * An op called with a tape that has grad enabled, on an input that requires
 * grad, appends an entry: the op, its inputs, its output and whatever it
 * saved for backward. tg_backward(t, root) seeds d root / d root = 1 and
 * walks the entries last to first; each op's backward turns the gradient of
 * its output into gradients of its inputs, which the tape adds up.
 *
 * Memory: the tape is also the arena for every tensor made on it.
 * tg_tape_reset frees them all at once but keeps the memory, so a training
 * loop that resets its step tape stops calling malloc after the first step.
 *
 * Threads: a tape and its tensors are used by one thread at a time;
 * different tapes may be used from different threads at once (see
 * docs/errors.md for the whole contract).
 */
#ifndef TAPEGRAD_TAPE_H
#define TAPEGRAD_TAPE_H

#include "tensor.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A new, empty tape with grad enabled; NULL on allocation failure. */
TG_API tg_tape *tg_tape_new(void);

/* Free every tensor and entry on t, keeping its memory for reuse. Tensors
 * of t are invalid afterwards: passing one to a call is TG_ESTATE ("tensor
 * was freed by a reset"), since t keeps the memory they were in until it
 * is freed. No-op on NULL. */
TG_API void tg_tape_reset(tg_tape *t);

/* Free t and everything it owns. No-op on NULL. */
TG_API void tg_tape_free(tg_tape *t);

/* on = false: ops on t compute but record nothing (PyTorch's no_grad). */
TG_API void tg_tape_set_grad_enabled(tg_tape *t, bool on);
TG_API bool tg_tape_grad_enabled(const tg_tape *t);

/* Number of entries recorded on t since it was made or last reset. */
TG_API int64_t tg_tape_size(const tg_tape *t);

/* Bytes of memory t holds from the allocator (live or kept for reuse). */
TG_API size_t tg_tape_bytes_reserved(const tg_tape *t);

/*
 * Backpropagate from root, a tensor of t with exactly one element that
 * requires grad: afterwards tg_grad(x) holds d root / d x for every tensor
 * x root depends on. Leaf gradients add to what earlier passes left;
 * gradients of t's intermediate tensors are recomputed by each pass.
 * Calling it twice on the same tape is allowed (the tape is not consumed).
 * Errors: for a NULL root, the status and message of the failure that
 * produced it (TG_EINVAL if there was none), TG_ESHAPE for a root with
 * more than one element, TG_ESTATE for a root of another tape, from before
 * a reset, or not requiring grad, for an input freed by a reset of its
 * tape, for an input or output written through tg_mut_* after its op was
 * recorded, and for an input made by an op recorded on another tape
 * (which backward does not follow: record on one tape, or tg_detach it),
 * TG_ENOMEM, TG_ENUMERIC (anomaly mode) or a user op's failure. After any
 * failure, leaf gradients may be partly updated: call tg_zero_grad on
 * them before trying again.
 */
TG_API int tg_backward(tg_tape *t, tg_tensor *root);

/* ---- Looking inside: for learning and debugging ------------------------ */

/*
 * Print the tape as a table, one entry a line: its position, the op, the
 * inputs and the output (names, shapes, dtypes), and the values and
 * gradients in brief (in full for tensors of up to 8 elements, else
 * min / mean / max). Returns 0, TG_EINVAL for NULLs, TG_ESTATE (writing
 * nothing) for an input of another tape freed by its reset, or TG_EIO.
 */
TG_API int tg_tape_print(const tg_tape *t, FILE *f);

/*
 * Write the tape as a Graphviz graph (dot language): a box per tensor with
 * its name, shape and, once computed, a summary of its value and gradient;
 * an ellipse per op call; arrows from inputs to op to output (micrograd's
 * draw_dot). Render with `dot -Tsvg graph.dot -o graph.svg`.
 * Returns 0, TG_EINVAL for NULLs or TG_EIO.
 */
TG_API int tg_tape_dot(const tg_tape *t, FILE *f);

/*
 * Trace backward passes on t to f (NULL stops): for every entry, in the
 * order backward visits them, the gradient arriving at its output and the
 * gradient it passes on to each input.
 */
TG_API void tg_tape_set_trace(tg_tape *t, FILE *f);

/*
 * Anomaly mode (PyTorch's detect_anomaly): check every op output made on t
 * and every gradient backward computes for NaN or infinity, and fail at
 * the first with TG_ENUMERIC and a message naming the op, its position on
 * the tape, the input shapes and the element. Off by default (it costs a
 * pass over every value).
 */
TG_API void tg_tape_set_anomaly(tg_tape *t, bool on);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_TAPE_H */

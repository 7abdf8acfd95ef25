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
 */
#ifndef TAPEGRAD_TAPE_H
#define TAPEGRAD_TAPE_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A new, empty tape with grad enabled; NULL on allocation failure. */
tg_tape *tg_tape_new(void);

/* Free every tensor and entry on t, keeping its memory for reuse. Tensors
 * of t are invalid afterwards. No-op on NULL. */
void tg_tape_reset(tg_tape *t);

/* Free t and everything it owns. No-op on NULL. */
void tg_tape_free(tg_tape *t);

/* on = false: ops on t compute but record nothing (PyTorch's no_grad). */
void tg_tape_set_grad_enabled(tg_tape *t, bool on);
bool tg_tape_grad_enabled(const tg_tape *t);

/* Number of entries recorded on t since it was made or last reset. */
int64_t tg_tape_size(const tg_tape *t);

/* Bytes of memory t holds from the allocator (live or kept for reuse). */
size_t tg_tape_bytes_reserved(const tg_tape *t);

/*
 * Backpropagate from root, a tensor of t with exactly one element that
 * requires grad: afterwards tg_grad(x) holds d root / d x for every tensor
 * x root depends on. Leaf gradients add to what earlier passes left;
 * gradients of t's intermediate tensors are recomputed by each pass.
 * Calling it twice on the same tape is allowed (the tape is not consumed).
 * Errors: for a NULL root, the status and message of the failure that
 * produced it (TG_EINVAL if there was none), TG_ESHAPE for a root with more than one element, TG_ESTATE
 * for a root of another tape, from before a reset, or not requiring grad,
 * TG_ENOMEM (leaf gradients may then be partly updated).
 */
int tg_backward(tg_tape *t, tg_tensor *root);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_TAPE_H */

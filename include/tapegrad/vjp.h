/*
 * tapegrad/vjp.h — gradients as tensors: vector-Jacobian products, the
 * gradients of gradients, Hessian-vector products and forward-mode
 * (Jacobian-vector) products.
 *
 * tg_backward writes d root / d x into every leaf's gradient with fast
 * loops; the numbers it writes have no history. tg_vjp instead returns the
 * gradients of chosen tensors as new tensors, touching no tensor's
 * gradient, and with create_graph they are recorded on the tape like any
 * op's output, so they can be differentiated again, to any order. It is
 * PyTorch's torch.autograd.grad(outputs, inputs, grad_outputs,
 * create_graph=...). The second derivative of tanh at x:
 *
 *     tg_tensor *x = tg_scalar(t, TG_F64, 0.5);
 *     tg_set_requires_grad(x, true);
 *     tg_tensor *y = tg_tanh(t, x);
 *     tg_tensor *dy, *ddy;
 *     tg_vjp_options o = tg_vjp_defaults();
 *     o.create_graph = true;                        // dy gets a history
 *     tg_vjp(t, 1, &y, NULL, 1, &x, &dy, &o);       // dy = 1 - tanh(x)^2
 *     tg_vjp(t, 1, &dy, NULL, 1, &x, &ddy, NULL);   // ddy = -2 tanh(x) dy
 *     printf("%.6f %.6f\n", tg_item(dy), tg_item(ddy));
 *
 * (y and dy must have one element for a NULL grad_outputs; otherwise pass
 * the vector v of v^T J.) With create_graph every op on the way needs its
 * derivative written with ops (tg_op.backward_ops); all built-in ops that
 * have one are listed by tg_op_at with a non-NULL backward_ops.
 */
#ifndef TAPEGRAD_VJP_H
#define TAPEGRAD_VJP_H

#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What an input the outputs do not depend on gets from tg_vjp. */
typedef enum tg_unused {
    TG_UNUSED_ERROR = 0,     /* TG_EINVAL naming the input (PyTorch's
                                allow_unused=False) */
    TG_UNUSED_NULL = 1,      /* NULL (allow_unused=True) */
    TG_UNUSED_ZEROS = 2      /* a tensor of zeros (materialize_grads) */
} tg_unused;

typedef struct tg_vjp_options {
    bool create_graph;       /* record the gradients on the tape, so that
                                they can be differentiated again */
    tg_unused unused;
} tg_vjp_options;

/* create_graph off, unused inputs an error. */
TG_API tg_vjp_options tg_vjp_defaults(void);

/*
 * grads[i] = the sum over j of grad_outputs[j]^T (d outputs[j] / d
 * inputs[i]), with grads[i] shaped like inputs[i]: the gradient of
 * sum_j <grad_outputs[j], outputs[j]> with respect to each input. The
 * outputs must be on t and have a history (an input of theirs requires
 * grad); grad_outputs may be NULL, or hold NULLs, for one-element outputs
 * (then 1). The inputs may be leaves or intermediate tensors of t. The
 * gradients are new tensors on t (one may be a grad_output itself, when
 * the output is an input). No tensor's tg_grad changes.
 * With opt->create_graph the gradients are recorded on t (t must have
 * grad enabled): differentiate them with tg_vjp or tg_backward. Without
 * it nothing is recorded.
 * Returns TG_OK, or: TG_EINVAL for NULL arguments, counts below 1, a
 * grad_output of the wrong shape (TG_ESHAPE) or dtype (TG_EDTYPE), a
 * missing grad_output for an output with more than one element, an
 * unused input under TG_UNUSED_ERROR, create_graph through an op without
 * backward_ops (naming it) or on a tape with grad disabled; TG_ESTATE for
 * stale tensors, outputs of another tape or without a history;
 * TG_ENOMEM. On failure every grads[i] is NULL, no tensor's gradient has
 * changed and t stays usable (ops the walk recorded before the failure
 * stay on t, unused). grads may be the outputs or the inputs array itself
 * (it is written last). Inputs may belong to another tape (parameters
 * kept on a tape of their own).
 */
TG_API int tg_vjp(tg_tape *t, int n_out, tg_tensor *const *outputs,
                  tg_tensor *const *grad_outputs, int n_in,
                  tg_tensor *const *inputs, tg_tensor **grads,
                  const tg_vjp_options *opt);

/*
 * Forward mode: jvps[j] = sum over i of (d outputs[j] / d inputs[i])
 * tangents[i], the directional derivative of each output along the
 * tangents (tangents[i] shaped like inputs[i]; NULL entries count as
 * zeros). Built from two reverse passes (the "double-VJP" trick): with a
 * stand-in u_j for each output, g = J^T u is recorded, and J v is the
 * tg_vjp of g with grad_outputs v, with respect to u, so every op on the
 * way needs backward_ops. The tangents are constants of the product (a
 * tangent with a history of its own adds nothing through it).
 * opt->create_graph records the result (t must have grad enabled); without
 * it tg_jvp works on a tape with grad disabled too (the inner passes are
 * its own) and the result has no history. opt->unused is not consulted
 * (an output that does not depend on the inputs gets zeros).
 * Every argument is checked before anything is made. Errors as tg_vjp's
 * (messages start "tg_jvp: "; one from the inner passes reads "tg_jvp:
 * tg_vjp: ..."), TG_EINVAL for NULL tangents or jvps, and TG_ESHAPE /
 * TG_EDTYPE for a tangent unlike its input. On failure every jvps[j] is
 * NULL and no tensor's gradient has changed.
 */
TG_API int tg_jvp(tg_tape *t, int n_out, tg_tensor *const *outputs, int n_in,
                  tg_tensor *const *inputs, tg_tensor *const *tangents,
                  tg_tensor **jvps, const tg_vjp_options *opt);

/*
 * Hessian-vector products of a one-element output f: hvps[i] = sum over k
 * of (d^2 f / d inputs[i] d inputs[k]) vectors[k]: the gradient of
 * <grad f, v> with v held constant (PyTorch's autograd.functional.hvp), by
 * two reverse passes: grad f recorded, then its tg_vjp with grad_outputs
 * v. NULL vectors count as zeros; unused inputs get zeros.
 * opt->create_graph records the result (third derivatives and on; t must
 * have grad enabled); without it tg_hvp works on a tape with grad disabled
 * too. Errors as tg_jvp's (messages start "tg_hvp: "), and TG_EINVAL for
 * an f of more than one element. A Newton step with conjugate gradients
 * needs nothing more (examples/newton.c).
 */
TG_API int tg_hvp(tg_tape *t, tg_tensor *f, int n_in,
                  tg_tensor *const *inputs, tg_tensor *const *vectors,
                  tg_tensor **hvps, const tg_vjp_options *opt);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_VJP_H */

/*
 * call_checks.h — what tg_apply checks of an op call
 * (src/autograd/call_checks.c).
 */
#ifndef TG_AUTOGRAD_CALL_CHECKS_H
#define TG_AUTOGRAD_CALL_CHECKS_H

#include "tapegrad/op.h"

/* TG_EINVAL naming fn and the problem unless op is usable: not NULL, a
 * name, a forward and a backward, an arity of -1 or at least 1 (for
 * tg_apply and tg_op_register). */
int tg__check_op(const char *fn, const tg_op *op);

/*
 * A valid op, a tape, the right number of inputs, none NULL or stale, one
 * dtype. The message names the op's call ("tg_relu"); it is only built on
 * failure, since this runs on every op call.
 */
int tg__check_call(tg_tape *t, const tg_op *op, tg_tensor *const *in, int n);

/* *copy = op->params_size bytes of params on t (NULL for none). */
int tg__copy_params(tg_tape *t, const tg_op *op, const void *params,
                    void **copy);

/* What forward returned: a new tensor on c->tape (finite in anomaly
 * mode); a NULL is reported naming the op. errors: tg__error_count()
 * before forward ran. */
int tg__check_output(const tg_op_ctx *c, const tg_tensor *out,
                     unsigned long errors);

/* Whether an input requires grad, so that the call is recorded. */
bool tg__any_requires_grad(tg_tensor *const *in, int n);

#endif /* TG_AUTOGRAD_CALL_CHECKS_H */

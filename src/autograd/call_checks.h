/*
 * call_checks.h — what tg_apply checks of an op call
 * (src/autograd/call_checks.c).
 */
#ifndef TG_AUTOGRAD_CALL_CHECKS_H
#define TG_AUTOGRAD_CALL_CHECKS_H

#include "tapegrad/op.h"

#include "tensor/tape_struct.h"
#include "tensor/tensor_struct.h"

/* TG_EINVAL naming fn and the problem unless op is usable: not NULL, a
 * name, a forward and a backward, an arity of -1 or at least 1 (for
 * tg_apply and tg_op_register). */
int tg__check_op(const char *fn, const tg_op *op);

/* The right number of inputs, none NULL or stale, one dtype. */
static inline bool tg__inputs_ok(const tg_op *op, tg_tensor *const *in, int n)
{
    bool ok = (op->arity < 0 || n == op->arity) && n >= 1 && in != NULL;
    for (int i = 0; ok && i < n; i++)
        ok = in[i] != NULL && in[i]->magic == TG__LIVE &&
             in[i]->generation == in[i]->tape->generation &&
             in[i]->dtype == in[0]->dtype;
    return ok;
}

/* What is wrong with a call that tg__check_call did not pass (a valid
 * op): the error, naming the op's call ("tg_relu"). */
int tg__check_call_report(tg_tape *t, const tg_op *op, tg_tensor *const *in,
                          int n);

/*
 * A valid op, a tape, the right number of inputs, none NULL or stale, one
 * dtype. Inline, with the message only built on failure: this runs on
 * every op call.
 */
static inline int tg__check_call(tg_tape *t, const tg_op *op,
                                 tg_tensor *const *in, int n)
{
    int rc = tg__check_op("tg_apply", op);
    if (rc != TG_OK)
        return rc;
    return t != NULL && tg__inputs_ok(op, in, n)
               ? TG_OK
               : tg__check_call_report(t, op, in, n);
}

/* *copy = op->params_size bytes of params on t (NULL for none). Inline
 * for the common op without params: this runs on every op call. */
int tg__copy_params_slow(tg_tape *t, const tg_op *op, const void *params,
                         void **copy);
static inline int tg__copy_params(tg_tape *t, const tg_op *op,
                                  const void *params, void **copy)
{
    *copy = NULL;
    return op->params_size == 0 ? TG_OK
                                : tg__copy_params_slow(t, op, params, copy);
}

/* Whether out was made on c->tape after `before` was its newest tensor
 * (c->tape->tensors when forward began): a walk of the tensors forward
 * made, which for a built-in op ends at the first. */
static inline bool tg__made_since(const tg_op_ctx *c, const tg_tensor *out,
                                  const tg_tensor *before)
{
    for (const tg_tensor *x = c->tape->tensors; x != before && x != NULL;
         x = x->next)
        if (x == out)
            return true;
    return false;
}

/* What forward returned: a new tensor on c->tape, made by this forward
 * (finite in anomaly mode); a NULL, an input, or a tensor that existed
 * before (a leaf, an earlier result) is reported naming the op. errors:
 * tg__error_count() before forward ran; before: c->tape->tensors then.
 * The report, and the inline common case: */
int tg__check_output_report(const tg_op_ctx *c, const tg_tensor *out,
                            unsigned long errors, const tg_tensor *before);
static inline int tg__check_output(const tg_op_ctx *c, const tg_tensor *out,
                                   unsigned long errors,
                                   const tg_tensor *before)
{
    bool ok = out != NULL && out->tape == c->tape && out->magic == TG__LIVE &&
              !c->tape->anomaly && tg__made_since(c, out, before);
    return ok ? TG_OK : tg__check_output_report(c, out, errors, before);
}

/* Whether an input requires grad, so that the call is recorded. */
static inline bool tg__any_requires_grad(tg_tensor *const *in, int n)
{
    for (int i = 0; i < n; i++)
        if (in[i]->requires_grad)
            return true;
    return false;
}

#endif /* TG_AUTOGRAD_CALL_CHECKS_H */

/*
 * call_checks.c — what tg_apply checks of an op call before and after it
 * runs the op: a valid op, the inputs, and what the forward returned.
 */
#include "tapegrad/op.h"

#include "autograd/call_checks.h"
#include "autograd/inspect.h"
#include "tensor/error_internal.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <stdio.h>
#include <string.h>

int tg__check_op(const char *fn, const tg_op *op)
{
    if (op == NULL)
        return tg_set_error(TG_EINVAL, "%s: op is NULL", fn);
    if (op->name == NULL || op->name[0] == '\0')
        return tg_set_error(TG_EINVAL, "%s: op has no name", fn);
    if (op->forward == NULL || op->backward == NULL)
        return tg_set_error(TG_EINVAL, "%s: op \"%s\" needs both a forward "
                            "and a backward function", fn, op->name);
    if (op->arity < -1 || op->arity == 0)
        return tg_set_error(TG_EINVAL, "%s: op \"%s\" has arity %d; it must "
                            "be at least 1, or -1 for any", fn, op->name,
                            op->arity);
    return TG_OK;
}

/* Whether x is usable: the cheap test tg_apply makes on every input. */
/*
 * Inputs: the right count, none NULL or stale, all of one dtype. The
 * function name for messages ("tg_relu") is only built on failure: this
 * runs on every op call.
 */
static int check_inputs(const tg_op *op, tg_tensor *const *in, int n)
{
    if (tg__inputs_ok(op, in, n))
        return TG_OK;
    char fn[64];
    snprintf(fn, sizeof fn, "tg_%s", op->name);
    if (op->arity >= 0 && n != op->arity)
        return tg_set_error(TG_EINVAL, "%s: takes %d input%s, got %d", fn,
                            op->arity, op->arity == 1 ? "" : "s", n);
    if (n < 1)
        return tg_set_error(TG_EINVAL, "%s: takes at least 1 input, got %d",
                            fn, n);
    if (in == NULL)
        return tg_set_error(TG_EINVAL, "%s: inputs array is NULL", fn);
    for (int i = 0; i < n; i++) {
        int rc = tg__check_tensor(fn, in[i]);
        if (rc != TG_OK)
            return rc;
    }
    for (int i = 1; i < n; i++)
        if (in[i]->dtype != in[0]->dtype)
            return tg_set_error(TG_EDTYPE, "%s: inputs are %s and %s; convert "
                                "one so both have the same dtype", fn,
                                tg_dtype_name(in[0]->dtype),
                                tg_dtype_name(in[i]->dtype));
    return tg_set_error(TG_EINVAL, "%s: bad inputs", fn); /* unreachable */
}

int tg__check_call_report(tg_tape *t, const tg_op *op, tg_tensor *const *in,
                          int n)
{
    if (t == NULL)
        return tg_set_error(TG_EINVAL, "tg_%s: tape is NULL", op->name);
    return check_inputs(op, in, n);
}

/* A copy of the caller's params on t, so that they may go away. */
int tg__copy_params_slow(tg_tape *t, const tg_op *op, const void *params,
                         void **copy)
{
    if (params == NULL)
        return tg_set_error(TG_EINVAL, "tg_%s: params are NULL", op->name);
    *copy = tg_tape_alloc(t, op->params_size);
    if (*copy == NULL)
        return tg__error_in_op(op->name); /* the op, not the allocation */
    memcpy(*copy, params, op->params_size);
    return TG_OK;
}

/*
 * What a (user's) forward returned must be a new tensor on t. Recording
 * an input as its own output would turn a leaf into a non-leaf and feed
 * its gradient back into itself; a NULL without an error would leave the
 * caller with a stale or empty message. Both are reported here.
 */
int tg__check_output_report(const tg_op_ctx *c, const tg_tensor *out,
                            unsigned long errors, const tg_tensor *before)
{
    const tg_op *op = c->op;
    if (out == NULL) {
        if (tg__error_count() != errors)
            /* The prefix rule (base.h): "tg_<op>: " once, in front of the
             * detail forward wrote or of a call inside it that failed. */
            return tg__error_in_op(op->name);
        return tg_set_error(TG_EINVAL, "tg_%s: forward returned NULL without "
                            "setting an error", op->name);
    }
    for (int i = 0; i < c->n; i++)
        if (out == c->in[i])
            return tg_set_error(TG_EINVAL, "tg_%s: forward returned one of "
                                "its inputs; it must return a new tensor "
                                "made on c->tape", op->name);
    if (out->tape != c->tape || out->magic != TG__LIVE)
        return tg_set_error(TG_EINVAL, "tg_%s: forward must return a new "
                            "tensor made on c->tape", op->name);
    if (!tg__made_since(c, out, before))
        return tg_set_error(TG_EINVAL, "tg_%s: forward returned a tensor "
                            "that existed before the call (%s); it must "
                            "return a new tensor made on c->tape", op->name,
                            out->creator >= 0 ? "an earlier op's result"
                                              : "a leaf");
    if (c->tape->anomaly)
        return tg__check_finite(c->tape, op, c->tape->n_entries, c->in, c->n,
                                out, "the output");
    return TG_OK;
}

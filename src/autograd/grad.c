/*
 * grad.c — the gradient bookkeeping behind backward.c's walk: where each
 * gradient is kept, how the op's results are added into it, the seed, and
 * gradients that are one value everywhere.
 *
 * Each tensor that needs a gradient gets a buffer (x->grad) on its tape,
 * made the first time backward reaches it. x->grad_state says what the
 * buffer holds (see enum tg__grad_state): only a LIVE buffer holds a
 * gradient; a STALE one reads as zeros without having been written.
 * A uniform gradient (tg_grad_fill) is one number standing for every
 * element, written out only when something reads the elements. The
 * buffers themselves, and reading them, are src/tensor/grad_buffer.c's.
 */
#include "tapegrad/op.h"

#include "autograd/entry.h"
#include "autograd/grad.h"
#include "tensor/arena.h"
#include "tensor/grad_buffer.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

static double round_to(tg_dtype dt, double v)
{
    return dt == TG_F32 ? (double)(float)v : v;
}

int tg_grad_fill(tg_tensor *gx, double value)
{
    int rc = tg__check_tensor("tg_grad_fill", gx);
    if (rc != TG_OK)
        return rc;
    gx->uniform_value = round_to(gx->dtype, value);
    gx->uniform = true;
    if (gx->grad_of == NULL) /* not a gradient buffer: write it out now */
        tg__grad_materialize(gx);
    return TG_OK;
}

bool tg_grad_uniform(const tg_tensor *gy, double *value)
{
    if (gy == NULL || !gy->uniform)
        return false;
    if (value != NULL)
        *value = gy->uniform_value;
    return true;
}

/* ---- one backward pass */

void tg__grad_begin_pass(tg_tape *t)
{
    for (int64_t k = 0; k < t->n_entries; k++) {
        tg_tensor *out = t->entries[k].out;
        out->grad_state = TG__GRAD_STALE;
        if (out->grad != NULL)
            out->grad->uniform = false;
    }
}

/* d root / d root = 1, added to whatever a leaf root already holds. */
int tg__grad_seed(tg_tensor *root)
{
    tg_tensor *g = tg__grad_buffer(root);
    if (g == NULL)
        return tg_set_error(TG_ENOMEM, "tg_backward: out of memory");
    tg__grad_materialize(g);
    double before = root->grad_state == TG__GRAD_LIVE ? tg_item(g) : 0.0;
    if (g->dtype == TG_F32)
        *(float *)g->data = (float)(before + 1.0);
    else
        *(double *)g->data = before + 1.0;
    root->grad_state = TG__GRAD_LIVE;
    return TG_OK;
}

bool tg__grad_reached(const tg_tensor *x)
{
    return x->grad_state == TG__GRAD_LIVE;
}

const tg_tensor *tg__grad_of_output(const tg__entry *e)
{
    if (!(e->op->flags & TG_OP_UNIFORM_GRAD))
        tg__grad_materialize(e->out->grad); /* the op reads its elements */
    return e->out->grad;
}

/*
 * Choose where the op writes input x's gradient. If x's gradient holds no
 * value yet (zero or stale) the op can overwrite it directly, which saves a
 * pass over memory; otherwise, or when another slot of the same call
 * already writes it (as in mul(x, x)), the op writes a scratch tensor that
 * is added in afterwards.
 */
static tg_tensor *gradient_slot(tg_tape *t, tg_tensor *x, bool *direct)
{
    tg_tensor *g = tg__grad_buffer(x);
    if (g == NULL)
        return NULL;
    *direct = x->grad_state != TG__GRAD_LIVE;
    if (*direct) {
        x->grad_state = TG__GRAD_LIVE; /* a second slot gets scratch */
        g->uniform = false;            /* the op writes it afresh */
        return g;
    }
    tg_tensor *scratch = tg_empty(t, x->dtype, x->ndim, x->shape);
    if (scratch != NULL)
        scratch->grad_of = x; /* a gradient too: it may be kept uniform */
    return scratch;
}

int tg__grad_slots(tg_tape *t, const tg__entry *e, tg__slots *s)
{
    s->gx = s->gx_few;
    s->direct = s->direct_few;
    if (e->n > TG__FEW_INPUTS) {
        s->gx = tg__arena_alloc(&t->arena, (size_t)e->n * sizeof *s->gx);
        s->direct = tg__arena_alloc(&t->arena,
                                    (size_t)e->n * sizeof *s->direct);
        if (s->gx == NULL || s->direct == NULL)
            return tg_set_error(TG_ENOMEM, "tg_backward: out of memory");
    }
    for (int i = 0; i < e->n; i++) {
        tg_tensor *x = e->in[i];
        s->gx[i] = NULL; /* no gradient wanted */
        s->direct[i] = false;
        if (!x->requires_grad)
            continue;
        s->gx[i] = gradient_slot(t, x, &s->direct[i]);
        if (s->gx[i] == NULL)
            return tg_set_error(TG_ENOMEM, "tg_backward: out of memory for "
                                "the gradient of %s's input %d",
                                e->op->name, i);
    }
    return TG_OK;
}

/* Every element of dst += v. */
static void add_value_into(tg_tensor *dst, double v)
{
    if (dst->dtype == TG_F32) {
        float *restrict d = dst->data;
        float f = (float)v;
        for (int64_t i = 0; i < dst->numel; i++)
            d[i] += f;
    } else {
        double *restrict d = dst->data;
        for (int64_t i = 0; i < dst->numel; i++)
            d[i] += v;
    }
}

/* dst += src, elementwise; same shape and dtype. Either may be uniform. */
void tg__grad_add_into(tg_tensor *dst, const tg_tensor *src)
{
    if (dst->uniform && src->uniform) {
        dst->uniform_value = round_to(dst->dtype, dst->uniform_value +
                                                  src->uniform_value);
        return;
    }
    tg__grad_materialize(dst);
    if (src->uniform) {
        add_value_into(dst, src->uniform_value);
        return;
    }
    if (dst->dtype == TG_F32) {
        float *restrict d = dst->data;
        const float *restrict s = src->data;
        for (int64_t i = 0; i < dst->numel; i++)
            d[i] += s[i];
    } else {
        double *restrict d = dst->data;
        const double *restrict s = src->data;
        for (int64_t i = 0; i < dst->numel; i++)
            d[i] += s[i];
    }
}


/*
 * conv.c — conv1d and conv2d, and the two ops their gradients are made of.
 *
 *     y = conv(x, w) + b           x (N,C,H,W), w (O,C/g,kH,kW), y (N,O,OH,OW)
 *     d root / d x = conv_input_grad(gy, w)    the transposed convolution
 *     d root / d w = conv_weight_grad(x, gy)   the correlation of x with gy
 *     d root / d b = gy summed over N, OH, OW
 *
 * conv is linear in x and in w, so its two gradients are linear in each of
 * their inputs, and their own gradients are again convs of the three
 * kinds: with G the gradient arriving at the result,
 *
 *     input_grad(gy, w):  d/d gy = conv(G, w),     d/d w = weight_grad(G, gy)
 *     weight_grad(x, gy): d/d x = input_grad(gy, G), d/d gy = conv(x, G)
 *
 * (each from <G, input_grad(gy, w)> = <gy, conv(G, w)> and its like). So
 * backward_ops writes every gradient as one of the three ops, and
 * gradients of gradients exist to any order. conv1d is conv2d with H = 1
 * and a 1-tall kernel; it has its own three ops, so errors name it.
 *
 * The checks of shapes and options are conv_geom.c's; the loops are
 * conv_kernel.c's (im2col + the project's gemm) and conv_direct.c's; their
 * scratch comes from the tape arena (tg_tape_alloc), reused after a reset.
 */
#include "tapegrad/conv.h"
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "ops/conv_geom.h"
#include "ops/conv_kernel.h"
#include "tensor/tensor_struct.h"

#include <stdint.h>

/* The op of a kind for 1 or 2 spatial dims. */
static const tg_op *op_of(int nsp, enum tg__conv_kind k)
{
    static const tg_op *const ops[2][3] = {
        {&tg__op_conv1d, &tg__op_conv1d_input_grad,
         &tg__op_conv1d_weight_grad},
        {&tg__op_conv2d, &tg__op_conv2d_input_grad,
         &tg__op_conv2d_weight_grad}};
    return ops[nsp - 1][k];
}

static int nsp_of(const tg_op *op)
{
    return op == &tg__op_conv1d || op == &tg__op_conv1d_input_grad ||
                   op == &tg__op_conv1d_weight_grad
               ? 1
               : 2;
}

/* What the forward left in its scratch for the weight gradient (the
 * TG__CONV_* bits of conv_kernel.h), kept on the op as c->saved. */
typedef struct conv_kept {
    unsigned what;
    void *scratch;
} conv_kept;

/* The scratch's size in bytes, rounded up so that a conv_kept fits
 * after it. */
static size_t scratch_bytes(tg_dtype dt, const tg__conv_geom *g,
                            int64_t slots)
{
    size_t b = (size_t)tg__conv_scratch_elems(g, slots) * tg_dtype_size(dt);
    size_t a = _Alignof(conv_kept);
    return (b + a - 1) / a * a;
}

/* Scratch for the im2col matrices of *slots chunks at once (as many as
 * there are threads to run them), from the tape's arena; with room for
 * a conv_kept after it if `note` (one allocation, so one way to fail). */
static void *col_scratch(tg_tape *t, tg_dtype dt, const tg__conv_geom *g,
                         int64_t *slots, bool note)
{
    *slots = tg__conv_slots(g, tg_num_threads());
    return tg_tape_alloc(t, scratch_bytes(dt, g, *slots) +
                                (note ? sizeof(conv_kept) : 0));
}

/* An output of the given 4-d shape, in the rank of nsp. */
static tg_tensor *empty4(tg_tape *t, tg_dtype dt, int nsp, int64_t a,
                         int64_t b, int64_t h, int64_t w)
{
    int64_t s[4] = {a, b, h, w}, s3[3] = {a, b, w};
    return nsp == 2 ? tg_empty(t, dt, 4, s) : tg_empty(t, dt, 3, s3);
}

/* Runs kind k on (a, b) into out; col is scratch for `slots` chunks.
 * Returns what the call left in col for a weight gradient. */
static unsigned run(enum tg__conv_kind k, tg_dtype dt, const tg__conv_geom *g,
                    const tg_tensor *a, const tg_tensor *b,
                    const tg_tensor *bias, tg_tensor *out, void *col,
                    int64_t slots)
{
    if (k == TG__CONV_FWD)
        return tg__conv_forward(dt, g, a->data, b->data,
                                bias != NULL ? bias->data : NULL, out->data,
                                col, slots);
    if (k == TG__CONV_INPUT_GRAD)
        return tg__conv_input_grad(dt, g, a->data, b->data, out->data, col,
                                   slots);
    tg__conv_weight_grad(dt, g, a->data, b->data, out->data, NULL, col, slots,
                         0);
    return 0;
}

/* Makes the result of kind k for geometry g. */
static tg_tensor *result_of(tg_tape *t, tg_dtype dt, int nsp,
                            enum tg__conv_kind k, const tg__conv_geom *g)
{
    return k == TG__CONV_FWD ? empty4(t, dt, nsp, g->n, g->o, g->oh, g->ow)
           : k == TG__CONV_INPUT_GRAD ? empty4(t, dt, nsp, g->n, g->c, g->h, g->w)
                             : empty4(t, dt, nsp, g->o, g->c / g->g, g->kh,
                                      g->kw);
}

static tg_tensor *forward_kind(tg_op_ctx *c, enum tg__conv_kind k)
{
    int nsp = nsp_of(c->op);
    int nin = k == TG__CONV_FWD ? 3 : 2;
    if (c->n != 2 && !(k == TG__CONV_FWD && c->n == 3)) {
        tg_set_error(TG_EINVAL, "takes 2 inputs%s, got %d",
                     nin == 3 ? " or 3 (with a bias)" : "", c->n);
        return NULL;
    }
    tg__conv_geom g;
    if (tg__conv_geom_of(nsp, k, c->params, c->in, &g) != TG_OK)
        return NULL;
    const tg_tensor *bias = c->n == 3 ? c->in[2] : NULL;
    if (bias != NULL && (bias->ndim != 1 || bias->shape[0] != g.o)) {
        char sb[128], sw[128];
        tg_set_error(TG_ESHAPE, "bias %s must be (%lld,): one value per "
                     "output channel of weight %s",
                     tg_shape_str(bias, sb, sizeof sb), (long long)g.o,
                     tg_shape_str(c->in[1], sw, sizeof sw));
        return NULL;
    }
    tg_dtype dt = c->in[0]->dtype;
    tg_tensor *y = result_of(c->tape, dt, nsp, k, &g);
    int64_t slots = 1;
    void *col = y != NULL ? col_scratch(c->tape, dt, &g, &slots,
                                        k == TG__CONV_FWD)
                          : NULL;
    if (col == NULL)
        return NULL;
    unsigned left = run(k, dt, &g, c->in[0], c->in[1], bias, y, col, slots);
    if (k == TG__CONV_FWD && left != 0) {
        /* x's im2col or padded planes, for the weight gradient */
        conv_kept *kept =
            (conv_kept *)((char *)col + scratch_bytes(dt, &g, slots));
        *kept = (conv_kept){left, col};
        c->saved = kept;
    }
    return y;
}

static tg_tensor *conv_forward(tg_op_ctx *c) { return forward_kind(c, TG__CONV_FWD); }
static tg_tensor *input_grad_forward(tg_op_ctx *c)
{
    return forward_kind(c, TG__CONV_INPUT_GRAD);
}
static tg_tensor *weight_grad_forward(tg_op_ctx *c)
{
    return forward_kind(c, TG__CONV_WEIGHT_GRAD);
}

/*
 * The gradient for input i of kind k, as a (kind, first, second) triple
 * of the same three ops: which kind computes it and from what. G is the
 * gradient arriving at the result. See the table at the top.
 */
typedef struct grad_rule {
    enum tg__conv_kind kind;
    const tg_tensor *a, *b;
} grad_rule;

static grad_rule rule_for(enum tg__conv_kind k, int i, tg_tensor *const *in,
                          const tg_tensor *G)
{
    switch (k) {
    case TG__CONV_FWD: /* in = x, w */
        return i == 0 ? (grad_rule){TG__CONV_INPUT_GRAD, G, in[1]}
                      : (grad_rule){TG__CONV_WEIGHT_GRAD, in[0], G};
    case TG__CONV_INPUT_GRAD: /* in = gy, w */
        return i == 0 ? (grad_rule){TG__CONV_FWD, G, in[1]}
                      : (grad_rule){TG__CONV_WEIGHT_GRAD, G, in[0]};
    default: /* TG__CONV_WEIGHT_GRAD, in = x, gy */
        return i == 0 ? (grad_rule){TG__CONV_INPUT_GRAD, in[1], G}
                      : (grad_rule){TG__CONV_FWD, in[0], G};
    }
}

/*
 * The gradients of kind k. conv's own (k = FWD) take two short cuts, both
 * leaving the bits as they were: the weight gradient reuses what the
 * forward or the input gradient left in a scratch (x's im2col or padded
 * planes; gy turned round), and it sums the bias gradient too where its
 * kernel walks gy anyway, in the same split call (conv_kernel.h).
 */
static int backward_kind(tg_op_ctx *c, const tg_tensor *gy,
                         tg_tensor *const *gx, enum tg__conv_kind k)
{
    int nsp = nsp_of(c->op);
    tg__conv_geom g;
    (void)tg__conv_geom_of(nsp, k, c->params, c->in, &g); /* forward succeeded */
    tg_dtype dt = gy->dtype;
    void *col = NULL;
    int64_t slots = 1;
    unsigned left = 0; /* what the input gradient left in col */
    bool want_gb = k == TG__CONV_FWD && c->n == 3 && gx[2] != NULL;
    void *gb = want_gb && gx[1] != NULL ? gx[2]->data : NULL;
    for (int i = 0; i < 2; i++) {
        if (gx[i] == NULL)
            continue;
        grad_rule r = rule_for(k, i, c->in, gy);
        const conv_kept *kept = c->saved;
        if (k == TG__CONV_FWD && i == 1 && kept != NULL) { /* forward's */
            tg__conv_weight_grad(dt, &g, r.a->data, r.b->data, gx[1]->data,
                                 gb, kept->scratch, 1, kept->what);
            continue;
        }
        if (col == NULL &&
            (col = col_scratch(c->tape, dt, &g, &slots, false)) == NULL)
            return tg_last_status();
        if (k == TG__CONV_FWD && i == 1) /* x and gy, as the loop's i = 0 */
            tg__conv_weight_grad(dt, &g, r.a->data, r.b->data, gx[1]->data,
                                 gb, col, slots, left);
        else
            left = run(r.kind, dt, &g, r.a, r.b, NULL, gx[i], col, slots);
    }
    if (want_gb && gb == NULL)
        tg__conv_bias_grad(dt, &g, gy->data, gx[2]->data);
    return TG_OK;
}

static int conv_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                         tg_tensor *const *gx)
{
    return (void)y, backward_kind(c, gy, gx, TG__CONV_FWD);
}
static int input_grad_backward(tg_op_ctx *c, const tg_tensor *y,
                               const tg_tensor *gy, tg_tensor *const *gx)
{
    return (void)y, backward_kind(c, gy, gx, TG__CONV_INPUT_GRAD);
}
static int weight_grad_backward(tg_op_ctx *c, const tg_tensor *y,
                                const tg_tensor *gy, tg_tensor *const *gx)
{
    return (void)y, backward_kind(c, gy, gx, TG__CONV_WEIGHT_GRAD);
}

/* Applies kind k to (a, b) with the options of p, size set for it. */
static tg_tensor *apply_kind(tg_tape *t, int nsp, enum tg__conv_kind k,
                             const tg__conv_params *p, const tg__conv_geom *g,
                             tg_tensor *a, tg_tensor *b)
{
    tg__conv_params q = *p;
    q.size[0] = k == TG__CONV_INPUT_GRAD ? g->h : g->kh;
    q.size[1] = k == TG__CONV_INPUT_GRAD ? g->w : g->kw;
    if (nsp == 1)
        q.size[0] = q.size[1];
    tg_tensor *in[2] = {a, b};
    return tg_apply(t, op_of(nsp, k), 2, in, &q);
}

/* gy (N, O, ...) summed to (O,): the bias gradient with ops, one op
 * (conv_bias.c). */
static tg_tensor *bias_grad_ops(tg_tape *t, tg_tensor *gy)
{
    return tg_apply(t, &tg__op_conv_bias_grad, 1, &gy, NULL);
}

static int backward_ops_kind(tg_op_ctx *c, tg_tensor *gy, const bool *want,
                             tg_tensor **gx, enum tg__conv_kind k)
{
    int nsp = nsp_of(c->op);
    tg__conv_geom g;
    (void)tg__conv_geom_of(nsp, k, c->params, c->in, &g); /* forward succeeded */
    for (int i = 0; i < 2; i++) {
        if (!want[i])
            continue;
        grad_rule r = rule_for(k, i, c->in, gy);
        gx[i] = apply_kind(c->tape, nsp, r.kind, c->params, &g,
                           (tg_tensor *)r.a, (tg_tensor *)r.b);
        if (gx[i] == NULL)
            return tg_last_status();
    }
    if (c->n == 3 && want[2] && (gx[2] = bias_grad_ops(c->tape, gy)) == NULL)
        return tg_last_status();
    return TG_OK;
}

static int conv_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                             const bool *want, tg_tensor **gx)
{
    return (void)y, backward_ops_kind(c, gy, want, gx, TG__CONV_FWD);
}
static int input_grad_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                   const bool *want, tg_tensor **gx)
{
    return (void)y, backward_ops_kind(c, gy, want, gx, TG__CONV_INPUT_GRAD);
}
static int weight_grad_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                    const bool *want, tg_tensor **gx)
{
    return (void)y, backward_ops_kind(c, gy, want, gx, TG__CONV_WEIGHT_GRAD);
}

/* The six ops: conv (2 inputs, or 3 with a bias) and its two gradient
 * ops, each for 1 and 2 spatial dims. */
const tg_op tg__op_conv1d = {
    .name = "conv1d", .arity = -1, .params_size = sizeof(tg__conv_params),
    .forward = conv_forward, .backward = conv_backward,
    .backward_ops = conv_backward_ops};
const tg_op tg__op_conv2d = {
    .name = "conv2d", .arity = -1, .params_size = sizeof(tg__conv_params),
    .forward = conv_forward, .backward = conv_backward,
    .backward_ops = conv_backward_ops};
const tg_op tg__op_conv1d_input_grad = {
    .name = "conv1d_input_grad", .arity = 2, .params_size = sizeof(tg__conv_params),
    .forward = input_grad_forward, .backward = input_grad_backward,
    .backward_ops = input_grad_backward_ops};
const tg_op tg__op_conv2d_input_grad = {
    .name = "conv2d_input_grad", .arity = 2, .params_size = sizeof(tg__conv_params),
    .forward = input_grad_forward, .backward = input_grad_backward,
    .backward_ops = input_grad_backward_ops};
const tg_op tg__op_conv1d_weight_grad = {
    .name = "conv1d_weight_grad", .arity = 2, .params_size = sizeof(tg__conv_params),
    .forward = weight_grad_forward, .backward = weight_grad_backward,
    .backward_ops = weight_grad_backward_ops};
const tg_op tg__op_conv2d_weight_grad = {
    .name = "conv2d_weight_grad", .arity = 2, .params_size = sizeof(tg__conv_params),
    .forward = weight_grad_forward, .backward = weight_grad_backward,
    .backward_ops = weight_grad_backward_ops};

tg_conv_options tg_conv_defaults(void)
{
    return (tg_conv_options){{1, 1}, {0, 0}, {1, 1}, 1};
}

static tg_tensor *conv_entry(tg_tape *t, int nsp, tg_tensor *x, tg_tensor *w,
                             tg_tensor *bias, const tg_conv_options *opt)
{
    tg_conv_options o = opt != NULL ? *opt : tg_conv_defaults();
    tg__conv_params p = {{o.stride[0], o.stride[1]}, {o.padding[0], o.padding[1]},
                     {o.dilation[0], o.dilation[1]}, o.groups, {0, 0}};
    tg_tensor *in[3] = {x, w, bias};
    return tg_apply(t, op_of(nsp, TG__CONV_FWD), bias != NULL ? 3 : 2, in, &p);
}

tg_tensor *tg_conv2d(tg_tape *t, tg_tensor *x, tg_tensor *w, tg_tensor *bias,
                     const tg_conv_options *opt)
{
    return conv_entry(t, 2, x, w, bias, opt);
}

tg_tensor *tg_conv1d(tg_tape *t, tg_tensor *x, tg_tensor *w, tg_tensor *bias,
                     const tg_conv_options *opt)
{
    return conv_entry(t, 1, x, w, bias, opt);
}

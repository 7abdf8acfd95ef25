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
 * The loops are im2col + the project's gemm (conv_kernel.c); the im2col
 * scratch comes from the tape arena (tg_tape_alloc), reused after a reset.
 */
#include "tapegrad/conv.h"
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "ops/conv_kernel.h"
#include "tensor/tensor_struct.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The options as the ops keep them, per spatial dim; size is x's spatial
 * size for input_grad, the kernel's for weight_grad, unused by conv. */
typedef struct conv_params {
    int64_t stride[2], padding[2], dilation[2], groups;
    int64_t size[2];
} conv_params;

enum conv_kind { CONV, INPUT_GRAD, WEIGHT_GRAD };

/* The op of a kind for 1 or 2 spatial dims. */
static const tg_op *op_of(int nsp, enum conv_kind k)
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

/* "(a,b)" for 2 spatial dims, "a" for 1. */
static const char *dims_str(const int64_t *v, int nsp, char *buf, size_t n)
{
    if (nsp == 1)
        snprintf(buf, n, "%lld", (long long)v[0]);
    else
        snprintf(buf, n, "(%lld,%lld)", (long long)v[0], (long long)v[1]);
    return buf;
}

/* One rule for every entry point: stride, dilation, groups >= 1,
 * padding >= 0, and none above INT32_MAX (so that sizes computed from them
 * cannot overflow). */
static int check_options(int nsp, const conv_params *p)
{
    char b[64], b2[64];
    for (int d = 0; d < nsp; d++) {
        if (p->stride[d] > INT32_MAX || p->dilation[d] > INT32_MAX ||
            p->padding[d] > INT32_MAX || p->groups > INT32_MAX)
            return tg_set_error(TG_EINVAL, "stride %s, padding %s, dilation "
                                "and groups must be at most %d",
                                dims_str(p->stride, nsp, b, sizeof b),
                                dims_str(p->padding, nsp, b2, sizeof b2),
                                INT32_MAX);
        if (p->stride[d] < 1)
            return tg_set_error(TG_EINVAL, "stride %s must be at least 1",
                                dims_str(p->stride, nsp, b, sizeof b));
        if (p->dilation[d] < 1)
            return tg_set_error(TG_EINVAL, "dilation %s must be at least 1",
                                dims_str(p->dilation, nsp, b, sizeof b));
        if (p->padding[d] < 0)
            return tg_set_error(TG_EINVAL, "padding %s must not be negative",
                                dims_str(p->padding, nsp, b, sizeof b));
    }
    if (p->groups < 1)
        return tg_set_error(TG_EINVAL, "groups %lld must be at least 1",
                            (long long)p->groups);
    return TG_OK;
}

/* A rank check naming the tensor and what its dims mean. */
static int check_rank(const char *what, const tg_tensor *a, int nsp,
                      const char *dims)
{
    if (a->ndim == nsp + 2)
        return TG_OK;
    char s[128];
    return tg_set_error(TG_ESHAPE, "%s %s must have %d dims %s", what,
                        tg_shape_str(a, s, sizeof s), nsp + 2, dims);
}

static const char *x_dims(int nsp) { return nsp == 1 ? "(N, C, L)" : "(N, C, H, W)"; }
static const char *w_dims(int nsp)
{
    return nsp == 1 ? "(O, C / groups, kL)" : "(O, C / groups, kH, kW)";
}

/* The geometry of conv(x, w) from x's shape xs and w's ws (4 dims each,
 * H and kH 1 for conv1d), checked: groups divide the channels, w's input
 * channels match, the kernel fits the padded input. x and w name the
 * tensors in messages. */
static int make_geom(int nsp, const conv_params *p, const int64_t *xs,
                     const int64_t *ws, const tg_tensor *x,
                     const tg_tensor *w, tg__conv_geom *g)
{
    char sx[128], sw[128], b1[64], b2[64];
    tg_shape_str(x, sx, sizeof sx);
    tg_shape_str(w, sw, sizeof sw);
    int h = nsp == 2 ? 0 : -1; /* index of H's options, none for conv1d */
    *g = (tg__conv_geom){
        .n = xs[0], .c = xs[1], .h = xs[2], .w = xs[3],
        .o = ws[0], .kh = ws[2], .kw = ws[3],
        .sh = h < 0 ? 1 : p->stride[0], .ph = h < 0 ? 0 : p->padding[0],
        .dh = h < 0 ? 1 : p->dilation[0], .sw = p->stride[nsp - 1],
        .pw = p->padding[nsp - 1], .dw = p->dilation[nsp - 1],
        .g = p->groups};
    if (g->c % g->g != 0)
        return tg_set_error(TG_ESHAPE, "x %s has %lld channels, which "
                            "groups %lld does not divide", sx,
                            (long long)g->c, (long long)g->g);
    if (g->o % g->g != 0)
        return tg_set_error(TG_ESHAPE, "weight %s has %lld output channels, "
                            "which groups %lld does not divide", sw,
                            (long long)g->o, (long long)g->g);
    if (ws[1] * g->g != g->c)
        return tg_set_error(TG_ESHAPE, "weight %s takes %lld input channels "
                            "per group, but x %s has %lld channels in %lld "
                            "group(s)", sw, (long long)ws[1], sx,
                            (long long)g->c, (long long)g->g);
    int64_t eh = g->dh * (g->kh - 1) + 1, ew = g->dw * (g->kw - 1) + 1;
    int64_t hp = g->h + 2 * g->ph, wp = g->w + 2 * g->pw;
    if (eh > hp || ew > wp) {
        int64_t pad[2] = {g->ph, g->pw}, dil[2] = {g->dh, g->dw};
        return tg_set_error(TG_ESHAPE, "x %s with padding %s is %lldx%lld, "
                            "smaller than the %lldx%lld kernel of weight %s "
                            "at dilation %s", sx,
                            dims_str(pad + 2 - nsp, nsp, b1, sizeof b1),
                            (long long)hp, (long long)wp, (long long)eh,
                            (long long)ew, sw,
                            dims_str(dil + 2 - nsp, nsp, b2, sizeof b2));
    }
    g->oh = (hp - eh) / g->sh + 1;
    g->ow = (wp - ew) / g->sw + 1;
    return TG_OK;
}

/* A tensor's shape as 4 dims, with H = 1 inserted for conv1d. */
static void dims4(const tg_tensor *a, int nsp, int64_t *s)
{
    s[0] = a->shape[0];
    s[1] = a->shape[1];
    s[2] = nsp == 2 ? a->shape[2] : 1;
    s[3] = a->shape[nsp + 1];
}

/* gy must be (N, O, OH, OW) for the geometry g. */
static int check_gy(int nsp, const tg__conv_geom *g, const tg_tensor *gy)
{
    int64_t s[4];
    dims4(gy, nsp, s);
    if (s[0] == g->n && s[1] == g->o && s[2] == g->oh && s[3] == g->ow)
        return TG_OK;
    char b[128];
    return tg_set_error(TG_ESHAPE, "gy %s should be (%lld,%lld,%lld,%lld) "
                        "(with H dropped for 1-d)", tg_shape_str(gy, b, sizeof b),
                        (long long)g->n, (long long)g->o, (long long)g->oh,
                        (long long)g->ow);
}

/* The geometry of op kind k on inputs in (x and w for conv, gy and w for
 * input_grad, x and gy for weight_grad), checked. */
static int geom_of(int nsp, enum conv_kind k, const conv_params *p,
                   tg_tensor *const *in, tg__conv_geom *g)
{
    if (check_options(nsp, p) != TG_OK)
        return TG_EINVAL;
    const tg_tensor *x = k == INPUT_GRAD ? NULL : in[0];
    const tg_tensor *w = k == WEIGHT_GRAD ? NULL : in[k == CONV ? 1 : 1];
    const tg_tensor *gy = k == CONV ? NULL : in[k == INPUT_GRAD ? 0 : 1];
    if ((x != NULL && check_rank("x", x, nsp, x_dims(nsp)) != TG_OK) ||
        (w != NULL && check_rank("weight", w, nsp, w_dims(nsp)) != TG_OK) ||
        (gy != NULL && check_rank("gy", gy, nsp, x_dims(nsp)) != TG_OK))
        return TG_ESHAPE;
    int64_t xs[4] = {0}, ws[4] = {0};
    if (x != NULL)
        dims4(x, nsp, xs);
    if (w != NULL)
        dims4(w, nsp, ws);
    if (k == INPUT_GRAD) {       /* x is (N, C, size) with C from w */
        int64_t s[4] = {gy->shape[0], w->shape[1] * p->groups,
                        nsp == 2 ? p->size[0] : 1, p->size[nsp - 1]};
        memcpy(xs, s, sizeof s);
        x = gy;
    } else if (k == WEIGHT_GRAD) { /* w is (O, C / g, size) with O from gy */
        int64_t s[4] = {gy->shape[1], xs[1] / p->groups,
                        nsp == 2 ? p->size[0] : 1, p->size[nsp - 1]};
        memcpy(ws, s, sizeof s);
        w = gy;
    }
    for (int d = 0; d < 4; d++)
        if (xs[d] < 1 || ws[d] < 1)
            return tg_set_error(TG_ESHAPE, "the sizes of x and weight must "
                                "be positive");
    if (make_geom(nsp, p, xs, ws, x, w, g) != TG_OK)
        return TG_ESHAPE;
    return k == CONV ? TG_OK : check_gy(nsp, g, gy);
}

/* Scratch for the im2col matrices of *slots chunks at once (as many as
 * there are threads to run them), from the tape's arena. */
static void *col_scratch(tg_tape *t, tg_dtype dt, const tg__conv_geom *g,
                         int64_t *slots)
{
    *slots = tg__conv_slots(g, tg_num_threads());
    return tg_tape_alloc(t, (size_t)tg__conv_scratch_elems(g, *slots) *
                                tg_dtype_size(dt));
}

/* An output of the given 4-d shape, in the rank of nsp. */
static tg_tensor *empty4(tg_tape *t, tg_dtype dt, int nsp, int64_t a,
                         int64_t b, int64_t h, int64_t w)
{
    int64_t s[4] = {a, b, h, w}, s3[3] = {a, b, w};
    return nsp == 2 ? tg_empty(t, dt, 4, s) : tg_empty(t, dt, 3, s3);
}

/* Runs kind k on (a, b) into out; col is scratch for `slots` chunks. */
static void run(enum conv_kind k, tg_dtype dt, const tg__conv_geom *g,
                const tg_tensor *a, const tg_tensor *b, const tg_tensor *bias,
                tg_tensor *out, void *col, int64_t slots)
{
    if (k == CONV)
        tg__conv_forward(dt, g, a->data, b->data,
                         bias != NULL ? bias->data : NULL, out->data, col,
                         slots);
    else if (k == INPUT_GRAD)
        tg__conv_input_grad(dt, g, a->data, b->data, out->data, col, slots);
    else
        tg__conv_weight_grad(dt, g, a->data, b->data, out->data, col, slots,
                             false);
}

/* Makes the result of kind k for geometry g. */
static tg_tensor *result_of(tg_tape *t, tg_dtype dt, int nsp,
                            enum conv_kind k, const tg__conv_geom *g)
{
    return k == CONV ? empty4(t, dt, nsp, g->n, g->o, g->oh, g->ow)
           : k == INPUT_GRAD ? empty4(t, dt, nsp, g->n, g->c, g->h, g->w)
                             : empty4(t, dt, nsp, g->o, g->c / g->g, g->kh,
                                      g->kw);
}

static tg_tensor *forward_kind(tg_op_ctx *c, enum conv_kind k)
{
    int nsp = nsp_of(c->op);
    int nin = k == CONV ? 3 : 2;
    if (c->n != 2 && !(k == CONV && c->n == 3)) {
        tg_set_error(TG_EINVAL, "takes 2 inputs%s, got %d",
                     nin == 3 ? " or 3 (with a bias)" : "", c->n);
        return NULL;
    }
    tg__conv_geom g;
    if (geom_of(nsp, k, c->params, c->in, &g) != TG_OK)
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
    void *col = y != NULL ? col_scratch(c->tape, dt, &g, &slots) : NULL;
    if (col == NULL)
        return NULL;
    run(k, dt, &g, c->in[0], c->in[1], bias, y, col, slots);
    if (k == CONV && tg__conv_col_kept(dt, &g))
        c->saved = col; /* x's im2col, for the weight gradient */
    return y;
}

static tg_tensor *conv_forward(tg_op_ctx *c) { return forward_kind(c, CONV); }
static tg_tensor *input_grad_forward(tg_op_ctx *c)
{
    return forward_kind(c, INPUT_GRAD);
}
static tg_tensor *weight_grad_forward(tg_op_ctx *c)
{
    return forward_kind(c, WEIGHT_GRAD);
}

/*
 * The gradient for input i of kind k, as a (kind, first, second) triple
 * of the same three ops: which kind computes it and from what. G is the
 * gradient arriving at the result. See the table at the top.
 */
typedef struct grad_rule {
    enum conv_kind kind;
    const tg_tensor *a, *b;
} grad_rule;

static grad_rule rule_for(enum conv_kind k, int i, tg_tensor *const *in,
                          const tg_tensor *G)
{
    switch (k) {
    case CONV: /* in = x, w */
        return i == 0 ? (grad_rule){INPUT_GRAD, G, in[1]}
                      : (grad_rule){WEIGHT_GRAD, in[0], G};
    case INPUT_GRAD: /* in = gy, w */
        return i == 0 ? (grad_rule){CONV, G, in[1]}
                      : (grad_rule){WEIGHT_GRAD, G, in[0]};
    default: /* WEIGHT_GRAD, in = x, gy */
        return i == 0 ? (grad_rule){INPUT_GRAD, in[1], G}
                      : (grad_rule){CONV, in[0], G};
    }
}

static int backward_kind(tg_op_ctx *c, const tg_tensor *gy,
                         tg_tensor *const *gx, enum conv_kind k)
{
    int nsp = nsp_of(c->op);
    tg__conv_geom g;
    (void)geom_of(nsp, k, c->params, c->in, &g); /* forward succeeded */
    tg_dtype dt = gy->dtype;
    void *col = NULL;
    int64_t slots = 1;
    for (int i = 0; i < 2; i++) {
        if (gx[i] == NULL)
            continue;
        grad_rule r = rule_for(k, i, c->in, gy);
        if (k == CONV && i == 1 && c->saved != NULL) { /* forward's im2col */
            tg__conv_weight_grad(dt, &g, r.a->data, r.b->data, gx[1]->data,
                                 c->saved, 1, true);
            continue;
        }
        if (col == NULL &&
            (col = col_scratch(c->tape, dt, &g, &slots)) == NULL)
            return tg_last_status();
        run(r.kind, dt, &g, r.a, r.b, NULL, gx[i], col, slots);
    }
    if (c->n == 3 && gx[2] != NULL)
        tg__conv_bias_grad(dt, &g, gy->data, gx[2]->data);
    return TG_OK;
}

static int conv_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                         tg_tensor *const *gx)
{
    return (void)y, backward_kind(c, gy, gx, CONV);
}
static int input_grad_backward(tg_op_ctx *c, const tg_tensor *y,
                               const tg_tensor *gy, tg_tensor *const *gx)
{
    return (void)y, backward_kind(c, gy, gx, INPUT_GRAD);
}
static int weight_grad_backward(tg_op_ctx *c, const tg_tensor *y,
                                const tg_tensor *gy, tg_tensor *const *gx)
{
    return (void)y, backward_kind(c, gy, gx, WEIGHT_GRAD);
}

/* Applies kind k to (a, b) with the options of p, size set for it. */
static tg_tensor *apply_kind(tg_tape *t, int nsp, enum conv_kind k,
                             const conv_params *p, const tg__conv_geom *g,
                             tg_tensor *a, tg_tensor *b)
{
    conv_params q = *p;
    q.size[0] = k == INPUT_GRAD ? g->h : g->kh;
    q.size[1] = k == INPUT_GRAD ? g->w : g->kw;
    if (nsp == 1)
        q.size[0] = q.size[1];
    tg_tensor *in[2] = {a, b};
    return tg_apply(t, op_of(nsp, k), 2, in, &q);
}

/* gy (N, O, ...) summed to (O,): the bias gradient with ops. */
static tg_tensor *bias_grad_ops(tg_tape *t, tg_tensor *gy)
{
    int64_t s[3] = {gy->shape[0], gy->shape[1], -1};
    s[2] = gy->numel / (s[0] * s[1]);
    tg_tensor *r = tg_reshape(t, gy, 3, s);
    return tg_sum_axis(t, tg_sum_axis(t, r, 2, false), 0, false);
}

static int backward_ops_kind(tg_op_ctx *c, tg_tensor *gy, const bool *want,
                             tg_tensor **gx, enum conv_kind k)
{
    int nsp = nsp_of(c->op);
    tg__conv_geom g;
    (void)geom_of(nsp, k, c->params, c->in, &g); /* forward succeeded */
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
    return (void)y, backward_ops_kind(c, gy, want, gx, CONV);
}
static int input_grad_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                   const bool *want, tg_tensor **gx)
{
    return (void)y, backward_ops_kind(c, gy, want, gx, INPUT_GRAD);
}
static int weight_grad_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                    const bool *want, tg_tensor **gx)
{
    return (void)y, backward_ops_kind(c, gy, want, gx, WEIGHT_GRAD);
}

#define CONV_OP(nm, ar, kind)                                                \
    const tg_op tg__op_##nm = {                                              \
        .name = #nm, .arity = ar, .params_size = sizeof(conv_params),        \
        .forward = kind##_forward, .backward = kind##_backward,              \
        .backward_ops = kind##_backward_ops}

CONV_OP(conv1d, -1, conv);
CONV_OP(conv2d, -1, conv);
CONV_OP(conv1d_input_grad, 2, input_grad);
CONV_OP(conv2d_input_grad, 2, input_grad);
CONV_OP(conv1d_weight_grad, 2, weight_grad);
CONV_OP(conv2d_weight_grad, 2, weight_grad);

tg_conv_options tg_conv_defaults(void)
{
    return (tg_conv_options){{1, 1}, {0, 0}, {1, 1}, 1};
}

static tg_tensor *conv_entry(tg_tape *t, int nsp, tg_tensor *x, tg_tensor *w,
                             tg_tensor *bias, const tg_conv_options *opt)
{
    tg_conv_options o = opt != NULL ? *opt : tg_conv_defaults();
    conv_params p = {{o.stride[0], o.stride[1]}, {o.padding[0], o.padding[1]},
                     {o.dilation[0], o.dilation[1]}, o.groups, {0, 0}};
    tg_tensor *in[3] = {x, w, bias};
    return tg_apply(t, op_of(nsp, CONV), bias != NULL ? 3 : 2, in, &p);
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

/*
 * custom_op.c — a new op from outside the library, through the public API
 * only (tapegrad.h, which includes tapegrad/op.h): "leaky_clip", a clip
 * that leaks.
 *
 *     leaky_clip(x; limit, slope) = x                     if |x| <= limit
 *                                 = limit + slope (x - limit)   if x > limit
 *                                 = -limit + slope (x + limit)  if x < -limit
 *     d/dx                        = 1 if |x| <= limit, else slope
 *
 * slope 0 makes it hardtanh(-limit, limit), slope 1 the identity; between
 * the two it squashes large values without killing their gradient. It has
 * two kinks, at -limit and +limit, where the derivative is taken as 1.
 *
 * The program registers the op, uses it in a small graph, proves its
 * gradient with tg_gradcheck, then registers a second, deliberately wrong
 * version and shows the report that catches it. It exits 0 only if every
 * verdict is the expected one. docs/adding-an-op.md walks through it.
 */
#include <tapegrad.h>

#include <math.h>
#include <stdio.h>

/* ---- The op ------------------------------------------------------------ */

/* The op's parameters: tg_apply copies params_size bytes of this struct
 * onto the tape, so the caller's copy may go away. */
typedef struct leaky_clip_params {
    double limit;   /* > 0: the pass-through band is [-limit, limit] */
    double slope;   /* the slope outside it, finite */
} leaky_clip_params;

/* Which piece of the function an element is on: the saved state. */
enum { BELOW = 0, INSIDE = 1, ABOVE = 2, KINK = -1 };

/* The piece x lies on, comparing in x's dtype (lim is the limit as that
 * dtype holds it). A NaN is "inside": it passes through, as relu's does. */
static signed char piece_of(double x, double lim)
{
    if (x > lim)
        return ABOVE;
    if (x < -lim)
        return BELOW;
    return x == lim || x == -lim ? KINK : INSIDE;
}

/*
 * Forward: check the params, make y on c->tape, and save for backward
 * which piece every element fell on (one byte each, in memory the tape
 * owns). Backward and piece() then read that decision instead of making it
 * again, so the three can never disagree.
 */
static tg_tensor *leaky_clip_forward(tg_op_ctx *c)
{
    const leaky_clip_params *p = c->params;
    if (!(p->limit > 0) || !isfinite(p->limit) || !isfinite(p->slope)) {
        tg_set_error(TG_EINVAL, "tg_leaky_clip: limit %g and slope %g; the "
                     "limit must be positive and both finite", p->limit,
                     p->slope);
        return NULL;
    }
    const tg_tensor *x = c->in[0];
    int64_t n = tg_numel(x);
    tg_tensor *y = tg_empty_like(c->tape, x);
    signed char *side = tg_tape_alloc(c->tape, (size_t)n);
    if (y == NULL || side == NULL)
        return NULL;   /* tg_empty_like or tg_tape_alloc said why */
    if (tg_dtype_of(x) == TG_F32) {
        const float *xs = tg_data_f32(x);
        float *ys = tg_mut_f32(y);
        float lim = (float)p->limit, slope = (float)p->slope;
        for (int64_t i = 0; i < n; i++) {
            side[i] = piece_of(xs[i], lim);
            ys[i] = side[i] == ABOVE   ? lim + slope * (xs[i] - lim)
                    : side[i] == BELOW ? -lim + slope * (xs[i] + lim)
                                       : xs[i];
        }
    } else {
        const double *xs = tg_data_f64(x);
        double *ys = tg_mut_f64(y);
        double lim = p->limit, slope = p->slope;
        for (int64_t i = 0; i < n; i++) {
            side[i] = piece_of(xs[i], lim);
            ys[i] = side[i] == ABOVE   ? lim + slope * (xs[i] - lim)
                    : side[i] == BELOW ? -lim + slope * (xs[i] + lim)
                                       : xs[i];
        }
    }
    c->saved = side;
    return y;
}

/*
 * Backward: the chain rule, one link. gy holds d root/dy; d root/dx[i] is
 * gy[i] times leaky_clip'(x[i]), which is 1 inside the band (and on its
 * edges) and slope outside. Write it into gx[0]: the tape adds it up.
 */
static int leaky_clip_backward(tg_op_ctx *c, const tg_tensor *y,
                               const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    if (gx[0] == NULL) /* x needs no gradient (a constant, or switched off) */
        return TG_OK;
    const leaky_clip_params *p = c->params;
    const signed char *side = c->saved;
    int64_t n = tg_numel(gy);
    if (tg_dtype_of(gy) == TG_F32) {
        const float *g = tg_data_f32(gy);
        float *out = tg_mut_f32(gx[0]), slope = (float)p->slope;
        for (int64_t i = 0; i < n; i++)
            out[i] = side[i] == ABOVE || side[i] == BELOW ? slope * g[i] : g[i];
    } else {
        const double *g = tg_data_f64(gy);
        double *out = tg_mut_f64(gx[0]), slope = p->slope;
        for (int64_t i = 0; i < n; i++)
            out[i] = side[i] == ABOVE || side[i] == BELOW ? slope * g[i] : g[i];
    }
    return TG_OK;
}

/* For gradient checks: which smooth piece output i is on, or TG_ON_KINK. */
static int64_t leaky_clip_piece(const tg_op_ctx *c, const tg_tensor *y,
                                int64_t i)
{
    (void)y;
    const signed char *side = c->saved;
    return side[i] == KINK ? TG_ON_KINK : side[i];
}

static const tg_op leaky_clip_op = {
    .name = "leaky_clip",
    .arity = 1,
    .params_size = sizeof(leaky_clip_params),
    .forward = leaky_clip_forward,
    .backward = leaky_clip_backward,
    .piece = leaky_clip_piece,
};

/* The C entry point, shaped like the built-in ops: tape, input, options. */
static tg_tensor *leaky_clip(tg_tape *t, tg_tensor *x, double limit,
                             double slope)
{
    leaky_clip_params p = {limit, slope};
    return tg_apply(t, &leaky_clip_op, 1, &x, &p);
}

/* ---- The same op with a bug, to see what a gradient check reports ------ */

/* A classic slip: the slope is applied above the band but forgotten
 * below it, so elements under -limit get gy instead of slope * gy. */
static int buggy_backward(tg_op_ctx *c, const tg_tensor *y,
                          const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    if (gx[0] == NULL)
        return TG_OK;
    const leaky_clip_params *p = c->params;
    const signed char *side = c->saved;
    const double *g = tg_data_f64(gy);   /* this version only checks f64 */
    double *out = tg_mut_f64(gx[0]);
    if (g == NULL || out == NULL)
        return tg_set_error(TG_EDTYPE, "tg_leaky_clip_buggy: f64 only");
    for (int64_t i = 0; i < tg_numel(gy); i++)
        out[i] = side[i] == ABOVE ? p->slope * g[i] : g[i];
    return TG_OK;
}

static const tg_op buggy_op = {
    .name = "leaky_clip_buggy",
    .arity = 1,
    .params_size = sizeof(leaky_clip_params),
    .forward = leaky_clip_forward,
    .backward = buggy_backward,
    .piece = leaky_clip_piece,
};

/* ---- Using it ------------------------------------------------------------ */

static void print_values(const char *label, const tg_tensor *v)
{
    printf("%-22s", label);
    for (int64_t i = 0; i < tg_numel(v); i++)
        printf(" %7.3f", tg_data_f32(v)[i]);
    printf("\n");
}

/* loss = sum(leaky_clip(x)^2) on a few points, and d loss / dx. */
static int small_graph(void)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_linspace(t, TG_F32, -3.0, 3.0, 7);
    tg_set_requires_grad(x, true);
    tg_tensor *y = leaky_clip(t, x, 1.0, 0.25);
    tg_tensor *loss = tg_sum(t, tg_mul(t, y, y));
    int rc = tg_backward(t, loss);   /* NULL anywhere above lands here */
    if (rc == TG_OK) {
        printf("loss = sum(leaky_clip(x, limit 1, slope 0.25)^2) = %g\n",
               tg_item(loss));
        print_values("x", x);
        print_values("y = leaky_clip(x)", y);
        print_values("d loss / dx", tg_grad(x));
    } else {
        fprintf(stderr, "custom_op: %s\n", tg_last_error());
    }
    tg_tape_free(t);
    return rc;
}

/* Bad params fail the call, with a message naming the op. */
static int bad_params(void)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_linspace(t, TG_F32, -1.0, 1.0, 3);
    tg_tensor *y = leaky_clip(t, x, -1.0, 0.25);
    printf("\nleaky_clip(x, limit -1, slope 0.25) -> %s: %s\n",
           y == NULL ? "NULL" : "a tensor?!", tg_last_error());
    int ok = y == NULL && tg_last_status() == TG_EINVAL;
    tg_clear_error();
    tg_tape_free(t);
    return ok;
}

/* What tg_gradcheck differentiates: the op given as userdata, applied to
 * the one input with limit 1 and slope 0.25. */
static tg_tensor *apply_op(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    leaky_clip_params p = {1.0, 0.25};
    return tg_apply(t, ud, 1, in, &p);
}

/* Gradcheck op at values v (2 x 3, f64); prints and returns the report. */
static tg_gradcheck_report check(const tg_op *op, const double *v)
{
    tg_tape *t = tg_tape_new();
    int64_t shape[] = {2, 3};
    tg_tensor *x = tg_from_data(t, TG_F64, 2, shape, v);
    tg_gradcheck_report r;
    if (tg_gradcheck(apply_op, (void *)op, 1, &x, NULL, &r) != TG_OK)
        fprintf(stderr, "custom_op: %s\n", tg_last_error());
    printf("\n[%s] %s\n", op->name, r.message);
    tg_tape_free(t);
    return r;
}

int main(void)
{
    /* Registering makes tg_op_find("leaky_clip") work; tg_apply does not
     * need it. */
    if (tg_op_register(&leaky_clip_op) != TG_OK ||
        tg_op_register(&buggy_op) != TG_OK) {
        fprintf(stderr, "custom_op: %s\n", tg_last_error());
        return 1;
    }
    if (small_graph() != TG_OK || !bad_params())
        return 1;

    /* Away from the kinks at -1 and 1: below, inside and above the band. */
    const double away[6] = {-2.5, -0.5, 0.3, 1.7, -1.2, 2.2};
    tg_gradcheck_report good = check(tg_op_find("leaky_clip"), away);

    /* The bug shows at the elements below -1: flat indices 0 and 4. */
    tg_gradcheck_report bad = check(tg_op_find("leaky_clip_buggy"), away);

    /* Exactly on a kink: the element is ambiguous, not failed. */
    const double on_kink[6] = {-2.5, -0.5, 0.3, 1.0, -1.2, 2.2};
    tg_gradcheck_report kink = check(tg_op_find("leaky_clip"), on_kink);

    int ok = good.passed && good.n_ambiguous == 0 && !bad.passed &&
             bad.n_failed == 2 && (bad.worst_index == 0 || bad.worst_index == 4) &&
             kink.passed && kink.n_ambiguous == 1;
    printf("\n%s\n", ok ? "every verdict as expected"
                        : "custom_op: a verdict is not the expected one");
    return ok ? 0 : 1;
}

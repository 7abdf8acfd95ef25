/*
 * test_diff_torch.c — differential tests against PyTorch: hundreds of
 * random cases (random shapes and options within small limits) of the ops
 * added for the CNN and sequence work, each with its values and the
 * gradients of sum_k sum(y_k * r_k) for random r_k, in f32 and f64.
 * fixtures/diff/gen_diff.py wrote the cases (fixtures/diff/<family>.npz,
 * listed in fixtures/diff/manifest.txt); this reads each with tg_npz_load,
 * runs the op and compares. One TAP line per case; a failing case prints
 * the op, the case, every differing element (up to a few per array) and
 * both values.
 *
 * Tolerances, against PyTorch's float64 answer for the very same inputs:
 * f64 within 1e-10 of |want| + max |want| of the array (relative, with the
 * array's largest element as the floor for elements that cancel to ~0);
 * f32 within DIFF_F32_ULPS float epsilons of the same (32: a sum of K
 * rounded terms is off by ~sqrt(K) eps of its largest term, and the
 * largest sums here, conv's, have K ~ 300; diff_second's quietest
 * cases pass at 0.02 of it, its loudest at 0.35).
 *
 * The second-order cases (diff_second: second_manifest.txt, from
 * gen_second.py) use the loss sum_k sum(y_k (r_k + q_k y_k)), formed in
 * float64 for f32 too, and compare, besides y and the gradients from
 * tg_backward, the gradients from tg_vjp with create_graph (the ops'
 * backward_ops), the second derivatives h = d/dx sum_i sum(g_i v_i),
 * and tg_jvp's forward-mode J v along the same v (PyTorch's by the
 * double-VJP trick).
 * Where the exact answer is ill-conditioned in f32 (a sum that cancels
 * by 1000x), PyTorch's own f32 answer is off too: an f32
 * element may then be off by DIFF_PYTORCH_TIMES PyTorch's own f32 error
 * on that array (e_<array>), never less than the tolerance above.
 * DIFF_REPORT=1 in the environment prints each case's worst error in
 * units of its tolerance (how close the op comes to failing).
 */
#include "tg_test.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef DIFF_DIR
#error "DIFF_DIR must name tests/fixtures/diff"
#endif

/* The same file is built twice (tests/meson.build): diff_torch reads
 * manifest.txt (gen_diff.py), diff_second second_manifest.txt
 * (gen_second.py, with second derivatives). */
#ifndef DIFF_MANIFEST
#define DIFF_MANIFEST "manifest.txt"
#define DIFF_NAME "diff_torch"
#endif

#define DIFF_F32_ULPS 32.0
/* An f32 element may also be off by this many times PyTorch's own f32
 * error on the same array (gen_second.py's e_<array>, stored only where
 * that error is above a quarter of the tolerance above). */
#define DIFF_PYTORCH_TIMES 4.0
#define MAX_CASES 2048
#define MAX_IN 12
#define MAX_OUT 16
#define MAX_SHOWN 6

typedef struct diff_case {
    char family[16];
    char op[24];
    int index;
    tg_dtype dt;
} diff_case;

static diff_case cases[MAX_CASES];
static int n_cases;

/* One case being run: its archive, the inputs that need a gradient. */
typedef struct run {
    const diff_case *c;
    tg_tape *t;
    const tg_npz *z;
    int n_in;
    tg_tensor *in[MAX_IN];
    char in_name[MAX_IN][16];
    int bad;                /* differing elements so far */
    double worst;           /* largest error / tolerance seen */
} run;

static tg_tensor *entry(const run *r, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "%d.%s", r->c->index, name);
    return tg_npz_get(r->z, key);
}

/* An input (NULL if the case has none of that name); it needs a gradient
 * when the case has "g_<name>". */
static tg_tensor *in(run *r, const char *name)
{
    tg_tensor *x = entry(r, name);
    if (x == NULL)
        return NULL;
    ck_assert_int_eq(tg_dtype_of(x), r->c->dt);
    char g[32];
    snprintf(g, sizeof g, "g_%s", name);
    if (entry(r, g) != NULL) {
        ck_assert_int_lt(r->n_in, MAX_IN);
        ck_assert_int_eq(tg_set_requires_grad(x, true), TG_OK);
        r->in[r->n_in] = x;
        snprintf(r->in_name[r->n_in], sizeof r->in_name[0], "%s", name);
        r->n_in++;
    }
    return x;
}

/* A constant stored as float64 (indices, running statistics), as a new
 * tensor of the case's dtype on tape t. */
static tg_tensor *cst_on(run *r, tg_tape *t, const char *name)
{
    tg_tensor *s = entry(r, name);
    ck_assert_msg(s != NULL, "case %d lacks %s", r->c->index, name);
    tg_tensor *x = tg_empty(t, r->c->dt, tg_ndim(s), tg_shape(s));
    ck_assert_ptr_nonnull(x);
    for (int64_t i = 0; i < tg_numel(s); i++) {
        if (r->c->dt == TG_F32)
            tg_mut_f32(x)[i] = (float)tg_data_f64(s)[i];
        else
            tg_mut_f64(x)[i] = tg_data_f64(s)[i];
    }
    return x;
}

static tg_tensor *cst(run *r, const char *name)
{
    return cst_on(r, r->t, name);
}

/* A float64 constant of whole numbers as int64 in buf (cap entries). */
static int64_t ints(run *r, const char *name, int64_t *buf, int64_t cap)
{
    tg_tensor *s = entry(r, name);
    ck_assert_msg(s != NULL, "case %d lacks %s", r->c->index, name);
    ck_assert_int_le(tg_numel(s), cap);
    for (int64_t i = 0; i < tg_numel(s); i++)
        buf[i] = (int64_t)tg_data_f64(s)[i];
    return tg_numel(s);
}

static double opt(const run *r, int k)
{
    tg_tensor *o = entry(r, "opt");
    ck_assert_ptr_nonnull(o);
    ck_assert_int_lt(k, tg_numel(o));
    return tg_data_f64(o)[k];
}

static double at(const tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? (double)tg_data_f32(x)[i]
                                    : tg_data_f64(x)[i];
}

/* Compare got (NULL: all zeros) with want; print the elements that
 * differ. */
static void compare(run *r, const char *what, const tg_tensor *got,
                    const tg_tensor *want)
{
    const diff_case *c = r->c;
    if (got != NULL) {
        ck_assert_msg(tg_ndim(got) == tg_ndim(want),
                      "%s case %d: %s has %d dims, PyTorch's %d", c->op,
                      c->index, what, tg_ndim(got), tg_ndim(want));
        for (int d = 0; d < tg_ndim(got); d++)
            ck_assert_msg(tg_shape(got)[d] == tg_shape(want)[d],
                          "%s case %d: %s dim %d is %lld, PyTorch's %lld",
                          c->op, c->index, what, d,
                          (long long)tg_shape(got)[d],
                          (long long)tg_shape(want)[d]);
    }
    double scale = 0.0;
    for (int64_t i = 0; i < tg_numel(want); i++)
        if (isfinite(at(want, i)) && fabs(at(want, i)) > scale)
            scale = fabs(at(want, i));
    double rel = c->dt == TG_F32 ? DIFF_F32_ULPS * FLT_EPSILON : 1e-10;
    /* gen_second.py's e_<array>: PyTorch's own float32 error on this
     * array, where cancellation makes it exceed that tolerance */
    char base[32], key[40];
    snprintf(base, sizeof base, "%.*s", (int)strcspn(what, " "), what);
    snprintf(key, sizeof key, "e_%s", base);
    const tg_tensor *e = entry(r, key);
    double floor = e != NULL ? DIFF_PYTORCH_TIMES * tg_data_f64(e)[0] : 0.0;
    int shown = 0;
    for (int64_t i = 0; i < tg_numel(want); i++) {
        double g = got != NULL ? at(got, i) : 0.0, w = at(want, i);
        double tol = fmax(rel * (fabs(w) + scale), floor);
        bool ok;
        if (isnan(w) || isnan(g))
            ok = isnan(w) && isnan(g);
        else if (isinf(w) || isinf(g))
            ok = g == w;
        else {
            ok = fabs(g - w) <= tol;
            if (tol > 0 && fabs(g - w) / tol > r->worst)
                r->worst = fabs(g - w) / tol;
        }
        if (!ok) {
            r->bad++;
            if (shown++ < MAX_SHOWN)
                fprintf(stderr, "%s case %d (%s, %s.npz): %s[%lld] = %.17g, "
                        "PyTorch %.17g\n", c->op, c->index,
                        c->dt == TG_F32 ? "f32" : "f64", c->family, what,
                        (long long)i, g, w);
        }
    }
}

/* ---- the ops, each from its case's inputs and options ------------------ */

static tg_tensor *check(const run *r, tg_tensor *y)
{
    ck_assert_msg(y != NULL, "%s case %d: %s", r->c->op, r->c->index,
                  tg_last_error());
    return y;
}

static int conv(run *r, tg_tensor **y)
{
    tg_conv_options o = tg_conv_defaults();
    for (int d = 0; d < 2; d++) {
        o.stride[d] = (int64_t)opt(r, d);
        o.padding[d] = (int64_t)opt(r, 2 + d);
        o.dilation[d] = (int64_t)opt(r, 4 + d);
    }
    o.groups = (int64_t)opt(r, 6);
    tg_tensor *x = in(r, "x"), *w = in(r, "w"), *b = in(r, "b");
    y[0] = strcmp(r->c->op, "conv2d") == 0 ? tg_conv2d(r->t, x, w, b, &o)
                                           : tg_conv1d(r->t, x, w, b, &o);
    return 1;
}

static int pool(run *r, tg_tensor **y)
{
    tg_tensor *x = in(r, "x");
    if (strcmp(r->c->op, "adaptive_avg_pool2d") == 0) {
        y[0] = tg_adaptive_avg_pool2d(r->t, x, (int64_t)opt(r, 0),
                                      (int64_t)opt(r, 1));
        return 1;
    }
    tg_pool2d_options o = tg_pool2d_defaults((int64_t)opt(r, 0),
                                             (int64_t)opt(r, 1));
    for (int d = 0; d < 2; d++) {
        o.stride[d] = (int64_t)opt(r, 2 + d);
        o.padding[d] = (int64_t)opt(r, 4 + d);
        o.dilation[d] = (int64_t)opt(r, 6 + d);
    }
    o.count_include_pad = opt(r, 8) != 0;
    if (strcmp(r->c->op, "relu_max_pool2d") == 0) /* family relupool */
        y[0] = tg_relu_max_pool2d(r->t, x, &o);
    else
        y[0] = strcmp(r->c->op, "max_pool2d") == 0
                   ? tg_max_pool2d(r->t, x, &o)
                   : tg_avg_pool2d(r->t, x, &o);
    return 1;
}

/* Some training steps on fixed batches, then the step under test;
 * outputs y and the running statistics after it. */
static int batch_norm(run *r, tg_tensor **y)
{
    int steps = (int)opt(r, 0);
    double mom = opt(r, 1), eps = opt(r, 2);
    tg_tensor *rm = cst(r, "rm"), *rv = cst(r, "rv");
    for (int s = 0; s < steps; s++) {
        char name[16];
        snprintf(name, sizeof name, "xs%d", s);
        check(r, tg_batch_norm(r->t, cst(r, name), rm, rv, NULL, NULL, true,
                               mom, eps));
    }
    tg_tensor *x = in(r, "x"), *w = in(r, "w"), *b = in(r, "b");
    y[0] = tg_batch_norm(r->t, x, rm, rv, w, b, opt(r, 3) != 0, mom, eps);
    y[1] = rm;
    y[2] = rv;
    return 3;
}

static int layer_norm(run *r, tg_tensor **y)
{
    int nd = (int)opt(r, 0);
    int64_t shape[TG_MAX_DIMS];
    for (int d = 0; d < nd; d++)
        shape[d] = (int64_t)opt(r, 3 + d);
    tg_tensor *x = in(r, "x"), *w = in(r, "w"), *b = in(r, "b");
    y[0] = tg_layer_norm(r->t, x, nd, shape, w, b, opt(r, 2));
    return 1;
}

static int dropout(run *r, tg_tensor **y)
{
    tg_rng rng;
    ck_assert_int_eq(tg_rng_seed(&rng, 7, 0), TG_OK);
    y[0] = tg_dropout(r->t, in(r, "x"), opt(r, 0), &rng, opt(r, 1) != 0);
    return 1;
}

static int indexing(run *r, tg_tensor **y)
{
    const char *op = r->c->op;
    int axis = (int)opt(r, 0);
    int64_t idx[64];
    if (strcmp(op, "gather") == 0) {
        tg_tensor *x = in(r, "x");
        y[0] = tg_gather(r->t, x, axis, cst(r, "index"));
    } else if (strcmp(op, "scatter_add") == 0) {
        tg_tensor *dst = in(r, "dst"), *src = in(r, "src");
        y[0] = tg_scatter_add(r->t, dst, axis, cst(r, "index"), src);
    } else if (strcmp(op, "index_select") == 0) {
        int64_t n = ints(r, "index", idx, 64);
        y[0] = tg_index_select(r->t, in(r, "x"), axis, n, idx);
    } else if (strcmp(op, "embedding") == 0) {
        int64_t n = ints(r, "index", idx, 64);
        y[0] = tg_embedding(r->t, in(r, "w"), n, idx, (int64_t)opt(r, 0));
    } else {
        int want = (int)opt(r, 2);
        ck_assert_int_le(want, MAX_OUT);
        tg_tensor *x = in(r, "x");
        int got = strcmp(op, "split") == 0
                      ? tg_split(r->t, x, axis, (int64_t)opt(r, 1), MAX_OUT, y)
                      : tg_chunk(r->t, x, axis, (int)opt(r, 1), y);
        ck_assert_msg(got == want, "%s case %d: %d pieces, PyTorch %d (%s)",
                      op, r->c->index, got, want, tg_last_error());
        return got;
    }
    return 1;
}

static int loss(run *r, tg_tensor **y)
{
    const char *op = r->c->op;
    int64_t lab[64];
    if (strcmp(op, "bce_with_logits_ex") == 0) { /* lossopt's options */
        tg_tensor *x = in(r, "x"), *tt = in(r, "t"), *pw = in(r, "pw");
        tg_bce_with_logits_options o = tg_bce_with_logits_defaults();
        o.reduction = (tg_reduction)opt(r, 2);
        o.weight = opt(r, 3) != 0 ? in(r, "w") : NULL;
        ck_assert(opt(r, 3) == 0 || o.weight != NULL);
        y[0] = tg_bce_with_logits_ex(r->t, x, tt, pw, &o);
        return 1;
    }
    if (strcmp(op, "bce_with_logits") == 0) {
        tg_tensor *x = in(r, "x"), *tt = in(r, "t"), *pw = in(r, "pw");
        y[0] = tg_bce_with_logits(r->t, x, tt, pw);
        return 1;
    }
    ints(r, "labels", lab, 64);
    tg_tensor *x = in(r, "x");
    if (strcmp(op, "nll_loss_ex") == 0 ||
        strcmp(op, "cross_entropy_opt") == 0) { /* lossopt's options */
        tg_cross_entropy_options o = tg_cross_entropy_defaults();
        o.ignore_index = (int64_t)opt(r, 0);
        o.label_smoothing = opt(r, 1);
        o.reduction = (tg_reduction)opt(r, 2);
        o.weight = opt(r, 3) != 0 ? in(r, "w") : NULL;
        ck_assert(opt(r, 3) == 0 || o.weight != NULL);
        y[0] = op[0] == 'n' ? tg_nll_loss_ex(r->t, x, lab, &o)
                            : tg_cross_entropy_ex(r->t, x, lab, &o);
    } else if (strcmp(op, "nll_loss") == 0) {
        y[0] = tg_nll_loss(r->t, x, lab, (int64_t)opt(r, 0));
    } else {
        tg_cross_entropy_options o = tg_cross_entropy_defaults();
        o.ignore_index = (int64_t)opt(r, 0);
        o.label_smoothing = opt(r, 1);
        y[0] = tg_cross_entropy_ex(r->t, x, lab, &o);
    }
    return 1;
}

static int attention(run *r, tg_tensor **y)
{
    const char *op = r->c->op;
    if (strcmp(op, "sdpa") == 0) {
        tg_tensor *q = in(r, "q"), *k = in(r, "k"), *v = in(r, "v");
        y[0] = tg_scaled_dot_product_attention(r->t, q, k, v, opt(r, 0) != 0);
        return 1;
    }
    if (strcmp(op, "mha") == 0) {
        tg_tensor *x = in(r, "x");
        tg_mha m = {.w_in = in(r, "w_in"), .b_in = in(r, "b_in"),
                    .out = {.weight = in(r, "w_out"), .bias = in(r, "b_out")},
                    .heads = (int)opt(r, 0)};
        y[0] = tg_mha_forward(r->t, &m, x, opt(r, 1) != 0);
        return 1;
    }
    tg_tensor *x = in(r, "x"), *h = in(r, "h");
    tg_tensor *w_ih = in(r, "w_ih"), *w_hh = in(r, "w_hh");
    tg_tensor *b_ih = in(r, "b_ih"), *b_hh = in(r, "b_hh");
    if (strcmp(op, "gru_cell") == 0) {
        tg_gru_cell c = {w_ih, w_hh, b_ih, b_hh};
        y[0] = tg_gru_cell_forward(r->t, &c, x, h);
        return 1;
    }
    tg_lstm_cell c = {w_ih, w_hh, b_ih, b_hh};
    y[1] = NULL;
    y[0] = tg_lstm_cell_forward(r->t, &c, x, h, in(r, "c"), &y[1]);
    return 2;
}

static int binary(run *r, tg_tensor **y)
{
    static const struct {
        const char *name;
        tg_tensor *(*fn)(tg_tape *, tg_tensor *, tg_tensor *);
    } ops[] = {{"add", tg_add}, {"sub", tg_sub}, {"mul", tg_mul},
               {"div", tg_div}, {"maximum", tg_maximum},
               {"minimum", tg_minimum}, {"pow_tensor", tg_pow_tensor},
               {"matmul", tg_matmul}};
    tg_tensor *a = in(r, "a"), *b = in(r, "b");
    if (strcmp(r->c->op, "where") == 0) {
        y[0] = tg_where(r->t, cst(r, "cond"), a, b);
        return 1;
    }
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(r->c->op, ops[i].name) == 0) {
            y[0] = ops[i].fn(r->t, a, b);
            return 1;
        }
    ck_abort_msg("unknown binary op %s", r->c->op);
    return 0;
}

/* ---- audit: selection, reductions with ties, comparisons, casts and the
 * loss and pooling edges the session-6 audit found (gen_diff.py's
 * fam_select, fam_compare and fam_edge) ---- */

/* A slice bound from its float64 opt: +-9.3e18 stands for INT64_MAX and
 * INT64_MIN, which float64 cannot hold exactly. */
static int64_t bound(double v)
{
    return v > 9e18 ? INT64_MAX : v < -9e18 ? INT64_MIN : (int64_t)v;
}

static int audit(run *r, tg_tensor **y)
{
    static const struct {
        const char *name;
        tg_tensor *(*fn)(tg_tape *, tg_tensor *, tg_tensor *);
    } cmp[] = {{"gt", tg_gt}, {"ge", tg_ge}, {"lt", tg_lt}, {"le", tg_le},
               {"eq", tg_eq}, {"ne", tg_ne}};
    const char *op = r->c->op;
    if (strcmp(op, "nll_loss") == 0 || strcmp(op, "cross_entropy_ex") == 0)
        return loss(r, y);
    if (strcmp(op, "max_pool2d") == 0)
        return pool(r, y);
    for (size_t i = 0; i < sizeof cmp / sizeof cmp[0]; i++)
        if (strcmp(op, cmp[i].name) == 0) {
            tg_tensor *a = in(r, "a"), *b = in(r, "b");
            y[0] = cmp[i].fn(r->t, a, b);
            return 1;
        }
    tg_tensor *x = in(r, "x");
    if (strcmp(op, "clamp") == 0) { /* opt: the bounds, maybe +-inf */
        y[0] = tg_clamp(r->t, x, opt(r, 0), opt(r, 1));
        return 1;
    }
    int axis = (int)opt(r, 0);
    bool keep = strcmp(op, "slice") != 0 &&
                strcmp(op, "cast_round_trip") != 0 && strcmp(op, "max") != 0 &&
                strcmp(op, "min") != 0 && opt(r, 1) != 0;
    if (strcmp(op, "slice") == 0)
        y[0] = tg_slice(r->t, x, axis, bound(opt(r, 1)), bound(opt(r, 2)),
                        (int64_t)opt(r, 3));
    else if (strcmp(op, "argmax") == 0)
        y[0] = tg_argmax(r->t, x, axis, keep);
    else if (strcmp(op, "argmin") == 0)
        y[0] = tg_argmin(r->t, x, axis, keep);
    else if (strcmp(op, "max_axis") == 0)
        y[0] = tg_max_axis(r->t, x, axis, keep);
    else if (strcmp(op, "min_axis") == 0)
        y[0] = tg_min_axis(r->t, x, axis, keep);
    else if (strcmp(op, "max") == 0)
        y[0] = tg_max(r->t, x);
    else if (strcmp(op, "min") == 0)
        y[0] = tg_min(r->t, x);
    else if (strcmp(op, "cast_round_trip") == 0)
        y[0] = tg_cast(r->t, tg_cast(r->t, x, r->c->dt == TG_F32 ? TG_F64
                                                                  : TG_F32),
                       r->c->dt);
    else
        ck_abort_msg("unknown audit op %s", op);
    return 1;
}

/* ---- training: a few steps of an optimizer on one of the new layers ---- */

enum { T_OPT, T_LR, T_MOM, T_DAMP, T_WD, T_NEST, T_B1, T_B2, T_EPS, T_CLIP,
       T_CA, T_CB, T_SCHED, T_SA, T_SB, T_SC, T_SD, T_STEPS, T_LAYER };

static tg_optimizer *optimizer(run *r, tg_params *p)
{
    if (opt(r, T_OPT) == 0) {
        tg_sgd_options o = tg_sgd_defaults(opt(r, T_LR));
        o.momentum = opt(r, T_MOM);
        o.dampening = opt(r, T_DAMP);
        o.weight_decay = opt(r, T_WD);
        o.nesterov = opt(r, T_NEST) != 0;
        return tg_sgd_new(r->t, p, &o);
    }
    tg_adam_options o = opt(r, T_OPT) == 1 ? tg_adam_defaults()
                                           : tg_adamw_defaults();
    o.lr = opt(r, T_LR);
    o.beta1 = opt(r, T_B1);
    o.beta2 = opt(r, T_B2);
    o.eps = opt(r, T_EPS);
    o.weight_decay = opt(r, T_WD);
    return opt(r, T_OPT) == 1 ? tg_adam_new(r->t, p, &o)
                              : tg_adamw_new(r->t, p, &o);
}

static tg_lr_schedule *schedule(run *r, tg_optimizer *o)
{
    double a = opt(r, T_SA), b = opt(r, T_SB), c = opt(r, T_SC);
    double d = opt(r, T_SD);
    switch ((int)opt(r, T_SCHED)) {
    case 1: return tg_lr_step_new(r->t, o, (int64_t)a, b);
    case 2: return tg_lr_exponential_new(r->t, o, a);
    case 3: return tg_lr_cosine_new(r->t, o, (int64_t)a, b);
    case 4: return tg_lr_warmup_new(r->t, o, a, b, (int64_t)c);
    case 5:
        return tg_lr_warmup_cosine_new(r->t, o, a, (int64_t)b, (int64_t)c, d);
    default: return NULL;
    }
}

/* The layer's output on step k's inputs, on tape s. */
static tg_tensor *layer_forward(run *r, tg_tape *s, tg_tensor **p, int k)
{
    char n0[16], n1[16];
    snprintf(n0, sizeof n0, "x%d_0", k);
    snprintf(n1, sizeof n1, "x%d_1", k);
    tg_tensor *x = cst_on(r, s, n0);
    const char *op = r->c->op;
    if (strcmp(op, "train_conv2d") == 0) {
        tg_conv_options o = tg_conv_defaults();
        o.stride[0] = o.stride[1] = (int64_t)opt(r, T_LAYER);
        o.padding[0] = o.padding[1] = (int64_t)opt(r, T_LAYER + 1);
        return tg_conv2d(s, x, p[0], p[1], &o);
    }
    if (strcmp(op, "train_layer_norm") == 0) {
        int64_t d = (int64_t)opt(r, T_LAYER);
        return tg_layer_norm(s, x, 1, &d, p[0], p[1], 1e-5);
    }
    if (strcmp(op, "train_gru_cell") == 0) {
        tg_gru_cell c = {p[0], p[1], p[2], p[3]};
        return tg_gru_cell_forward(s, &c, x, cst_on(r, s, n1));
    }
    tg_mha m = {.w_in = p[0], .b_in = p[1],
                .out = {.weight = p[2], .bias = p[3]},
                .heads = (int)opt(r, T_LAYER)};
    return tg_mha_forward(s, &m, x, opt(r, T_LAYER + 1) != 0);
}

/* Outputs: the parameters after the last step, the rate each step used,
 * and the norm clip_grad_norm returned at each step (if it clipped so). */
static int train(run *r, tg_tensor **y)
{
    tg_params *ps = tg_params_new(r->t);
    tg_tensor *p[4] = {NULL};
    int np = 0;
    for (; np < 4; np++) {
        char name[8];
        snprintf(name, sizeof name, "p%d", np);
        if ((p[np] = entry(r, name)) == NULL)
            break;
        ck_assert_int_eq(tg_params_add(ps, p[np]), TG_OK);
    }
    tg_optimizer *o = optimizer(r, ps);
    ck_assert_msg(o != NULL, "%s", tg_last_error());
    tg_lr_schedule *sched = schedule(r, o);
    ck_assert_msg(sched != NULL || opt(r, T_SCHED) == 0, "%s",
                  tg_last_error());
    int steps = (int)opt(r, T_STEPS), clip = (int)opt(r, T_CLIP);
    int64_t n = steps;
    tg_tensor *lrs = tg_empty(r->t, TG_F64, 1, &n);
    tg_tensor *norms = tg_empty(r->t, TG_F64, 1, &n);
    tg_tape *s = tg_tape_new();
    for (int k = 0; k < steps; k++) {
        tg_tensor *out = check(r, layer_forward(r, s, p, k));
        tg_tensor *loss = check(r, tg_mean(s, tg_mul(s, out, out)));
        ck_assert_int_eq(tg_params_zero_grad(ps), TG_OK);
        ck_assert_int_eq(tg_backward(s, loss), TG_OK);
        if (clip == 1)
            ck_assert_int_eq(tg_params_clip_grad_norm(ps, opt(r, T_CA),
                                                      opt(r, T_CB),
                                                      &tg_mut_f64(norms)[k]),
                             TG_OK);
        else if (clip == 2)
            ck_assert_int_eq(tg_params_clip_grad_value(ps, opt(r, T_CA)),
                             TG_OK);
        tg_mut_f64(lrs)[k] = tg_optimizer_lr(o);
        ck_assert_int_eq(tg_optimizer_step(o), TG_OK);
        if (sched != NULL)
            ck_assert_int_eq(tg_lr_schedule_step(sched), TG_OK);
        tg_tape_reset(s);
    }
    tg_tape_free(s);
    for (int i = 0; i < np; i++)
        y[i] = p[i];
    y[np] = lrs;
    if (clip == 1)
        y[np + 1] = norms;
    return np + 1 + (clip == 1);
}

/* gen_second.py's family: the ops of the families above, by name. */
static int second(run *r, tg_tensor **y)
{
    static const struct {
        const char *prefix;
        int (*fn)(run *, tg_tensor **);
    } by_name[] = {
        {"conv", conv},           {"max_pool2d", pool}, {"relu_max", pool},
        {"avg_pool2d", pool},     {"adaptive", pool},   {"gather", indexing},
        {"scatter_add", indexing}, {"index_select", indexing},
        {"embedding", indexing},  {"split", indexing},  {"chunk", indexing},
        {"nll_loss", loss},       {"cross_entropy", loss},
        {"bce_with", loss},       {"slice", audit},     {"clamp", audit},
        {"where", binary},
    };
    for (size_t i = 0; i < sizeof by_name / sizeof by_name[0]; i++)
        if (strncmp(r->c->op, by_name[i].prefix,
                    strlen(by_name[i].prefix)) == 0)
            return by_name[i].fn(r, y);
    ck_abort_msg("no runner for second-order op %s", r->c->op);
    return 0;
}

static const struct {
    const char *family;
    int (*fn)(run *, tg_tensor **);
} families[] = {
    {"conv", conv},         {"pool", pool},   {"index", indexing},
    {"loss", loss},         {"attn", attention}, {"binary", binary},
    {"train", train},       {"select", audit},   {"compare", audit},
    {"edge", audit},        {"relupool", pool},   {"second", second},
    {"lossopt", loss},
};

static int dispatch(run *r, tg_tensor **y)
{
    const char *op = r->c->op;
    if (strcmp(op, "batch_norm") == 0)
        return batch_norm(r, y);
    if (strcmp(op, "layer_norm") == 0)
        return layer_norm(r, y);
    if (strcmp(op, "dropout") == 0)
        return dropout(r, y);
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strcmp(r->c->family, families[i].family) == 0)
            return families[i].fn(r, y);
    ck_abort_msg("no runner for %s/%s", r->c->family, op);
    return 0;
}

/* x in float64 (a differentiable cast for f32). */
static tg_tensor *wide(const run *r, tg_tensor *x)
{
    return tg_dtype_of(x) == TG_F64 ? x : check(r, tg_cast(r->t, x, TG_F64));
}

/* gen_second.py's loss term sum(y (r + q y)), and its sum(g v), formed
 * in float64 even for an f32 case: r + 2 q y can cancel, and in f32 that
 * rounding, the harness's and not the op's, would swamp the comparison
 * (PyTorch's reference forms it in float64 too). Only the op runs in the
 * case's dtype. */
static tg_tensor *quadratic(const run *r, tg_tensor *y, tg_tensor *w,
                            tg_tensor *q)
{
    tg_tensor *y64 = wide(r, y);
    tg_tensor *u = check(r, tg_add(r->t, wide(r, w),
                                   tg_mul(r->t, wide(r, q), y64)));
    return check(r, tg_sum(r->t, tg_mul(r->t, y64, u)));
}

/* The second order, for the cases that have "v_<input>" (gen_second.py's):
 * the gradients again, now with tg_vjp and create_graph (so through each
 * op's recorded derivative, backward_ops, not its backward kernel), then
 * h = d/d inputs of sum_i sum(g_i * v_i), against PyTorch's h_<input>. */
static void second_order(run *r, tg_tensor *root, int n_out,
                         tg_tensor *const *y)
{
    char name[48];
    if (r->n_in == 0)
        return;
    snprintf(name, sizeof name, "v_%s", r->in_name[0]);
    if (entry(r, name) == NULL)
        return;
    tg_tensor *g[MAX_IN], *h[MAX_IN], *l2 = NULL;
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = true;
    o.unused = TG_UNUSED_ZEROS;
    ck_assert_msg(tg_vjp(r->t, 1, &root, NULL, r->n_in, r->in, g, &o) ==
                      TG_OK,
                  "%s case %d: tg_vjp: %s", r->c->op, r->c->index,
                  tg_last_error());
    for (int i = 0; i < r->n_in; i++) {
        snprintf(name, sizeof name, "g_%s", r->in_name[i]);
        tg_tensor *want = entry(r, name);
        snprintf(name, sizeof name, "g_%s (tg_vjp)", r->in_name[i]);
        compare(r, name, g[i], want);
        snprintf(name, sizeof name, "v_%s", r->in_name[i]);
        tg_tensor *d = check(r, tg_sum(r->t, tg_mul(r->t, wide(r, g[i]),
                                                    wide(r, entry(r, name)))));
        l2 = l2 == NULL ? d : check(r, tg_add(r->t, l2, d));
    }
    o.create_graph = false;
    int st = tg_vjp(r->t, 1, &l2, NULL, r->n_in, r->in, h, &o);
    /* TG_ESTATE: l2 has no history (every g is a constant): h is zero */
    ck_assert_msg(st == TG_OK || st == TG_ESTATE, "%s case %d: second "
                  "tg_vjp: %s", r->c->op, r->c->index, tg_last_error());
    for (int i = 0; i < r->n_in; i++) {
        snprintf(name, sizeof name, "h_%s", r->in_name[i]);
        compare(r, name, st == TG_OK ? h[i] : NULL, entry(r, name));
    }
    /* forward mode along the same directions: j_k = sum_i J_ki v_i */
    tg_tensor *v[MAX_IN], *j[MAX_OUT];
    for (int i = 0; i < r->n_in; i++) {
        snprintf(name, sizeof name, "v_%s", r->in_name[i]);
        v[i] = entry(r, name);
    }
    ck_assert_msg(tg_jvp(r->t, n_out, y, r->n_in, r->in, v, j, NULL) ==
                      TG_OK,
                  "%s case %d: tg_jvp: %s", r->c->op, r->c->index,
                  tg_last_error());
    for (int k = 0; k < n_out; k++) {
        snprintf(name, sizeof name, "j%d", k);
        compare(r, name, j[k], entry(r, name));
    }
}

/* Case _i of the manifest: outputs, then the gradients of the inputs. */
START_TEST(matches_pytorch)
{
    run r = {.c = &cases[_i]};
    char path[512];
    snprintf(path, sizeof path, "%s/%s.npz", DIFF_DIR, r.c->family);
    r.t = tg_tape_new();
    ck_assert_ptr_nonnull(r.t);
    r.z = tg_npz_load(r.t, path);
    ck_assert_msg(r.z != NULL, "%s", tg_last_error());

    tg_tensor *y[MAX_OUT] = {NULL};
    int n_out = dispatch(&r, y);
    tg_tensor *root = NULL;
    for (int k = 0; k < n_out; k++) {
        char name[16];
        check(&r, y[k]);
        snprintf(name, sizeof name, "y%d", k);
        tg_tensor *want = entry(&r, name);
        ck_assert_msg(want != NULL, "%s case %d: %d outputs, PyTorch fewer",
                      r.c->op, r.c->index, n_out);
        compare(&r, name, y[k], want);
        snprintf(name, sizeof name, "r%d", k);
        tg_tensor *w = entry(&r, name);
        snprintf(name, sizeof name, "q%d", k);
        tg_tensor *q = entry(&r, name); /* gen_second.py's: y (r + q y) */
        if (w != NULL && q != NULL) {
            tg_tensor *d = quadratic(&r, y[k], w, q);
            root = root == NULL ? d : check(&r, tg_add(r.t, root, d));
        } else if (w != NULL) {
            tg_tensor *d = check(&r, tg_sum(r.t, tg_mul(r.t, y[k], w)));
            root = root == NULL ? d : check(&r, tg_add(r.t, root, d));
        }
    }
    char name[16];
    snprintf(name, sizeof name, "y%d", n_out);
    ck_assert_msg(entry(&r, name) == NULL, "%s case %d: %d outputs, "
                  "PyTorch more", r.c->op, r.c->index, n_out);
    if (root != NULL) {
        ck_assert_msg(tg_backward(r.t, root) == TG_OK, "%s case %d: %s",
                      r.c->op, r.c->index, tg_last_error());
        for (int i = 0; i < r.n_in; i++) {
            char g[32];
            snprintf(g, sizeof g, "g_%s", r.in_name[i]);
            compare(&r, g, tg_grad(r.in[i]), entry(&r, g));
        }
        second_order(&r, root, n_out, y);
    }
    if (getenv("DIFF_REPORT") != NULL)
        printf("# %-20s %4d %s worst %.3f of tolerance\n", r.c->op,
               r.c->index, r.c->dt == TG_F32 ? "f32" : "f64", r.worst);
    int bad = r.bad;
    tg_tape_free(r.t);
    ck_assert_msg(bad == 0, "%s case %d (%s): %d elements differ from "
                  "PyTorch (listed above)", cases[_i].op, cases[_i].index,
                  cases[_i].dt == TG_F32 ? "f32" : "f64", bad);
}
END_TEST

static int read_manifest(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        diff_case *c = &cases[n_cases];
        char dt[8];
        if (n_cases == MAX_CASES ||
            sscanf(line, "%15s %d %23s %7s", c->family, &c->index, c->op,
                   dt) != 4) {
            fprintf(stderr, "%s: bad line %s", path, line);
            fclose(f);
            return -1;
        }
        c->dt = strcmp(dt, "f32") == 0 ? TG_F32 : TG_F64;
        n_cases++;
    }
    fclose(f);
    return n_cases > 0 ? 0 : -1;
}

int main(void)
{
    if (read_manifest(DIFF_DIR "/" DIFF_MANIFEST) != 0)
        return 1;
    Suite *s = suite_create(DIFF_NAME);
    TCase *tc = tg_test_tcase(DIFF_NAME);
    tcase_add_loop_test(tc, matches_pytorch, 0, n_cases);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}

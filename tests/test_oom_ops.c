/*
 * test_oom_ops.c — whole scenarios under allocation failure: the
 * comparison, selection and conversion ops; pooling, dropout and batch
 * norm; conv1d and conv2d; the index ops and losses by class. Each runs
 * through the sweeps of tests/support/tg_oom.h (each allocation failing in
 * turn, for good and just once, and the tape's memory filled to each level
 * where the scenario's work is on the tape).
 */
#include "tg_oom.h"

/* ---- The comparison, selection and conversion ops, and tensors made
 * from a rule, forward and backward: where's broadcast gradient takes
 * scratch memory in backward. */

static int select_ops(tg_tape *t)
{
    double xv[6] = {-1, 0.2, 2, 0.3, -0.7, 0.1}, bv[3] = {0, 0.5, -1};
    tg_tensor *x = tg_from_data(t, TG_F64, 2, (int64_t[]){2, 3}, xv);
    tg_tensor *b = tg_from_data(t, TG_F64, 1, (int64_t[]){3}, bv);
    if (x == NULL || b == NULL)
        return tg_last_status();
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(b, true);
    tg_tensor *w = tg_where(t, tg_gt(t, x, b), x, b);
    tg_tensor *c = tg_clamp(t, w, -0.5, 0.5);
    tg_tensor *back = tg_cast(t, tg_cast(t, c, TG_F32), TG_F64);
    tg_tensor *y = tg_mul(t, back, tg_detach(t, x));
    y = tg_add(t, y, tg_argmax(t, x, 1, true));
    y = tg_add(t, y, tg_argmin(t, tg_eye(t, TG_F64, 2, 3), 0, false));
    y = tg_mul(t, y, tg_ones(t, TG_F64, 1, (int64_t[]){3}));
    y = tg_add(t, y, tg_arange(t, TG_F64, 0, 3, 1));
    y = tg_add(t, y, tg_full(t, TG_F64, 0, NULL, 0.5));
    y = tg_add(t, y, tg_le_scalar(t, x, 0));
    int rc = tg_backward(t, tg_sum(t, y));
    if (rc != TG_OK)
        return rc;
    const double *gx = tg_data_f64(tg_grad(x)), *gb = tg_data_f64(tg_grad(b));
    /* d/dx: x where x > b and the clamp passes (not 2 > 0.5); d/db: x
     * where x <= b, summed down the column. */
    bool ok = gx[0] == 0 && gx[1] == 0 && gx[2] == 0 &&
              gx[3] == (double)0.3f && gx[4] == 0 && gx[5] == (double)0.1f &&
              gb[0] == -1 && fabs(gb[1] + 0.5) < 1e-7 && gb[2] == 0;
    return ok ? TG_OK : wrong("gradients through where, clamp and cast");
}

START_TEST(select_ops_under_oom)
{
    static const scenario sc = {"comparisons, where, clamp, cast, argmax, "
                                "fills", select_ops, NULL, NULL};
    oom_sweep(&sc, (mode)_i);
}
END_TEST

/* ---- Pooling, dropout and batch norm (tapegrad/pool.h), forward,
 * backward and a recorded gradient: a refused batch_norm leaves its running
 * statistics as they were, a successful one moves them; in training the
 * gradient of x sums to 0 over each channel. */

static int pool_ops(tg_tape *t)
{
    int64_t shape[4] = {2, 2, 4, 4}, ch = 2;
    tg_rng rng;
    tg_rng_seed(&rng, 4, 4);
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F64, 4, shape, 1, 2);
    tg_tensor *rm = tg_zeros(t, TG_F64, 1, &ch), *rv = tg_ones(t, TG_F64, 1, &ch);
    tg_tensor *w = tg_full(t, TG_F64, 1, &ch, 1.5);
    if (x == NULL || rm == NULL || rv == NULL || w == NULL)
        return tg_last_status();
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(w, true);
    tg_tensor *h = tg_batch_norm(t, x, rm, rv, w, NULL, true, 0.1, 1e-5);
    bool moved = tg_value_at(rm, 0) != 0 || tg_value_at(rv, 0) != 1;
    if (h == NULL)
        return moved ? wrong("running statistics moved by a failed call")
                     : tg_last_status();
    if (!moved)
        return wrong("running statistics not updated");
    tg_pool2d_options o = tg_pool2d_defaults(2, 2);
    tg_tensor *y = tg_max_pool2d(t, h, &o);
    y = tg_dropout(t, y, 0.25, &rng, true);
    o.stride[0] = o.stride[1] = 1;
    o.padding[0] = o.padding[1] = 1;
    y = tg_adaptive_avg_pool2d(t, tg_avg_pool2d(t, y, &o), 2, 1);
    y = tg_mul(t, y, y);
    tg_tensor *g;
    tg_vjp_options vo = tg_vjp_defaults();
    vo.create_graph = true;
    tg_tensor *root = tg_sum(t, y), *one = tg_scalar(t, TG_F64, 1);
    if (root == NULL || one == NULL)
        return tg_last_status();
    int rc = tg_vjp(t, 1, &root, &one, 1, &x, &g, &vo);
    if (rc != TG_OK)
        return rc;
    rc = tg_backward(t, tg_sum(t, tg_mul(t, g, g)));
    if (rc != TG_OK)
        return rc;
    for (int c = 0; c < 2; c++) {
        double s = 0;
        for (int n = 0; n < 2; n++)
            for (int e = 0; e < 16; e++)
                s += tg_value_at(g, (n * 2 + c) * 16 + e);
        if (fabs(s) > 1e-9)
            return wrong("batch_norm's gradient sums to 0 per channel");
    }
    return tg_grad(w) != NULL ? TG_OK : wrong("weight has a gradient");
}

START_TEST(pool_ops_under_oom)
{
    static const scenario sc = {"pooling, dropout, batch norm", pool_ops,
                                NULL, NULL};
    oom_sweep(&sc, (mode)_i);
}
END_TEST

/* ---- relu_max_pool2d (pool_relu.c): the 2x2 fast path and a padded,
 * dilated window, forward, backward and a recorded gradient, each checked
 * against tg_max_pool2d(tg_relu(x)) on the same tape, bit for bit. */

/* d sum(pool(x)^2) / dx through the fused op (fused) or the pair, recorded
 * (create_graph) so that its own backward runs too; NULL on failure. */
static tg_tensor *relu_pool_grad(tg_tape *t, tg_tensor *x,
                                 const tg_pool2d_options *o, bool fused)
{
    tg_tensor *y = fused ? tg_relu_max_pool2d(t, x, o)
                         : tg_max_pool2d(t, tg_relu(t, x), o);
    tg_tensor *root = tg_sum(t, tg_mul(t, y, y)), *one = tg_scalar(t, TG_F64, 1);
    if (root == NULL || one == NULL)
        return NULL;
    tg_vjp_options vo = tg_vjp_defaults();
    vo.create_graph = true;
    tg_tensor *g;
    if (tg_vjp(t, 1, &root, &one, 1, &x, &g, &vo) != TG_OK)
        return NULL;
    return tg_backward(t, tg_sum(t, tg_mul(t, g, g))) == TG_OK ? g : NULL;
}

static int relu_pool_ops(tg_tape *t)
{
    int64_t shape[4] = {1, 2, 4, 5};
    tg_rng rng;
    tg_rng_seed(&rng, 7, 7);
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F64, 4, shape, 0, 1);
    if (x == NULL)
        return tg_last_status();
    tg_set_requires_grad(x, true);
    tg_pool2d_options two = tg_pool2d_defaults(2, 2), odd = tg_pool2d_defaults(3, 2);
    odd.stride[0] = 1;
    odd.padding[0] = 1;
    odd.dilation[1] = 2;
    const tg_pool2d_options *opts[2] = {&two, &odd};
    for (int k = 0; k < 2; k++) {
        tg_tensor *gf = relu_pool_grad(t, x, opts[k], true);
        if (gf == NULL)
            return tg_last_status();
        tg_tensor *gp = relu_pool_grad(t, x, opts[k], false);
        if (gp == NULL)
            return tg_last_status();
        for (int64_t i = 0; i < tg_numel(x); i++)
            if (tg_value_at(gf, i) != tg_value_at(gp, i))
                return wrong("relu_max_pool2d's gradient is the pair's");
    }
    return tg_grad(x) != NULL ? TG_OK : wrong("x has a gradient");
}

START_TEST(relu_pool_ops_under_oom)
{
    static const scenario sc = {"relu_max_pool2d, 2x2 and general windows",
                                relu_pool_ops, NULL, NULL};
    oom_sweep(&sc, (mode)_i);
}
END_TEST

/* ---- conv1d and conv2d, forward, backward and a gradient of the
 * gradient: the im2col scratch comes from the tape in each. */

static tg_tensor *conv_fill(tg_tape *t, int nd, const int64_t *shape, double a)
{
    tg_tensor *x = tg_zeros(t, TG_F64, nd, shape);
    for (int64_t i = 0; x != NULL && i < tg_numel(x); i++)
        tg_mut_f64(x)[i] = a * (double)((i * 7) % 5 - 2);
    if (x != NULL)
        tg_set_requires_grad(x, true);
    return x;
}

static int conv_ops(tg_tape *t)
{
    tg_tensor *x = conv_fill(t, 4, (int64_t[]){2, 2, 4, 4}, 0.5);
    tg_tensor *w = conv_fill(t, 4, (int64_t[]){3, 2, 3, 3}, 0.25);
    tg_tensor *b = conv_fill(t, 1, (int64_t[]){3}, 1);
    tg_tensor *x1 = conv_fill(t, 3, (int64_t[]){1, 2, 6}, 0.5);
    tg_tensor *w1 = conv_fill(t, 3, (int64_t[]){2, 1, 2}, 1);
    if (x == NULL || w == NULL || b == NULL || x1 == NULL || w1 == NULL)
        return tg_last_status();
    tg_conv_options o = tg_conv_defaults();
    o.padding[0] = o.padding[1] = 1;
    tg_tensor *y = tg_sum(t, tg_tanh(t, tg_conv2d(t, x, w, b, &o)));
    o = tg_conv_defaults();
    o.groups = 2, o.stride[0] = 2;
    y = tg_add(t, y, tg_sum(t, tg_conv1d(t, x1, w1, NULL, &o)));
    /* d y / d w, recorded, and the gradient of its sum: second order. */
    tg_tensor *g = NULL;
    tg_vjp_options vo = tg_vjp_defaults();
    vo.create_graph = true;
    int rc = tg_vjp(t, 1, &y, NULL, 1, &w, &g, &vo);
    if (rc != TG_OK)
        return rc;
    if ((rc = tg_backward(t, tg_sum(t, tg_mul(t, g, g)))) != TG_OK)
        return rc;
    /* tanh' > 0 and x has nonzero entries, so d/dx is not all zero. */
    const double *gx = tg_data_f64(tg_grad(x));
    for (int64_t i = 0; gx != NULL && i < tg_numel(x); i++)
        if (gx[i] != 0)
            return TG_OK;
    return wrong("conv: the second-order gradient of x is all zero");
}

START_TEST(conv_ops_under_oom)
{
    static const scenario sc = {"conv1d and conv2d, to second order",
                                conv_ops, NULL, NULL};
    oom_sweep(&sc, (mode)_i);
}
END_TEST

/* ---- index.h: gather, scatter_add, index_select, embedding, chunk
 * and the losses that pick by class, forward, backward and the recorded
 * derivative (tg_vjp with create_graph, which runs gather's and
 * scatter_add's backward_ops). */

static int index_ops(tg_tape *t)
{
    double xv[6] = {-1, 0.2, 2, 0.3, -0.7, 0.1}, iv[2] = {0, 1};
    tg_tensor *x = tg_from_data(t, TG_F64, 2, (int64_t[]){2, 3}, xv);
    tg_tensor *ix = tg_from_data(t, TG_F64, 2, (int64_t[]){2, 1}, iv);
    if (x == NULL || ix == NULL)
        return tg_last_status();
    tg_set_requires_grad(x, true);
    tg_tensor *p[3];
    int rc = tg_chunk(t, x, 1, 3, p);
    if (rc < 0)
        return rc;
    tg_tensor *g = tg_gather(t, x, 1, ix);
    tg_tensor *y = tg_sum(t, tg_embedding(t, x, 3, (const int64_t[]){1, 0, 1},
                                          0));
    y = tg_add(t, y, tg_sum(t, tg_index_select(t, x, 1, 2,
                                               (const int64_t[]){2, 2})));
    y = tg_add(t, y, tg_sum(t, tg_scatter_add(t, x, 1, ix, g)));
    y = tg_add(t, y, tg_sum(t, p[2]));
    y = tg_add(t, y, tg_nll_loss(t, x, (const int64_t[]){2, 0}, -100));
    tg_cross_entropy_options o = {.ignore_index = 1, .label_smoothing = 0.1};
    tg_tensor *other = tg_add(t, tg_cross_entropy_ex(t, x, (const int64_t[]){
                                                         1, 0}, &o),
                              tg_bce_with_logits(t, x, tg_detach(t, x), NULL));
    y = tg_add(t, y, tg_mul_scalar(t, other, 0.0));
    tg_vjp_options vo = tg_vjp_defaults();
    vo.create_graph = true;
    tg_tensor *gx;
    if ((rc = tg_vjp(t, 1, &y, NULL, 1, &x, &gx, &vo)) != TG_OK)
        return rc;
    if ((rc = tg_backward(t, tg_sum(t, tg_mul(t, gx, x)))) != TG_OK)
        return rc;
    /* d/dx: 2 on row 1 (embedding picks it twice; row 0 is padding), 2
     * and 1 on column 2 (index_select, chunk), 1 everywhere and 1 more at
     * the gathered (0,0) and (1,1) (scatter_add's dst and src), -1/2 at
     * the labels (0,2) and (1,0). */
    static const double want[6] = {2, 1, 3.5, 2.5, 4, 6};
    const double *d = tg_data_f64(gx);
    for (int i = 0; i < 6; i++)
        if (d[i] != want[i])
            return wrong("gradients through the index ops");
    return TG_OK;
}

START_TEST(index_ops_under_oom)
{
    static const scenario sc = {"gather, scatter_add, index_select, "
                                "embedding, chunk, losses", index_ops, NULL,
                                NULL};
    oom_sweep(&sc, (mode)_i);
}
END_TEST

/* ---- losses s9: the options of the class losses (reduction, class
 * weights, smoothing, ignored rows), forward, backward and the recorded
 * derivative (tg_vjp with create_graph). Logits of 0, labels 1 and 3,
 * class weights c = 1, 2, 3, 4, smoothing 1/2, the mean: d/dx[i][k] =
 * (c[y_i] (1/4 - [k == y_i]) / 2 + (10/4 - c[k]) / 8) / 6; plus
 * sum(nll_loss_ex(x, labels 0 and ignored, none)), -c[0] = -1 at (0,0),
 * plus bce_with_logits_ex's below. */

static int loss_options(tg_tape *t)
{
    static const double c[4] = {1, 2, 3, 4};
    tg_tensor *x = tg_zeros(t, TG_F64, 2, (int64_t[]){2, 4});
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.weight = tg_from_data(t, TG_F64, 1, (int64_t[]){4}, c);
    if (x == NULL || o.weight == NULL)
        return tg_last_status();
    tg_set_requires_grad(x, true);
    o.label_smoothing = 0.5;
    tg_tensor *y = tg_cross_entropy_ex(t, x, (const int64_t[]){1, 3}, &o);
    o.label_smoothing = 0;
    o.reduction = TG_REDUCE_NONE;
    o.ignore_index = 2;
    y = tg_add(t, y, tg_sum(t, tg_nll_loss_ex(t, x, (const int64_t[]){0, 2},
                                               &o)));
    /* + sum(bce_with_logits_ex(x, 0, weight c, none)): x = 0 gives
     * c[k] / 2 at every (i, k) */
    tg_bce_with_logits_options bo = tg_bce_with_logits_defaults();
    bo.weight = o.weight;
    bo.reduction = TG_REDUCE_NONE;
    y = tg_add(t, y, tg_sum(t, tg_bce_with_logits_ex(
                                   t, x, tg_zeros(t, TG_F64, 2,
                                                  (int64_t[]){2, 4}),
                                   NULL, &bo)));
    tg_vjp_options vo = tg_vjp_defaults();
    vo.create_graph = true;
    tg_tensor *gx;
    int rc = tg_vjp(t, 1, &y, NULL, 1, &x, &gx, &vo);
    if (rc != TG_OK)
        return rc;
    if ((rc = tg_backward(t, tg_sum(t, tg_mul(t, gx, gx)))) != TG_OK)
        return rc;
    const double *d = tg_data_f64(gx);
    static const int64_t labels[2] = {1, 3};
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++) {
            double want = (c[labels[i]] * (0.25 - (k == labels[i])) / 2 +
                           (2.5 - c[k]) / 8) / 6 - (i == 0 && k == 0) +
                          c[k] / 2;
            if (fabs(d[i * 4 + k] - want) > 1e-12)
                return wrong("gradients through the loss options");
        }
    return TG_OK;
}

START_TEST(loss_options_under_oom)
{
    static const scenario sc = {"loss options: reduction, weights",
                                loss_options, NULL, NULL};
    oom_sweep(&sc, (mode)_i);
}
END_TEST

/* ---- w7ffn: tg_gelu in f32, recorded, which saves its derivative on the
 * tape in forward (src/ops/gelu.c), then backward through it and a linear
 * layer's bias; the gradient is compared with gy * gelu'(x) in double. */

static int gelu_saved_ops(tg_tape *t)
{
    tg_tensor *x = tg_linspace(t, TG_F32, -3, 3, 40);
    tg_tensor *w = tg_linspace(t, TG_F32, 1, -1, 40);
    if (x == NULL || w == NULL)
        return tg_last_status();
    tg_set_requires_grad(x, true);
    int rc = tg_backward(t, tg_sum(t, tg_mul(t, tg_gelu(t, x), w)));
    if (rc != TG_OK)
        return rc;
    const float *xs = tg_data_f32(x), *ws = tg_data_f32(w);
    const float *gx = tg_data_f32(tg_grad(x));
    for (int i = 0; i < 40; i++) {
        double v = xs[i], cdf = 0.5 * erfc(-v / sqrt(2.0));
        double want = ws[i] * (cdf + v * exp(-0.5 * v * v) * 0.3989422804014327);
        if (fabs(gx[i] - want) > 1e-5)
            return wrong("gelu's gradient from its saved derivative");
    }
    return TG_OK;
}

START_TEST(gelu_saved_under_oom)
{
    static const scenario sc = {"gelu f32 with its saved derivative",
                                gelu_saved_ops, NULL, NULL};
    oom_sweep(&sc, (mode)_i);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("oom_ops");
    TCase *tc;
    tc = tg_test_tcase("select");
    tcase_add_loop_test(tc, select_ops_under_oom, 0, 3);
    tcase_add_loop_test(tc, conv_ops_under_oom, 0, 3);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("pool");
    tcase_add_loop_test(tc, pool_ops_under_oom, 0, 3);
    tcase_add_loop_test(tc, relu_pool_ops_under_oom, 0, 3);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("index");
    tcase_add_loop_test(tc, index_ops_under_oom, 0, 3);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("gelu_saved"); /* w7ffn */
    tcase_add_loop_test(tc, gelu_saved_under_oom, 0, 3);
    tcase_add_loop_test(tc, loss_options_under_oom, 0, 3); /* losses s9 */
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}

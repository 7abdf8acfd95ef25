/*
 * test_bad_input.c — one table of what callers get wrong, across the whole
 * public API, and what each mistake must give back: a status and a message
 * that names the call. The library must never crash, leak or read out of
 * bounds because of what it was given.
 *
 * Each row is its own test (tcase_add_loop_test, one TAP line a row) and
 * runs under the leak-counting allocator, so every row also proves that
 * the failure leaked nothing. After the row, the tape it used must still
 * work (a small backward pass on it), and for a failure the returned status
 * must be the one tg_last_status() reports. A row expecting TG_OK must
 * leave the last error alone. The numbers of the rows and their names are
 * printed as TAP comments before the run.
 */
#include "tg_test.h"
#include "tapegrad/idx.h"
#include "tapegrad/nn.h"
#include "tapegrad/npy.h"
#include "tapegrad/op.h"
#include "tapegrad/train.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Rows that ask for terabytes need malloc to return NULL, as it does
 * without sanitizers; AddressSanitizer would otherwise abort the process
 * on such a request instead of returning NULL.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

/* A status no tapegrad call returns: a row's own check found a problem. */
#define ROW_WRONG 1000
/* A pointer-returning call gave NULL without setting any error. */
#define NULL_WITHOUT_ERROR 1001

/* What every row is given: a tape with a few tensors, and a folder. */
typedef struct fx {
    tg_tape *t;
    tg_tensor *a34;      /* f32 (3,4), requires grad */
    tg_tensor *b5;       /* f32 (5,) */
    tg_tensor *d34;      /* f64 (3,4), requires grad */
    tg_tensor *s;        /* f32 scalar 2.5 */
    char dir[256];       /* an empty temporary folder */
    char path[320];      /* scratch for paths in dir */
} fx;

/* The status a pointer-returning call left: TG_OK for non-NULL. */
static int ptr(const void *p)
{
    if (p != NULL)
        return TG_OK;
    return tg_last_status() != TG_OK ? tg_last_status() : NULL_WITHOUT_ERROR;
}

/* The status a NaN-on-error call left. */
static int num(double v)
{
    if (!isnan(v))
        return TG_OK;
    return tg_last_status() != TG_OK ? tg_last_status() : NULL_WITHOUT_ERROR;
}

/* A row's own check: TG_OK if cond holds, else ROW_WRONG and why. */
static int expect(bool cond, const char *what)
{
    if (cond)
        return TG_OK;
    return tg_set_error(ROW_WRONG, "row check failed: %s", what);
}

static const char *in_dir(fx *f, const char *name)
{
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    return f->path;
}

/* ---- Helpers for rows that take more than one call. */

static int backward_after_reset(fx *f)
{
    tg_tensor *root = tg_sum(f->t, f->a34);
    tg_tape_reset(f->t);
    return tg_backward(f->t, root);
}

static int backward_other_tape(fx *f)
{
    tg_tape *other = tg_tape_new();
    int rc = tg_backward(other, tg_sum(f->t, f->a34));
    tg_tape_free(other);
    return rc;
}

/* Backward twice from one root: allowed, leaf gradients add up. */
static int backward_twice(fx *f)
{
    tg_tensor *root = tg_sum(f->t, tg_mul_scalar(f->t, f->a34, 3.0));
    int rc = tg_backward(f->t, root);
    if (rc == TG_OK)
        rc = tg_backward(f->t, root);
    if (rc != TG_OK)
        return rc;
    return expect(tg_data_f32(tg_grad(f->a34))[5] == 6.0f,
                  "two passes of d sum(3x)/dx accumulate to 6");
}

static int backward_grad_disabled(fx *f)
{
    tg_tape_set_grad_enabled(f->t, false);
    tg_tensor *root = tg_sum(f->t, f->a34);
    tg_tape_set_grad_enabled(f->t, true);
    return tg_backward(f->t, root);
}

/* A tensor that does not require grad has no gradient: NULL, no error. */
static int grad_without_requires_grad(fx *f)
{
    int rc = tg_backward(f->t, tg_sum(f->t, tg_mul(f->t, f->a34, f->s)));
    if (rc != TG_OK)
        return rc;
    return expect(tg_grad(f->s) == NULL && tg_grad(f->b5) == NULL &&
                  tg_grad(f->a34) != NULL && tg_last_status() == TG_OK,
                  "tg_grad of a tensor that does not require grad is NULL, "
                  "with no error");
}

static int grad_of_stale(fx *f)
{
    tg_tensor *x = f->a34;
    tg_tape_reset(f->t);
    return ptr(tg_grad(x));
}

static int relu_of_stale(fx *f)
{
    tg_tensor *x = f->b5;
    tg_tape_reset(f->t);
    return ptr(tg_relu(f->t, x));
}

/*
 * A tensor used after a reset of a tape that had grown past its first
 * block of memory: the reset must not have given that memory back, or
 * merely checking the tensor would read freed memory.
 */
static int relu_of_stale_after_growth(fx *f)
{
    int64_t big = 200000;
    tg_tensor *x = tg_zeros(f->t, TG_F32, 1, &big);
    tg_tensor *y = tg_zeros(f->t, TG_F32, 1, &big);
    if (x == NULL || y == NULL)
        return tg_last_status();
    tg_tape_reset(f->t);
    return ptr(tg_relu(f->t, y));
}

/* tg_zero_grad of a stale tensor must not write into the memory the tape
 * has since given to new tensors. */
static int zero_grad_of_stale(fx *f)
{
    tg_tensor *x = f->a34;
    if (tg_backward(f->t, tg_sum(f->t, x)) != TG_OK)
        return tg_last_status();
    tg_tape_reset(f->t);
    int64_t n = 4096;
    tg_tensor *y = tg_zeros(f->t, TG_F32, 1, &n);
    for (int64_t i = 0; i < n; i++)
        tg_mut_f32(y)[i] = 7.0f;
    tg_zero_grad(x);
    for (int64_t i = 0; i < n; i++)
        if (tg_data_f32(y)[i] != 7.0f)
            return expect(false, "a new tensor was zeroed");
    return tg_last_status();
}

static int detach_of_stale(fx *f)
{
    tg_tensor *x = f->a34;
    tg_tape_reset(f->t);
    return ptr(tg_detach(f->t, x));
}

static int set_name_of_stale(fx *f)
{
    tg_tensor *x = f->a34;
    tg_tape_reset(f->t);
    return tg_set_name(x, "x");
}

/*
 * y = w * x with x on a data tape that is reset (and reused) before the
 * backward pass on the step tape: backward must notice x is gone, even
 * though x does not require grad, rather than read whatever the tape put
 * where x was.
 */
static int backward_input_tape_reset(fx *f)
{
    tg_tape *data = tg_tape_new();
    tg_tensor *x = tg_linspace(data, TG_F32, 1, 2, 12);
    x = tg_reshape(data, x, 2, (int64_t[]){3, 4});
    tg_tensor *root = tg_sum(f->t, tg_mul(f->t, f->a34, x));
    tg_tape_reset(data);
    int64_t n = 4096;
    tg_tensor *junk = tg_empty(data, TG_F32, 1, &n);
    if (junk != NULL)
        memset(tg_mut_f32(junk), 0x7f, (size_t)n * sizeof(float));
    int rc = tg_backward(f->t, root);
    tg_tape_free(data);
    return rc;
}

/*
 * The same, when the reset tape's first new tensor lands exactly where x
 * was: the pointer the entry holds is now a live tensor of another shape,
 * which backward must not take for x.
 */
static int backward_input_replaced(fx *f)
{
    tg_tape *data = tg_tape_new();
    tg_tensor *x = tg_linspace(data, TG_F32, 1, 2, 4);
    tg_tensor *root = tg_sum(f->t, tg_mul(f->t, f->a34, x));
    tg_tape_reset(data);
    tg_tensor *other = tg_linspace(data, TG_F32, 1, 2, 7);
    int rc = other == x ? tg_backward(f->t, root)
                        : expect(false, "the new tensor reuses x's memory");
    tg_tape_free(data);
    return rc;
}

/* Extreme but finite ends: every value finite, the ends exact. */
static int linspace_extreme_ends(fx *f)
{
    tg_tensor *x = tg_linspace(f->t, TG_F64, -DBL_MAX, DBL_MAX, 7);
    if (x == NULL)
        return tg_last_status();
    const double *v = tg_data_f64(x);
    for (int i = 0; i < 7; i++)
        if (!isfinite(v[i]))
            return expect(false, "linspace(-DBL_MAX, DBL_MAX) is finite");
    return expect(v[0] == -DBL_MAX && v[6] == DBL_MAX && v[3] == 0.0,
                  "linspace(-DBL_MAX, DBL_MAX, 7) ends exact, middle 0");
}

/* Anomaly mode: log of a negative number is caught where it happens. */
static int anomaly_log_negative(fx *f)
{
    tg_tape_set_anomaly(f->t, true);
    tg_tensor *y = tg_log(f->t, f->a34);      /* a34 holds -1 .. 1 */
    tg_tape_set_anomaly(f->t, false);
    return ptr(y);
}

/* A name longer than the 63 bytes kept is cut, not overrun. */
static int set_name_long(fx *f)
{
    char name[1000];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    int rc = tg_set_name(f->a34, name);
    if (rc != TG_OK)
        return rc;
    return expect(tg_name(f->a34) != NULL && strlen(tg_name(f->a34)) == 63,
                  "a long name is cut to 63 bytes");
}

static int mut_of_stale(fx *f)
{
    tg_tensor *x = f->a34;
    tg_tape_reset(f->t);
    return ptr(tg_mut_f32(x));
}

static int linspace_one_step(fx *f)
{
    tg_tensor *x = tg_linspace(f->t, TG_F64, 1.5, 7.0, 1);
    if (x == NULL)
        return tg_last_status();
    return expect(tg_numel(x) == 1 && tg_ndim(x) == 1 &&
                  tg_data_f64(x)[0] == 1.5, "linspace(1.5, 7, 1) is [1.5]");
}

static int zeros_scalar_null_shape(fx *f)
{
    tg_tensor *x = tg_zeros(f->t, TG_F64, 0, NULL);
    if (x == NULL)
        return tg_last_status();
    return expect(tg_numel(x) == 1 && tg_item(x) == 0.0,
                  "zeros of shape () is one 0");
}

/* tg_shape_str into small buffers stays inside them and terminates. */
static int shape_str_small_buffers(fx *f)
{
    char buf[16];
    for (size_t n = 1; n < 8; n++) {
        memset(buf, 'x', sizeof buf);
        tg_shape_str(f->a34, buf, n);
        if (strlen(buf) >= n || buf[n] != 'x')
            return expect(false, "tg_shape_str stays within n bytes");
    }
    return expect(tg_shape_str(f->a34, NULL, 4) == NULL &&
                  strcmp(tg_shape_str(f->a34, buf, sizeof buf), "(3,4)") == 0,
                  "tg_shape_str accepts a NULL buffer and writes (3,4)");
}

/* Accessors on NULL answer 0 / NULL and leave the error alone. */
static int accessors_on_null(fx *f)
{
    (void)f;
    tg_tape_free(NULL);
    tg_tape_reset(NULL);
    tg_zero_grad(NULL);
    tg_tape_set_grad_enabled(NULL, false);
    return expect(tg_ndim(NULL) == 0 && tg_shape(NULL) == NULL &&
                  tg_numel(NULL) == 0 && tg_tape_of(NULL) == NULL &&
                  !tg_requires_grad(NULL) && tg_tape_size(NULL) == 0 &&
                  tg_tape_bytes_reserved(NULL) == 0 &&
                  !tg_tape_grad_enabled(NULL) && tg_last_status() == TG_OK,
                  "accessors on NULL give 0 and set no error");
}

/* ---- User ops: missing functions, bad arity, registered twice. */

static tg_tensor *copy_forward(tg_op_ctx *c)
{
    tg_tensor *y = tg_empty_like(c->tape, c->in[0]);
    if (y != NULL)
        memcpy(tg_dtype_of(y) == TG_F32 ? (void *)tg_mut_f32(y)
                                        : (void *)tg_mut_f64(y),
               tg_dtype_of(y) == TG_F32 ? (const void *)tg_data_f32(c->in[0])
                                        : (const void *)tg_data_f64(c->in[0]),
               (size_t)tg_numel(y) * tg_dtype_size(tg_dtype_of(y)));
    return y;
}

static int copy_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                         tg_tensor *const *gx)
{
    (void)c, (void)y;
    if (gx[0] != NULL)
        memcpy(tg_dtype_of(gy) == TG_F32 ? (void *)tg_mut_f32(gx[0])
                                         : (void *)tg_mut_f64(gx[0]),
               tg_dtype_of(gy) == TG_F32 ? (const void *)tg_data_f32(gy)
                                         : (const void *)tg_data_f64(gy),
               (size_t)tg_numel(gy) * tg_dtype_size(tg_dtype_of(gy)));
    return TG_OK;
}

static const tg_op op_no_forward = {.name = "bad_no_forward", .arity = 1,
                                    .backward = copy_backward};
static const tg_op op_no_backward = {.name = "bad_no_backward", .arity = 1,
                                     .forward = copy_forward};
static const tg_op op_no_name = {.arity = 1, .forward = copy_forward,
                                 .backward = copy_backward};
static const tg_op op_empty_name = {.name = "", .arity = 1,
                                    .forward = copy_forward,
                                    .backward = copy_backward};
static const tg_op op_arity_zero = {.name = "bad_arity_zero", .arity = 0,
                                    .forward = copy_forward,
                                    .backward = copy_backward};
static const tg_op op_arity_minus2 = {.name = "bad_arity_m2", .arity = -2,
                                      .forward = copy_forward,
                                      .backward = copy_backward};
static const tg_op op_relu_again = {.name = "relu", .arity = 1,
                                    .forward = copy_forward,
                                    .backward = copy_backward};
static const tg_op op_twice = {.name = "bad_input_twice", .arity = 1,
                               .forward = copy_forward,
                               .backward = copy_backward};
static const tg_op op_twice_other = {.name = "bad_input_twice", .arity = 1,
                                     .forward = copy_forward,
                                     .backward = copy_backward};
static const tg_op op_variadic = {.name = "bad_input_variadic", .arity = -1,
                                  .forward = copy_forward,
                                  .backward = copy_backward};

/* An op whose params cannot be copied: too large for any memory. */
static const tg_op op_huge_params = {.name = "bad_huge_params", .arity = 1,
                                     .params_size = SIZE_MAX,
                                     .forward = copy_forward,
                                     .backward = copy_backward};

/* Registering one op twice: the second is TG_EEXIST, the first still runs. */
static int register_twice(fx *f)
{
    int rc = tg_op_register(&op_twice);
    if (rc != TG_OK)
        return rc;
    rc = tg_op_register(&op_twice_other);
    if (rc == TG_OK)
        return expect(false, "the second registration fails");
    if (tg_op_find("bad_input_twice") != &op_twice ||
        tg_apply(f->t, &op_twice, 1, &f->b5, NULL) == NULL)
        return expect(false, "the first registration stays in force");
    return rc;
}

/* A user op's forward that returns NULL without saying why. */
static tg_tensor *silent_forward(tg_op_ctx *c)
{
    (void)c;
    return NULL;
}

static const tg_op op_silent = {.name = "bad_silent", .arity = 1,
                                .forward = silent_forward,
                                .backward = copy_backward};

/* A user op's forward that hands back its input instead of a new tensor. */
static tg_tensor *identity_forward(tg_op_ctx *c)
{
    return c->in[0];
}

static const tg_op op_identity = {.name = "bad_identity", .arity = 1,
                                  .forward = identity_forward,
                                  .backward = copy_backward};

/* A user op's forward that makes its output on its input's tape. */
static tg_tensor *foreign_forward(tg_op_ctx *c)
{
    return tg_empty_like(tg_tape_of(c->in[0]), c->in[0]);
}

static const tg_op op_foreign = {.name = "bad_foreign", .arity = 1,
                                 .forward = foreign_forward,
                                 .backward = copy_backward};

static int apply_forward_other_tape(fx *f)
{
    tg_tape *other = tg_tape_new();
    int rc = ptr(tg_apply(other, &op_foreign, 1, &f->a34, NULL));
    tg_tape_free(other);
    return rc;
}

/* A user op's backward that fails without saying why. */
static int silent_backward(tg_op_ctx *c, const tg_tensor *y,
                           const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)c, (void)y, (void)gy, (void)gx;
    return TG_EINVAL;
}

static const tg_op op_silent_backward = {.name = "bad_silent_backward",
                                         .arity = 1, .forward = copy_forward,
                                         .backward = silent_backward};

static int backward_through_silent_op(fx *f)
{
    tg_tensor *y = tg_apply(f->t, &op_silent_backward, 1, &f->a34, NULL);
    return tg_backward(f->t, tg_sum(f->t, y));
}

static int apply_no_params(fx *f)
{
    const tg_op *op = tg_op_find("sum_axis");
    if (op == NULL)
        return expect(false, "sum_axis is a built-in op");
    return ptr(tg_apply(f->t, op, 1, &f->a34, NULL));
}

/* ---- Gradient checks. */

static tg_tensor *gc_relu(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_relu(t, in[0]);
}

static tg_tensor *gc_null(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_add(t, in[0], NULL);
}

static int gradcheck_one(fx *f, tg_gradcheck_fn fn, tg_tensor *x,
                         const tg_gradcheck_options *o)
{
    tg_gradcheck_report r;
    (void)f;
    return tg_gradcheck(fn, NULL, 1, &x, o, &r);
}

static int gradcheck_eps(fx *f, double eps)
{
    tg_gradcheck_options o = tg_gradcheck_defaults();
    o.eps = eps;
    return gradcheck_one(f, gc_relu, f->d34, &o);
}

static int gradcheck_nonfinite(fx *f)
{
    tg_mut_f64(f->d34)[7] = NAN;
    return gradcheck_one(f, gc_relu, f->d34, NULL);
}

static int gradcheck_non_leaf(fx *f)
{
    return gradcheck_one(f, gc_relu, tg_relu(f->t, f->d34), NULL);
}

static int gradcheck_null_report(fx *f)
{
    return tg_gradcheck(gc_relu, NULL, 1, &f->d34, NULL, NULL);
}

/* ---- Writing files. */

static int json_one(fx *f, const char *path, const char *name,
                    const tg_tensor *x)
{
    (void)f;
    return tg_json_write(path, 1, (const char *[]){name},
                         (const tg_tensor *[]){x});
}

/* A folder where the file should go: nothing is written, nothing left. */
static int json_onto_folder(fx *f)
{
    char sub[320];
    snprintf(sub, sizeof sub, "%s", in_dir(f, "sub"));
    if (mkdir(sub, 0700) != 0)
        return expect(false, "mkdir of a scratch folder");
    int rc = json_one(f, sub, "x", f->a34);
    if (rmdir(sub) != 0)
        return expect(false, "the folder is left alone and empty");
    return rc;
}

static int json_repeated_name(fx *f)
{
    return tg_json_write(in_dir(f, "a.json"), 2, (const char *[]){"x", "x"},
                         (const tg_tensor *[]){f->a34, f->b5});
}

static int json_stale_tensor(fx *f)
{
    tg_tensor *x = f->b5;
    tg_tape_reset(f->t);
    return json_one(f, in_dir(f, "a.json"), "x", x);
}

static int svg_one(fx *f, const char *path, const tg_plot *plot, int64_t n,
                   const double *x)
{
    (void)f;
    static const double y[3] = {1, 2, 3};
    tg_plot_series s = {.label = "s", .x = x, .y = y, .n = n};
    return tg_svg_write_plot(path, plot, 1, &s);
}

static const double xs3[3] = {0, 1, 2};

/* ---- Networks, losses and optimizers. */

static tg_rng seeded(void)
{
    tg_rng rng;
    tg_rng_seed(&rng, 1, 2);
    return rng;
}

/* f32 ends beyond FLT_MAX are refused (issue 17, class 11); FLT_MAX
 * itself, and a double that rounds down to it, are allowed. */
static int f32_range(fx *f, int which, double a, double b)
{
    tg_rng rng = seeded();
    int64_t n = 4;
    tg_tensor *x = which == 0 ? tg_linspace(f->t, TG_F32, a, b, 5)
                 : which == 1 ? tg_rand_uniform(f->t, &rng, TG_F32, 1, &n, a, b)
                              : tg_rand_normal(f->t, &rng, TG_F32, 1, &n, a, b);
    if (x == NULL)
        return tg_last_status();
    for (int64_t i = 0; i < tg_numel(x); i++)
        if (!isfinite(tg_data_f32(x)[i]))
            return expect(false, "every f32 value is finite");
    return TG_OK;
}


static int mlp_new_widths(fx *f, int n, const int64_t *widths)
{
    tg_rng rng = seeded();
    return ptr(tg_mlp_new(f->t, NULL, &rng, TG_F64, n, widths, tg_relu));
}

/* An MLP whose input size does not match x: the layer names the shapes. */
static int mlp_wrong_input(fx *f)
{
    tg_rng rng = seeded();
    tg_mlp *m = tg_mlp_new(f->t, NULL, &rng, TG_F32, 2, (int64_t[]){5, 2},
                           tg_relu);
    if (m == NULL)
        return tg_last_status();
    return ptr(tg_mlp_forward(f->t, m, f->a34));
}

static int optimizer_on_failed_params(fx *f)
{
    tg_params *p = tg_params_new(NULL);     /* fails: the tape is NULL */
    return ptr(tg_adam_new(f->t, p, NULL));
}

static int cross_entropy_label(fx *f, int64_t bad)
{
    int64_t labels[3] = {0, bad, 1};
    return ptr(tg_cross_entropy(f->t, f->a34, labels));
}

/* conv: x (f32, requiring grad) and w of the given shapes and w's dtype,
 * through tg_conv2d (nsp 2) or tg_conv1d; a refused call records nothing. */
static int conv_call(fx *f, int nsp, int nd, const int64_t *xs,
                     const int64_t *ws, tg_dtype wdt, tg_conv_options o)
{
    tg_tensor *x = tg_zeros(f->t, TG_F32, nd, xs);
    tg_tensor *w = tg_zeros(f->t, wdt, nd, ws);
    tg_set_requires_grad(x, true);
    int64_t before = tg_tape_size(f->t);
    tg_tensor *y = nsp == 2 ? tg_conv2d(f->t, x, w, NULL, &o)
                            : tg_conv1d(f->t, x, w, NULL, &o);
    ck_assert_int_eq(tg_tape_size(f->t), before);
    return ptr(y);
}

static int conv_opts(fx *f, int which)
{
    tg_conv_options o = tg_conv_defaults();
    if (which == 0)
        o.stride[0] = 0;
    else if (which == 1)
        o.dilation[0] = 0;
    else
        o.padding[1] = -1;
    return conv_call(f, 2, 4, (int64_t[]){1, 2, 5, 5}, (int64_t[]){3, 2, 3, 3},
                     TG_F32, o);
}

/* ---- Reading files. */

static int write_bytes(fx *f, const char *name, const void *p, size_t n)
{
    FILE *fp = fopen(in_dir(f, name), "wb");
    if (fp == NULL || fwrite(p, 1, n, fp) != n)
        return expect(false, "writing a scratch file");
    fclose(fp);
    return TG_OK;
}

/* A .npy file whose header claims far more data than there is. */
static int npy_lying_shape(fx *f)
{
    static const char head[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', "
                               "'fortran_order': False, 'shape': "
                               "(1000000000000, 1000), }";
    char file[128 + 16];
    memset(file, ' ', sizeof file);
    memcpy(file, head, sizeof head - 1);
    file[127] = '\n';
    int rc = write_bytes(f, "lie.npy", file, sizeof file);
    if (rc == TG_OK)
        rc = ptr(tg_npy_load(f->t, f->path));
    unlink(in_dir(f, "lie.npy"));
    return rc;
}

static int npy_parse_garbage(fx *f)
{
    static const char junk[] = "not a numpy file at all";
    return ptr(tg_npy_parse(f->t, junk, sizeof junk));
}

static int npz_get_missing(fx *f)
{
    int rc = tg_npz_save(in_dir(f, "m.npz"), 1, (const char *[]){"w"},
                         (const tg_tensor *[]){f->a34});
    const tg_npz *z = rc == TG_OK ? tg_npz_load(f->t, f->path) : NULL;
    rc = z == NULL ? tg_last_status() : ptr(tg_npz_get(z, "nonesuch"));
    unlink(in_dir(f, "m.npz"));
    return rc;
}

static int npz_entry_missing(fx *f)
{
    int rc = tg_npz_save(in_dir(f, "m.npz"), 1, (const char *[]){"w"},
                         (const tg_tensor *[]){f->a34});
    if (rc == TG_OK)
        rc = ptr(tg_npz_load_entry(f->t, f->path, "b"));
    unlink(in_dir(f, "m.npz"));
    return rc;
}

static int idx_truncated(fx *f)
{
    /* Unsigned bytes, 2 dims of 3 x 4, but only 5 values. */
    static const unsigned char b[] = {0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 4,
                                      1, 2, 3, 4, 5};
    return ptr(tg_idx_parse(f->t, b, sizeof b, TG_F32, 1.0));
}

static int idx_huge_dims(fx *f)
{
    /* 0xFFFFFFFF^3 elements declared, none present. */
    static const unsigned char b[] = {0, 0, 8, 3, 255, 255, 255, 255, 255,
                                      255, 255, 255, 255, 255, 255, 255};
    return ptr(tg_idx_parse(f->t, b, sizeof b, TG_F64, 1.0));
}

static int idx_labels_of_floats(fx *f)
{
    static const unsigned char b[] = {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0};
    int64_t n = -7;
    int rc = ptr(tg_idx_parse_labels(f->t, b, sizeof b, &n));
    return n == -7 ? rc : expect(false, "n is untouched on error");
}

/* ---- Random numbers. */

static int rand_unseeded(fx *f)
{
    tg_rng rng = {0};
    return ptr(tg_rand_uniform(f->t, &rng, TG_F32, 1, (int64_t[]){3}, 0, 1));
}

static int rand_empty_range(fx *f)
{
    tg_rng rng = seeded();
    return ptr(tg_rand_uniform(f->t, &rng, TG_F32, 1, (int64_t[]){3}, 1, 1));
}

static int rand_negative_std(fx *f)
{
    tg_rng rng = seeded();
    return ptr(tg_rand_normal(f->t, &rng, TG_F64, 1, (int64_t[]){3}, 0, -1));
}

static int rand_bad_shape(fx *f)
{
    tg_rng rng = seeded();
    return ptr(tg_rand_normal(f->t, &rng, TG_F64, 2, (int64_t[]){3, 0}, 0, 1));
}

static int rng_bounded_zero(fx *f)
{
    (void)f;
    tg_rng rng = seeded();
    uint64_t v = tg_rng_bounded(&rng, 0);
    return v == 0 ? tg_last_status() : expect(false, "bound 0 gives 0");
}

static int rng_shuffle_negative(fx *f)
{
    (void)f;
    tg_rng rng = seeded();
    int64_t idx[2] = {0, 1};
    return tg_rng_shuffle(&rng, -1, idx);
}

static int rng_uniform_null(fx *f)
{
    (void)f;
    return num(tg_rng_uniform(NULL));
}

/* ---- seq: tapegrad/sequence.h. Each helper also checks that the failed
 * call changed nothing: a34 keeps its values and gets no gradient, and a
 * cell's weights keep theirs. */

static int seq_unchanged(fx *f, int status)
{
    bool same = tg_grad(f->a34) == NULL && tg_value_at(f->a34, 0) == -1.0 &&
                tg_value_at(f->a34, 11) == 1.0;
    return same ? status : expect(false, "the failed call changed a34");
}

static tg_tensor *zeros2(fx *f, int64_t r, int64_t c)
{
    return tg_zeros(f->t, TG_F32, 2, (int64_t[]){r, c});
}

static int sdpa_shapes(fx *f, int64_t lk, int64_t dk, int64_t lv, bool causal)
{
    tg_tensor *k = zeros2(f, lk, dk), *v = zeros2(f, lv, 2);
    return seq_unchanged(f, ptr(tg_scaled_dot_product_attention(f->t, f->a34,
                                                                k, v, causal)));
}

static int gru_hidden_mismatch(fx *f)
{
    tg_rng rng = seeded();
    tg_gru_cell c;
    if (tg_gru_cell_init(&c, f->t, NULL, &rng, TG_F32, 4, 4) != TG_OK)
        return tg_last_status();
    double w0 = tg_value_at(c.w_hh, 0);
    int rc = ptr(tg_gru_cell_forward(f->t, &c, f->a34, zeros2(f, 3, 5)));
    if (tg_value_at(c.w_hh, 0) != w0 || tg_grad(c.w_hh) != NULL)
        return expect(false, "the failed step changed the cell");
    return seq_unchanged(f, rc);
}

static int lstm_state_mismatch(fx *f)
{
    tg_rng rng = seeded();
    tg_lstm_cell c;
    if (tg_lstm_cell_init(&c, f->t, NULL, &rng, TG_F32, 4, 4) != TG_OK)
        return tg_last_status();
    tg_tensor *cs = NULL;
    int rc = ptr(tg_lstm_cell_forward(f->t, &c, f->a34, zeros2(f, 3, 4),
                                      zeros2(f, 3, 6), &cs));
    if (cs != NULL || tg_grad(c.w_ih) != NULL)
        return expect(false, "the failed step set a cell state");
    return seq_unchanged(f, rc);
}

static int gru_input_mismatch(fx *f)
{
    tg_rng rng = seeded();
    tg_gru_cell c;
    if (tg_gru_cell_init(&c, f->t, NULL, &rng, TG_F32, 5, 4) != TG_OK)
        return tg_last_status();
    return seq_unchanged(f, ptr(tg_gru_cell_forward(f->t, &c, f->a34,
                                                    zeros2(f, 3, 4))));
}

static int mha_wrong_width(fx *f)
{
    tg_rng rng = seeded();
    tg_mha m;
    if (tg_mha_init(&m, f->t, NULL, &rng, TG_F32, 6, 2) != TG_OK)
        return tg_last_status();
    return seq_unchanged(f, ptr(tg_mha_forward(f->t, &m, f->a34, true)));
}

/* ---- Pooling, dropout, batch norm (tapegrad/pool.h). */

static const int64_t s134[] = {1, 3, 4}, s14[] = {1, 4}, n4[] = {4};

static int pool_with(fx *f, int kind, tg_pool2d_options o)
{
    tg_tensor *x = tg_ones(f->t, TG_F32, 3, s134);
    return ptr(kind == 0 ? tg_max_pool2d(f->t, x, &o) : tg_avg_pool2d(f->t, x, &o));
}

static int pool_kernel(fx *f, int kind, int64_t kh, int64_t kw, int64_t ph,
                       int64_t dh)
{
    tg_pool2d_options o = tg_pool2d_defaults(kh, kw);
    o.padding[0] = ph;
    o.dilation[0] = dh;
    return pool_with(f, kind, o);
}

/* A refused dropout leaves the caller's generator where it was. */
static int dropout_refused(fx *f, double p, bool seed)
{
    tg_rng rng = {0};
    if (seed)
        rng = seeded();
    tg_rng before = rng;
    int rc = ptr(tg_dropout(f->t, f->a34, p, &rng, true));
    if (rng.state != before.state || rng.inc != before.inc)
        return expect(false, "the generator is untouched");
    return rc;
}

/* A refused batch_norm leaves the running statistics as they were. */
static int bn_refused(fx *f, tg_tensor *x, tg_tensor *w, int64_t ch,
                      tg_dtype dt, bool training, double eps)
{
    tg_tensor *rm = tg_full(f->t, dt, 1, &ch, 0.5);
    tg_tensor *rv = tg_full(f->t, dt, 1, &ch, 2.0);
    int rc = ptr(tg_batch_norm(f->t, x, rm, rv, w, NULL, training, 0.1, eps));
    for (int64_t k = 0; k < ch; k++)
        if (tg_value_at(rm, k) != 0.5 || tg_value_at(rv, k) != 2.0)
            return expect(false, "the running statistics are untouched");
    return rc;
}

/* ---- The table. */

/* ---- Gradients as tensors: tg_vjp, tg_jvp, tg_hvp, tg_gradgradcheck. */

/* twice(x) = 2x, f32, with a fast backward and no backward_ops: first
 * order works through it, create_graph does not. */
static void twice_into(tg_tensor *out, const tg_tensor *x)
{
    for (int64_t i = 0; i < tg_numel(x); i++) {
        if (tg_dtype_of(x) == TG_F32)
            tg_mut_f32(out)[i] = 2 * tg_data_f32(x)[i];
        else
            tg_mut_f64(out)[i] = 2 * tg_data_f64(x)[i];
    }
}

static tg_tensor *twice_forward(tg_op_ctx *c)
{
    tg_tensor *y = tg_empty_like(c->tape, c->in[0]);
    if (y != NULL)
        twice_into(y, c->in[0]);
    return y;
}

static int twice_backward(tg_op_ctx *c, const tg_tensor *y,
                          const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)c, (void)y;
    if (gx[0] != NULL)
        twice_into(gx[0], gy);
    return TG_OK;
}

static const tg_op twice_op = {
    .name = "twice", .arity = 1,
    .forward = twice_forward, .backward = twice_backward,
};

/*
 * What every row of these calls starts from: a34's gradient holds 2
 * everywhere (from a plain backward), y = sum(tanh(a34)) and the result
 * slots hold a sentinel. After the call (run): a failure must have
 * written NULL into every slot, and a34's gradient must still be 2.
 */
typedef struct grad_call {
    fx *f;
    tg_tensor *y;            /* sum(tanh(a34)), one element */
    tg_tensor *yv;           /* tanh(a34), (3, 4) */
    tg_tensor *res[10];      /* the results */
    int n_res;               /* how many of them the call writes */
} grad_call;

static void grad_call_begin(grad_call *g, fx *f, int n_res)
{
    g->f = f;
    tg_backward(f->t, tg_sum(f->t, tg_mul_scalar(f->t, f->a34, 2.0)));
    g->yv = tg_tanh(f->t, f->a34);
    g->y = tg_sum(f->t, g->yv);
    g->n_res = n_res;
    for (int i = 0; i < 10; i++)
        g->res[i] = f->s;
    tg_clear_error();
}

/* The call's status, unless it changed what it must not. */
static int grad_call_end(grad_call *g, int rc)
{
    const float *ga = tg_data_f32(tg_grad(g->f->a34));
    bool same = ga != NULL;
    for (int i = 0; same && i < 12; i++)
        same = ga[i] == 2.0f;
    bool cleared = true;
    for (int i = 0; rc != TG_OK && i < g->n_res; i++)
        cleared = cleared && g->res[i] == NULL;
    if (rc != TG_OK && (!same || !cleared)) {
        char why[200];
        snprintf(why, sizeof why, "after \"%s\": %s", tg_last_error(),
                 !same ? "the gradient of a34 changed"
                       : "a result slot was not set to NULL");
        return expect(false, why);
    }
    if (!same)
        return expect(false, "the gradient of a34 changed");
    return rc;
}

static tg_vjp_options vjp_opts(bool create_graph, tg_unused unused)
{
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = create_graph;
    o.unused = unused;
    return o;
}

/* tg_vjp of out (NULL: y) with grad_output go on tape t (NULL: f->t),
 * for n_in inputs in[] (NULL: a34). */
static int vjp_row(fx *f, tg_tape *t, int n_out, tg_tensor *out,
                   tg_tensor *go, int n_in, tg_tensor *const *in,
                   tg_vjp_options o)
{
    grad_call g;
    grad_call_begin(&g, f, n_in > 0 ? n_in : 0);
    tg_tensor *outs[1] = {out != NULL ? out : g.y}, *a[1] = {f->a34};
    tg_tensor *gos[1] = {go};
    return grad_call_end(&g, tg_vjp(t != NULL ? t : f->t, n_out, outs,
                                    go != NULL ? gos : NULL, n_in,
                                    in != NULL ? in : a, g.res, &o));
}

static int vjp_null_arrays(fx *f, int which)
{
    grad_call g;
    grad_call_begin(&g, f, which == 3 ? 0 : 1);
    tg_tensor *a[1] = {f->a34}, *outs[1] = {g.y};
    return grad_call_end(&g, tg_vjp(which == 0 ? NULL : f->t, 1,
                                    which == 1 ? NULL : outs, NULL, 1,
                                    which == 2 ? NULL : a,
                                    which == 3 ? NULL : g.res, NULL));
}

static int vjp_grad_disabled(fx *f)
{
    grad_call g;
    grad_call_begin(&g, f, 1);
    tg_tensor *a[1] = {f->a34};
    tg_vjp_options o = vjp_opts(true, TG_UNUSED_ERROR);
    tg_tape_set_grad_enabled(f->t, false);
    int rc = tg_vjp(f->t, 1, &g.y, NULL, 1, a, g.res, &o);
    tg_tape_set_grad_enabled(f->t, true);
    return grad_call_end(&g, rc);
}

/* y depends on a34, not on d34: what d34 gets under each choice. */
static int vjp_unused(fx *f, tg_unused unused)
{
    grad_call g;
    grad_call_begin(&g, f, 2);
    tg_tensor *in[2] = {f->a34, f->d34};
    tg_vjp_options o = vjp_opts(false, unused);
    int rc = grad_call_end(&g, tg_vjp(f->t, 1, &g.y, NULL, 2, in, g.res, &o));
    if (rc != TG_OK)
        return rc;
    double d = 1 - tanh(tg_value_at(f->a34, 5)) * tanh(tg_value_at(f->a34, 5));
    if (!(fabs(tg_value_at(g.res[0], 5) - d) < 1e-6))
        return expect(false, "the gradient of the used input is 1 - tanh^2");
    if (unused == TG_UNUSED_NULL)
        return expect(g.res[1] == NULL, "the unused input gets NULL");
    return expect(g.res[1] != NULL && tg_dtype_of(g.res[1]) == TG_F64 &&
                      tg_numel(g.res[1]) == 12 &&
                      tg_value_at(g.res[1], 11) == 0.0,
                  "the unused input gets f64 zeros of its shape");
}

/* Through twice: first order works, create_graph names the op. */
static int vjp_through_user_op(fx *f, bool create_graph)
{
    grad_call g;
    grad_call_begin(&g, f, 1);
    tg_tensor *a[1] = {f->a34};
    tg_tensor *y = tg_sum(f->t, tg_exp(f->t, tg_apply(f->t, &twice_op, 1, a,
                                                       NULL)));
    tg_vjp_options o = vjp_opts(create_graph, TG_UNUSED_ERROR);
    int rc = grad_call_end(&g, tg_vjp(f->t, 1, &y, NULL, 1, a, g.res, &o));
    if (rc != TG_OK)
        return rc;
    double want = 2 * exp(2 * tg_value_at(f->a34, 7));
    return expect(fabs(tg_value_at(g.res[0], 7) - want) < 1e-5 * want,
                  "d sum(exp(twice(x))) / dx = 2 exp(2x)");
}

static int vjp_output_other_tape(fx *f)
{
    tg_tape *other = tg_tape_new();
    tg_tensor *z = tg_scalar(other, TG_F32, 1.0);
    tg_set_requires_grad(z, true);
    int rc = vjp_row(f, NULL, 1, tg_mul_scalar(other, z, 3.0), NULL, 1, NULL,
                     tg_vjp_defaults());
    tg_tape_free(other);
    return rc;
}

static int vjp_stale_output(fx *f)
{
    tg_tensor *y = tg_sum(f->t, tg_tanh(f->t, f->a34)), *g = f->s;
    tg_tape_reset(f->t);
    tg_tensor *x = tg_scalar(f->t, TG_F32, 1);
    tg_set_requires_grad(x, true);
    int rc = tg_vjp(f->t, 1, &y, NULL, 1, &x, &g, NULL);
    return rc != TG_OK && g != NULL ? expect(false, "grads[0] not NULL") : rc;
}

/* tg_jvp of yv (or y) along tangent v for a34 (or in[]). */
static int jvp_row(fx *f, tg_tape *t, int n_out, bool vector_out, int n_in,
                   tg_tensor *const *in, tg_tensor *v, bool tangents_null,
                   bool results_null, const tg_vjp_options *o)
{
    grad_call g;
    grad_call_begin(&g, f, n_out > 0 && !results_null ? n_out : 0);
    tg_tensor *outs[1] = {vector_out ? g.yv : g.y}, *a[1] = {f->a34};
    tg_tensor *vs[9] = {v, v, v, v, v, v, v, v, v};
    return grad_call_end(&g, tg_jvp(t != NULL ? t : f->t, n_out, outs, n_in,
                                    in != NULL ? in : a,
                                    tangents_null ? NULL : vs,
                                    results_null ? NULL : g.res, o));
}

static tg_tensor *ones_like(fx *f, const tg_tensor *x)
{
    tg_tensor *v = tg_ones(f->t, tg_dtype_of(x), tg_ndim(x), tg_shape(x));
    return v;
}

static int jvp_output_no_history(fx *f)
{
    grad_call g;
    grad_call_begin(&g, f, 1);
    tg_tensor *y = tg_sum(f->t, f->b5), *a[1] = {f->a34}, *v[1] = {NULL};
    return grad_call_end(&g, tg_jvp(f->t, 1, &y, 1, a, v, g.res, NULL));
}

/* More inputs than the calls keep on the stack, with no tape. */
static int jvp_many_null_tape(fx *f)
{
    tg_tensor *in[9] = {f->a34, f->a34, f->a34, f->a34, f->a34,
                        f->a34, f->a34, f->a34, f->a34};
    return tg_jvp(NULL, 0, NULL, 9, in, in, in, NULL);
}

/* With grad disabled, tg_jvp and tg_hvp still work without create_graph
 * (their inner passes are theirs), and refuse create_graph. */
static int products_grad_disabled(fx *f, bool hvp, bool create_graph)
{
    grad_call g;
    grad_call_begin(&g, f, 1);
    tg_tensor *a[1] = {f->a34}, *v[1] = {ones_like(f, f->a34)};
    tg_vjp_options o = vjp_opts(create_graph, TG_UNUSED_ERROR);
    tg_tape_set_grad_enabled(f->t, false);
    int rc = hvp ? tg_hvp(f->t, g.y, 1, a, v, g.res, &o)
                 : tg_jvp(f->t, 1, &g.y, 1, a, v, g.res, &o);
    bool still_off = !tg_tape_grad_enabled(f->t);
    tg_tape_set_grad_enabled(f->t, true);
    rc = grad_call_end(&g, rc);
    if (rc != TG_OK)
        return rc;
    /* d/dx of sum(tanh x) along ones: sum of 1 - tanh^2; H v: -2 tanh
     * (1 - tanh^2) elementwise. */
    double x = tg_value_at(f->a34, 3), th = tanh(x), want = 0;
    for (int i = 0; i < 12; i++)
        want += 1 - tanh(tg_value_at(f->a34, i)) * tanh(tg_value_at(f->a34, i));
    double got = tg_value_at(g.res[0], hvp ? 3 : 0);
    if (hvp)
        want = -2 * th * (1 - th * th);
    return expect(still_off && fabs(got - want) < 1e-5,
                  "the product with grad disabled, and the switch kept");
}

static int jvp_through_user_op(fx *f)
{
    grad_call g;
    grad_call_begin(&g, f, 1);
    tg_tensor *a[1] = {f->a34}, *v[1] = {ones_like(f, f->a34)};
    tg_tensor *y = tg_sum(f->t, tg_apply(f->t, &twice_op, 1, a, NULL));
    return grad_call_end(&g, tg_jvp(f->t, 1, &y, 1, a, v, g.res, NULL));
}

/* An output that does not depend on the input: zeros, as documented. */
static int jvp_unused_input(fx *f)
{
    grad_call g;
    grad_call_begin(&g, f, 1);
    tg_tensor *a[1] = {f->d34}, *v[1] = {ones_like(f, f->d34)};
    int rc = grad_call_end(&g, tg_jvp(f->t, 1, &g.yv, 1, a, v, g.res, NULL));
    if (rc != TG_OK)
        return rc;
    return expect(tg_numel(g.res[0]) == 12 && tg_value_at(g.res[0], 4) == 0,
                  "an output that does not depend on the input gets zeros");
}

/* tg_hvp of f (NULL: y) with vector v for a34 (or in[]). */
static int hvp_row(fx *f, tg_tensor *out, int n_in, tg_tensor *const *in,
                   tg_tensor *v, bool vectors_null, bool results_null)
{
    grad_call g;
    grad_call_begin(&g, f, n_in > 0 && !results_null ? n_in : 0);
    tg_tensor *a[1] = {f->a34}, *vs[1] = {v};
    return grad_call_end(&g, tg_hvp(f->t, out != NULL ? out : g.y, n_in,
                                    in != NULL ? in : a,
                                    vectors_null ? NULL : vs,
                                    results_null ? NULL : g.res, NULL));
}

static int hvp_vector_row(fx *f, int which)
{
    tg_tape *other = tg_tape_new();
    tg_tensor *v = which == 0 ? f->b5 : which == 1 ? f->d34
                   : tg_ones(other, TG_F32, 2, (int64_t[]){3, 4});
    int rc = hvp_row(f, NULL, 1, NULL, v, false, false);
    tg_tape_free(other);
    return rc;
}

static int hvp_not_scalar(fx *f)
{
    return hvp_row(f, tg_tanh(f->t, f->a34), 1, NULL, NULL, false, false);
}

static int hvp_through_user_op(fx *f)
{
    tg_tensor *a[1] = {f->a34};
    tg_tensor *y = tg_sum(f->t, tg_tanh(f->t, tg_apply(f->t, &twice_op, 1, a,
                                                        NULL)));
    return hvp_row(f, y, 1, NULL, ones_like(f, f->a34), false, false);
}

static tg_tensor *ggc_tanh(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_tanh(t, in[0]);
}

static tg_tensor *ggc_mul_tanh(tg_tape *t, int n, tg_tensor *const *in,
                              void *ud)
{
    (void)n, (void)ud;
    return tg_tanh(t, tg_mul(t, in[0], in[1]));
}

static tg_tensor *ggc_twice(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_tanh(t, tg_apply(t, &twice_op, 1, in, NULL));
}

/* An output (f) of another tape: tg_jvp, tg_hvp refuse it. */
static int products_output_other_tape(fx *f, bool hvp)
{
    tg_tape *other = tg_tape_new();
    tg_tensor *z = tg_scalar(other, TG_F32, 1.0);
    tg_set_requires_grad(z, true);
    tg_tensor *y = tg_mul_scalar(other, z, 3.0);
    grad_call g;
    grad_call_begin(&g, f, 1);
    tg_tensor *a[1] = {f->a34}, *v[1] = {ones_like(f, f->a34)};
    int rc = hvp ? tg_hvp(f->t, y, 1, a, v, g.res, NULL)
                 : tg_jvp(f->t, 1, &y, 1, a, v, g.res, NULL);
    tg_tape_free(other);
    return grad_call_end(&g, rc);
}

/* Inputs on two tapes: gradgradcheck evaluates fn on tapes of its own, so
 * this is allowed; the check passes and the inputs are left alone. */
static int ggc_inputs_on_two_tapes(fx *f)
{
    tg_tape *other = tg_tape_new();
    tg_tensor *w = tg_scalar(other, TG_F64, 0.7);
    tg_tensor *in[2] = {f->d34, w};
    tg_gradcheck_report r;
    int rc = tg_gradgradcheck(ggc_mul_tanh, NULL, 2, in, NULL, &r);
    bool same = tg_value_at(w, 0) == 0.7 && !tg_requires_grad(w) &&
                tg_value_at(f->d34, 3) == 0.25 * 3 - 1.1;
    tg_tape_free(other);
    if (rc != TG_OK)
        return rc;
    return expect(r.passed && same, "gradgradcheck of tanh(x w) across two "
                  "tapes passes and leaves the inputs alone");
}

static int ggc_row(fx *f, tg_gradcheck_fn fn, int n, bool inputs_null,
                   bool report_null)
{
    grad_call g;
    grad_call_begin(&g, f, 0);
    tg_tensor *in[65];
    for (int i = 0; i < 65; i++)
        in[i] = f->d34;
    tg_gradcheck_report r;
    return grad_call_end(&g, tg_gradgradcheck(fn, NULL, n,
                                              inputs_null ? NULL : in, NULL,
                                              report_null ? NULL : &r));
}


/* ---- Layers, schedules, clipping and checkpoints (tapegrad/train.h). */

/* flatten, linear 6 -> hidden, relu, linear hidden -> 3 (more layers
 * with extra), on f->t. */
static tg_sequential *train_net(fx *f, tg_dtype dt, int64_t hidden,
                                bool extra)
{
    tg_rng rng = seeded();
    tg_sequential *s = tg_sequential_new(f->t);
    tg_sequential_add(s, tg_layer_flatten_new(f->t, 1));
    tg_sequential_add(s, tg_layer_linear_new(f->t, &rng, dt, 6, hidden,
                                             true));
    tg_sequential_add(s, tg_layer_activation_new(f->t, "relu"));
    tg_sequential_add(s, tg_layer_linear_new(f->t, &rng, dt, hidden, 3,
                                             true));
    if (extra)
        tg_sequential_add(s, tg_layer_linear_new(f->t, &rng, dt, 3, 2,
                                                 false));
    return s;
}

/* The bytes of every entry of s's state dict, concatenated (to see that a
 * failed load changed nothing). */
static size_t state_bytes(const tg_sequential *s, unsigned char *out,
                          size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < tg_sequential_state_count(s); i++) {
        tg_tensor *x = tg_sequential_state_at(s, i, NULL);
        size_t b = (size_t)tg_numel(x) * tg_dtype_size(tg_dtype_of(x));
        const void *d = tg_dtype_of(x) == TG_F32 ? (const void *)
                        tg_data_f32(x) : (const void *)tg_data_f64(x);
        if (n + b <= cap)
            memcpy(out + n, d, b);
        n += b;
    }
    return n;
}

/* Save a (with an optimizer of kind sa), load into b (optimizer kind sb,
 * or none for -1); b's state must be as before when the load fails. */
static int ckpt_mismatch(fx *f, tg_sequential *a, int sa, tg_sequential *b,
                         int sb)
{
    if (a == NULL || b == NULL)
        return tg_last_status();
    tg_sgd_options so = tg_sgd_defaults(0.1);
    tg_optimizer *oa = sa < 0 ? NULL : sa == 0
        ? tg_sgd_new(f->t, tg_sequential_params(a), &so)
        : tg_adam_new(f->t, tg_sequential_params(a), NULL);
    tg_optimizer *ob = sb < 0 ? NULL : sb == 0
        ? tg_sgd_new(f->t, tg_sequential_params(b), &so)
        : tg_adam_new(f->t, tg_sequential_params(b), NULL);
    int rc = tg_checkpoint_save(in_dir(f, "ck.npz"),
                                &(tg_checkpoint){a, NULL, oa, NULL});
    if (rc != TG_OK)
        return rc;
    static unsigned char before[4096], after[4096];
    size_t nb = state_bytes(b, before, sizeof before);
    double lr = ob != NULL ? tg_optimizer_lr(ob) : 0.0;
    rc = tg_checkpoint_load(f->path, &(tg_checkpoint){b, NULL, ob, NULL});
    int status = tg_last_status();
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tg_last_error());
    unlink(f->path);
    if (rc != TG_OK) {
        if (state_bytes(b, after, sizeof after) != nb ||
            memcmp(before, after, nb) != 0 ||
            (ob != NULL && tg_optimizer_lr(ob) != lr))
            return expect(false, "a failed load left the model as it was");
        tg_set_error(status, "%s", msg);   /* the load's own error */
    }
    return rc;
}

static int ckpt_no_file(fx *f)
{
    tg_sequential *s = train_net(f, TG_F32, 4, false);
    return tg_checkpoint_load(in_dir(f, "none.npz"),
                              &(tg_checkpoint){.model = s});
}

static int ckpt_both(fx *f)
{
    tg_sequential *s = train_net(f, TG_F32, 4, false);
    return tg_checkpoint_save(in_dir(f, "x.npz"),
                              &(tg_checkpoint){s, tg_sequential_params(s),
                                               NULL, NULL});
}

/* A params-list file loaded into a sequential: every name is wrong. */
static int ckpt_params_into_model(fx *f)
{
    tg_params *p = tg_params_new(f->t);
    tg_params_add(p, f->a34);
    int rc = tg_checkpoint_save(in_dir(f, "p.npz"),
                                &(tg_checkpoint){.params = p});
    tg_sequential *s = tg_sequential_new(f->t);
    if (rc == TG_OK)
        rc = tg_checkpoint_load(f->path, &(tg_checkpoint){.model = s});
    unlink(f->path);
    return rc;
}

/* A clip that is refused leaves the gradients alone. */
static int clip_refused(fx *f, double max_norm, double norm_type,
                        double value)
{
    tg_params *p = tg_params_new(f->t);
    tg_params_add(p, f->d34);
    int rc = tg_backward(f->t, tg_sum(f->t, tg_mul_scalar(f->t, f->d34,
                                                          5.0)));
    if (rc != TG_OK)
        return rc;
    rc = isnan(value) ? tg_params_clip_grad_norm(p, max_norm, norm_type, NULL)
                      : tg_params_clip_grad_value(p, value);
    int status = tg_last_status();
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tg_last_error());
    for (int i = 0; i < 12; i++)
        if (tg_data_f64(tg_grad(f->d34))[i] != 5.0)
            return expect(false, "a refused clip left the gradients alone");
    tg_set_error(status, "%s", msg);
    return rc;
}

/* A refused schedule leaves the optimizer's rate alone. */
static int sched_refused(fx *f, int which)
{
    tg_params *p = tg_params_new(f->t);
    tg_params_add(p, f->d34);
    tg_sgd_options so = tg_sgd_defaults(0.5);
    tg_optimizer *o = tg_sgd_new(f->t, p, &so);
    tg_lr_schedule *s =
        which == 0 ? tg_lr_step_new(f->t, o, 0, 0.5)
        : which == 1 ? tg_lr_exponential_new(f->t, o, 0.0)
        : which == 2 ? tg_lr_cosine_new(f->t, o, 10, -1.0)
        : which == 3 ? tg_lr_warmup_new(f->t, o, 0.0, 1.0, 5)
        : which == 4 ? tg_lr_warmup_cosine_new(f->t, o, 0.1, 0, 10, 0.0)
        : tg_lr_cosine_new(f->t, o, 0, 0.0);
    int rc = ptr(s);
    if (tg_optimizer_lr(o) != 0.5)
        return expect(false, "a refused schedule left the rate alone");
    return rc;
}

static int sched_failed_optimizer(fx *f)
{
    tg_sgd_options so = tg_sgd_defaults(-1.0);
    tg_optimizer *o = tg_sgd_new(f->t, tg_params_new(f->t), &so);
    return ptr(tg_lr_step_new(f->t, o, 2, 0.5));
}

static int seq_add_twice(fx *f)
{
    tg_sequential *s = tg_sequential_new(f->t);
    tg_layer *l = tg_layer_flatten_new(f->t, 1);
    int rc = tg_sequential_add(s, l);
    if (rc != TG_OK)
        return rc;
    rc = tg_sequential_add(s, l);
    if (tg_sequential_count(s) != 1)
        return expect(false, "a refused add left the container as it was");
    return rc;
}

static int seq_add_name(fx *f, const char *name)
{
    tg_sequential *s = tg_sequential_new(f->t);
    int rc = tg_sequential_add_named(s, "fc", tg_layer_flatten_new(f->t, 1));
    return rc != TG_OK ? rc : tg_sequential_add_named(
        s, name, tg_layer_flatten_new(f->t, 1));
}

static int seq_wrong_input(fx *f)
{
    tg_sequential *s = train_net(f, TG_F32, 4, false);
    return ptr(tg_sequential_forward(f->t, s, f->a34));   /* 4, not 6 */
}

static int layer_param_twice(fx *f)
{
    tg_rng rng = seeded();
    tg_layer *l = tg_layer_linear_new(f->t, &rng, TG_F32, 2, 2, true);
    return tg_layer_add_param(l, "bias", f->b5);
}

static int layer_op_binary(fx *f)
{
    return ptr(tg_layer_op_new(f->t, tg_op_find("add"), NULL));
}

static int layer_flatten_too_far(fx *f)
{
    return ptr(tg_layer_forward(f->t, tg_layer_flatten_new(f->t, 2),
                                f->a34));
}

static int layer_linear_zero(fx *f)
{
    tg_rng rng = seeded();
    return ptr(tg_layer_linear_new(f->t, &rng, TG_F32, 0, 3, true));
}

/* ---- cnn: the convolutional layers (sequential.h). */

/* A refused conv2d layer draws nothing from rng. */
static int cnn_conv_refused(fx *f, int64_t in, int64_t stride,
                            int64_t groups)
{
    tg_rng rng = seeded(), before = rng;
    tg_conv_options o = tg_conv_defaults();
    o.stride[1] = stride;
    o.groups = groups;
    int rc = ptr(tg_layer_conv2d_new(f->t, &rng, TG_F32, in, 4, 3, 3, &o,
                                     true));
    /* Field by field: the struct has padding. */
    if (rng.state != before.state || rng.inc != before.inc ||
        rng.has_spare != before.has_spare)
        return expect(false, "a refused conv2d layer drew nothing");
    return rc;
}

/* A 5x5 kernel on the 3x4 image of a (1,1,3,4) input, padding 1. */
static int cnn_conv_kernel_too_big(fx *f)
{
    tg_rng rng = seeded();
    tg_conv_options o = tg_conv_defaults();
    o.padding[0] = o.padding[1] = 0;
    tg_layer *l = tg_layer_conv2d_new(f->t, &rng, TG_F32, 1, 2, 5, 5, &o,
                                      true);
    tg_tensor *x = tg_reshape(f->t, f->a34, 4, (int64_t[]){1, 1, 3, 4});
    return ptr(tg_layer_forward(f->t, l, x));
}

static int cnn_pool_refused(fx *f, int which)
{
    tg_pool2d_options o = tg_pool2d_defaults(2, 2);
    if (which == 0)
        o.stride[0] = 0;
    else if (which == 1)
        o.padding[1] = 2;
    else
        o.dilation[0] = 2;
    return ptr(which == 2 ? tg_layer_avg_pool2d_new(f->t, &o)
                          : tg_layer_max_pool2d_new(f->t, &o));
}

/* Batch norm over one value per channel in training: refused, and the
 * running statistics and the count are as they were. */
static int cnn_bn_one_value(fx *f)
{
    tg_layer *l = tg_layer_batch_norm_new(f->t, TG_F64, 4, 1e-5, 0.1, true);
    tg_tensor *x = tg_reshape(f->t, f->d34, 2, (int64_t[]){1, 12});
    x = tg_reshape(f->t, tg_slice(f->t, x, 1, 0, 4, 1), 2,
                   (int64_t[]){1, 4});
    int rc = ptr(tg_layer_forward(f->t, l, x));
    if (tg_data_f64(tg_layer_buffer(l, "running_mean"))[0] != 0.0 ||
        tg_data_f64(tg_layer_buffer(l, "running_var"))[0] != 1.0 ||
        tg_item(tg_layer_buffer(l, "num_batches_tracked")) != 0.0)
        return expect(false, "a refused batch norm left its statistics");
    return rc;
}

/* A checkpoint of a net without dropout, loaded into one with it: the
 * dropout layer's generator is missing; nothing is changed. */
static tg_sequential *cnn_net(fx *f, bool dropout)
{
    tg_sequential *s = train_net(f, TG_F32, 4, false);
    if (dropout)
        tg_sequential_add(s, tg_layer_dropout_new(f->t, 0.5, 1, 0));
    return s;
}

static const int64_t n3[] = {3}, s34[] = {3, 4};
static const int64_t neg[] = {3, -1}, zero[] = {0};
static const int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
static const int64_t ovf64[] = {INT64_MAX, 4};          /* int64 overflows */
static const int64_t ovf_size[] = {(int64_t)1 << 61};   /* bytes overflow */
static const int64_t huge[] = {(int64_t)1 << 42};       /* 16 TiB of f32 */
static const float vals4[4] = {1, 2, 3, 4};

/*
 * X(id, expected status, message fragment, expression giving the status).
 * The expression sees the fixture as f.
 */
/* ---- Lifecycles of handles and tensors (issue 17, classes 3-6, 12). ---- */

/* A parameter list whose tape was reset (and reused). */
static int params_add_stale(fx *f)
{
    tg_tape *pt = tg_tape_new();
    tg_params *p = tg_params_new(pt);
    tg_params_add(p, tg_scalar(pt, TG_F32, 1));
    tg_tape_reset(pt);
    tg_zeros(pt, TG_F32, 1, (int64_t[]){64});
    int rc = tg_params_add(p, f->s);
    int ok = expect(!tg_requires_grad(f->s), "requires_grad left as it was");
    tg_tape_free(pt);
    return ok == TG_OK ? rc : ok;
}

/* An optimizer on f->t over parameters of a tape reset since. */
static int optimizer_step_stale_param(fx *f)
{
    tg_tape *pt = tg_tape_new();
    tg_params *p = tg_params_new(pt);
    tg_params_add(p, tg_scalar(pt, TG_F32, 1));
    tg_optimizer *o = tg_adam_new(f->t, p, NULL);
    tg_tape_reset(pt);
    int rc = tg_optimizer_step(o);
    tg_tape_free(pt);
    return rc;
}

/* An optimizer whose own tape was reset: the parameters (on f->t) are
 * not touched. */
static int optimizer_step_stale(fx *f)
{
    tg_tape *ot = tg_tape_new();
    tg_params *p = tg_params_new(f->t);
    tg_params_add(p, f->d34);
    tg_backward(f->t, tg_sum(f->t, f->d34));
    tg_sgd_options sgd = tg_sgd_defaults(0.5);
    sgd.momentum = 0.9;
    tg_optimizer *o = tg_sgd_new(ot, p, &sgd);
    double before = tg_value_at(f->d34, 0);
    tg_tape_reset(ot);
    int rc = tg_optimizer_step(o);
    int ok = expect(tg_value_at(f->d34, 0) == before, "parameter unchanged");
    tg_tape_free(ot);
    return ok == TG_OK ? rc : ok;
}

static int mlp_forward_stale(fx *f)
{
    tg_tape *nt = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 1, 0);
    tg_mlp *m = tg_mlp_new(nt, NULL, &rng, TG_F32, 2, (int64_t[]){4, 2},
                           tg_relu);
    tg_tape_reset(nt);
    int rc = ptr(tg_mlp_forward(f->t, m, f->a34));
    tg_tape_free(nt);
    return rc;
}

static int params_add_twice(fx *f)
{
    tg_params *p = tg_params_new(f->t);
    tg_params_add(p, f->a34);
    int rc = tg_params_add(p, f->a34);
    int ok = expect(tg_params_count(p) == 1, "the list still has one");
    return ok == TG_OK ? rc : ok;
}

/* x written through tg_mut_f32 after mul saved it: refused, and x's
 * gradient not touched. */
static int backward_after_write(fx *f)
{
    tg_tensor *root = tg_sum(f->t, tg_mul(f->t, f->a34, f->a34));
    tg_mut_f32(f->a34)[0] = 9;
    int rc = tg_backward(f->t, root);
    int ok = expect(tg_grad(f->a34) == NULL, "no gradient written");
    return ok == TG_OK ? rc : ok;
}

/* An intermediate of another tape that requires grad. */
static int backward_foreign_intermediate(fx *f)
{
    tg_tape *a = tg_tape_new();
    tg_tensor *x = tg_scalar(a, TG_F32, 2);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_exp(a, x);
    int rc = tg_backward(f->t, tg_mul(f->t, f->s, y));
    int ok = expect(tg_grad(x) == NULL, "no gradient written to x");
    tg_tape_free(a);
    return ok == TG_OK ? rc : ok;
}

/* tg_tape_print of an entry whose input's tape was reset and reused. */
static int tape_print_stale_input(fx *f)
{
    tg_tape *a = tg_tape_new();
    tg_tensor *x = tg_scalar(a, TG_F32, 2);
    tg_relu(f->t, tg_mul(f->t, f->a34, x));
    tg_tape_reset(a);
    tg_zeros(a, TG_F64, 1, (int64_t[]){256});
    FILE *out = fopen("/dev/null", "w");
    int rc = out ? tg_tape_print(f->t, out) : TG_EIO;
    if (out)
        fclose(out);
    tg_tape_free(a);
    return rc;
}

static tg_tensor *leaf_for_forward;
static tg_tensor *return_leaf(tg_op_ctx *c)
{
    (void)c;
    return leaf_for_forward;
}
static int no_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                       tg_tensor *const *gx)
{
    (void)c; (void)y; (void)gy; (void)gx;
    return TG_OK;
}

/* A user forward that returns an existing leaf: refused, the leaf still
 * a leaf. */
static int forward_returns_leaf(fx *f)
{
    static const tg_op op = {.name = "steal", .arity = 1,
                             .forward = return_leaf, .backward = no_backward};
    leaf_for_forward = f->d34;
    int rc = ptr(tg_apply(f->t, &op, 1, &f->a34, NULL));
    int ok = expect(tg_set_requires_grad(f->d34, true) == TG_OK,
                    "the leaf is still a leaf");
    return ok == TG_OK ? rc : ok;
}


/* ---- index.h (index lane): each call leaves the tape as it was. */

/* An index tensor (rows, cols) of dt holding v. */
static tg_tensor *index_tensor(fx *f, tg_dtype dt, int64_t rows, int64_t cols,
                               const double *v)
{
    int64_t shape[2] = {rows, cols};
    tg_tensor *ix = tg_zeros(f->t, dt, 2, shape);
    for (int64_t i = 0; i < rows * cols; i++)
        if (dt == TG_F32)
            tg_mut_f32(ix)[i] = (float)v[i];
        else
            tg_mut_f64(ix)[i] = v[i];
    return ix;
}

/* The status of p, or ROW_WRONG if the call put anything on the tape. */
static int ptr_unchanged(fx *f, int64_t size_before, const void *p)
{
    int rc = ptr(p);
    if (rc != TG_OK && tg_tape_size(f->t) != size_before) {
        tg_set_error(ROW_WRONG, "the tape grew from %lld to %lld entries",
                     (long long)size_before, (long long)tg_tape_size(f->t));
        return ROW_WRONG;
    }
    return rc;
}

static int gather_with(fx *f, tg_dtype dt, int64_t rows, int64_t cols,
                       const double *v)
{
    tg_tensor *ix = index_tensor(f, dt, rows, cols, v);
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_gather(f->t, f->a34, 1, ix));
}
static int gather_out_of_range(fx *f)
{
    return gather_with(f, TG_F32, 3, 1, (const double[]){0, 4, 1});
}
static int gather_negative(fx *f)
{
    return gather_with(f, TG_F32, 3, 1, (const double[]){0, 1, -1});
}
static int gather_fraction(fx *f)
{
    return gather_with(f, TG_F32, 1, 2, (const double[]){1.5, 0});
}
static int gather_too_many_rows(fx *f)
{
    return gather_with(f, TG_F32, 4, 1, (const double[]){0, 0, 0, 0});
}
static int gather_dtype_mix(fx *f)
{
    return gather_with(f, TG_F64, 1, 1, (const double[]){0});
}
static int gather_dims_differ(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_gather(f->t, f->a34, 0, f->b5));
}
static int scatter_add_src_shape(fx *f)
{
    tg_tensor *ix = index_tensor(f, TG_F32, 1, 2, (const double[]){0, 1});
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_scatter_add(f->t, f->a34, 0, ix, f->a34));
}
static int index_select_out_of_range(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_index_select(f->t, f->a34, 1, 2,
                                               (const int64_t[]){0, 4}));
}
static int index_select_negative(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_index_select(f->t, f->a34, 0, 1,
                                               (const int64_t[]){-1}));
}
static int embedding_out_of_range(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_embedding(f->t, f->a34, 3,
                                            (const int64_t[]){0, 2, 3}, -1));
}
static int embedding_negative(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_embedding(f->t, f->a34, 1,
                                            (const int64_t[]){-2}, -1));
}
static int embedding_bad_padding(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_embedding(f->t, f->a34, 1,
                                            (const int64_t[]){0}, 3));
}
static int split_cap(fx *f)
{
    tg_tensor *out[2] = {NULL, NULL};
    int64_t n = tg_tape_size(f->t);
    int rc = tg_split(f->t, f->a34, 1, 1, 2, out);
    if (out[0] != NULL || out[1] != NULL || tg_tape_size(f->t) != n)
        return ROW_WRONG;
    return rc;
}
/* A size beyond any axis is one piece, the whole of x (no overflow). */
static int split_huge_size(fx *f)
{
    tg_tensor *out[1];
    int rc = tg_split(f->t, f->a34, 0, INT64_MAX, 1, out);
    return rc == 1 && tg_shape(out[0])[0] == 3 ? TG_OK : ROW_WRONG;
}
static int nll_label(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_nll_loss(f->t, f->a34,
                                           (const int64_t[]){0, 4, 1}, -100));
}
static int bce_shapes(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_bce_with_logits(f->t, f->a34, f->b5, NULL));
}
static int bce_pos_weight(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_bce_with_logits(f->t, f->a34, f->a34,
                                                  f->b5));
}
static int ce_ex_smoothing(fx *f)
{
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.label_smoothing = 1.5;
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_cross_entropy_ex(
                                   f->t, f->a34, (const int64_t[]){0, 1, 2},
                                   &o));
}
static int ce_ex_label(fx *f)
{
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.ignore_index = 1;
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_cross_entropy_ex(
                                   f->t, f->a34, (const int64_t[]){1, 7, 1},
                                   &o));
}

/* ---- seqlayers: the sequence layers of tapegrad/sequence.h ------------ */

/* An embedding layer of 3 rows of 2 run on the ids v (n of them). */
static int seq_embedding_ids(fx *f, int n, const double *v)
{
    tg_rng rng = seeded();
    tg_layer *l = tg_layer_embedding_new(f->t, &rng, TG_F32, 3, 2, -1);
    int64_t shape[] = {n};
    tg_tensor *ids = tg_from_data(f->t, TG_F64, 1, shape, v);
    int64_t size = tg_tape_size(f->t);
    return ptr_unchanged(f, size, tg_layer_forward(f->t, l, ids));
}

static int seq_embedding_rank(fx *f)
{
    tg_rng rng = seeded();
    tg_layer *l = tg_layer_embedding_new(f->t, &rng, TG_F32, 3, 2, -1);
    tg_tensor *ids = tg_zeros(f->t, TG_F32, 8, nine);
    int64_t size = tg_tape_size(f->t);
    return ptr_unchanged(f, size, tg_layer_forward(f->t, l, ids));
}

/* A GRU (gru) or LSTM layer of input 4, hidden 3, on a34 (an unbatched
 * (T=3, 4)) or on x, with the states h0 and c0. */
static int seq_rnn(fx *f, bool lstm, tg_tensor *x, tg_tensor *h0,
                   tg_tensor *c0)
{
    tg_rng rng = seeded();
    tg_layer *l = lstm ? tg_layer_lstm_new(f->t, &rng, TG_F32, 4, 3)
                       : tg_layer_gru_new(f->t, &rng, TG_F32, 4, 3);
    tg_tensor *hn = f->s, *cn = f->s;
    int64_t size = tg_tape_size(f->t);
    int rc = ptr_unchanged(f, size, tg_layer_rnn_forward(
        f->t, l, x ? x : f->a34, h0, c0, &hn, lstm ? &cn : NULL));
    if (rc != TG_OK && (hn != NULL || (lstm && cn != NULL)))
        return expect(false, "h_n and c_n are NULL after an error");
    return rc;
}

static int seq_gru_hidden_mismatch(fx *f)
{
    return seq_rnn(f, false, NULL, f->b5, NULL);   /* h0 (5,), hidden 3 */
}

static int seq_lstm_cell_state_mismatch(fx *f)
{
    tg_tensor *h0 = tg_zeros(f->t, TG_F32, 1, n3);
    return seq_rnn(f, true, NULL, h0, f->b5);
}

static int seq_gru_batched_h0_rows(fx *f)
{
    int64_t xs[] = {2, 5, 4}, hs[] = {1, 3, 3};
    return seq_rnn(f, false, tg_zeros(f->t, TG_F32, 3, xs),
                   tg_zeros(f->t, TG_F32, 3, hs), NULL);
}

static int seq_rnn_state_dtype(fx *f)
{
    return seq_rnn(f, false, NULL, tg_zeros(f->t, TG_F64, 1, n3), NULL);
}

static int seq_gru_given_c0(fx *f)
{
    return seq_rnn(f, false, NULL, NULL, f->b5);
}

static int seq_rnn_rank(fx *f)
{
    return seq_rnn(f, true, f->b5, NULL, NULL);
}

static int seq_rnn_input_size(fx *f)
{
    int64_t xs[] = {2, 5, 6};
    return seq_rnn(f, true, tg_zeros(f->t, TG_F32, 3, xs), NULL, NULL);
}

static int seq_rnn_dtype(fx *f)
{
    return seq_rnn(f, false, f->d34, NULL, NULL);
}

static int seq_rnn_not_recurrent(fx *f)
{
    return ptr(tg_layer_rnn_forward(f->t, tg_layer_flatten_new(f->t, 0),
                                    f->a34, NULL, NULL, NULL, NULL));
}

static int seq_mha_width(fx *f)
{
    tg_rng rng = seeded();
    tg_layer *l = tg_layer_mha_new(f->t, &rng, TG_F32, 6, 2, true);
    int64_t size = tg_tape_size(f->t);
    return ptr_unchanged(f, size, tg_layer_forward(f->t, l, f->a34));
}

static int seq_layer_norm_shape(fx *f)
{
    tg_layer *l = tg_layer_layer_norm_new(f->t, TG_F32, 1, (int64_t[]){5},
                                          1e-5);
    int64_t size = tg_tape_size(f->t);
    return ptr_unchanged(f, size, tg_layer_forward(f->t, l, f->a34));
}

static int seq_new_null_rng(fx *f)
{
    return ptr(tg_layer_gru_new(f->t, NULL, TG_F32, 4, 3));
}

static int seq_new_bad_sizes(fx *f, int which)
{
    tg_rng rng = seeded();
    switch (which) {
    case 0:
        return ptr(tg_layer_embedding_new(f->t, &rng, TG_F32, 3, 2, 3));
    case 1:
        return ptr(tg_layer_lstm_new(f->t, &rng, TG_F32, 4, 0));
    case 2:
        return ptr(tg_layer_mha_new(f->t, &rng, TG_F32, 6, 4, false));
    default:
        return ptr(tg_layer_layer_norm_new(f->t, TG_F32, 1, n3, -1.0));
    }
}
/* ---- end seqlayers helpers ---------------------------------------------- */

#define ROWS(X)                                                              \
    /* Making tensors. */                                                    \
    X(zeros_null_tape, TG_EINVAL, "tg_zeros: tape is NULL",                  \
      ptr(tg_zeros(NULL, TG_F32, 1, n3)))                                    \
    X(zeros_null_shape, TG_EINVAL, "tg_zeros: shape is NULL for ndim 2",     \
      ptr(tg_zeros(f->t, TG_F32, 2, NULL)))                                  \
    X(zeros_negative_dim, TG_EINVAL, "tg_zeros: dimension 1 has size -1",    \
      ptr(tg_zeros(f->t, TG_F32, 2, neg)))                                   \
    X(zeros_zero_dim, TG_EINVAL, "dimension 0 has size 0",                   \
      ptr(tg_zeros(f->t, TG_F64, 1, zero)))                                  \
    X(zeros_nine_dims, TG_EINVAL, "tg_zeros: ndim 9 is outside 0..8",        \
      ptr(tg_zeros(f->t, TG_F32, 9, nine)))                                  \
    X(zeros_negative_ndim, TG_EINVAL, "ndim -1 is outside 0..8",             \
      ptr(tg_zeros(f->t, TG_F32, -1, nine)))                                 \
    X(zeros_int64_overflow, TG_EINVAL, "tg_zeros: the shape's element count " \
      "overflows", ptr(tg_zeros(f->t, TG_F32, 2, ovf64)))                    \
    X(zeros_size_t_overflow, TG_EINVAL, "element count overflows",           \
      ptr(tg_zeros(f->t, TG_F64, 1, ovf_size)))                              \
    X(zeros_terabytes, TG_ENOMEM, "tg_zeros: out of memory",                 \
      ptr(tg_zeros(f->t, TG_F32, 1, huge)))                                  \
    X(zeros_unknown_dtype, TG_EDTYPE, "tg_zeros: unknown dtype 7",           \
      ptr(tg_zeros(f->t, (tg_dtype)7, 1, n3)))                               \
    X(zeros_scalar_null_shape, TG_OK, "", zeros_scalar_null_shape(f))        \
    X(empty_nine_dims, TG_EINVAL, "tg_empty: ndim 9",                        \
      ptr(tg_empty(f->t, TG_F32, 9, nine)))                                  \
    X(empty_like_null, TG_EINVAL, "tg_empty_like: tensor is NULL",           \
      ptr(tg_empty_like(f->t, NULL)))                                        \
    X(empty_like_null_tape, TG_EINVAL, "tg_empty_like: tape is NULL",        \
      ptr(tg_empty_like(NULL, f->a34)))                                      \
    X(from_data_null_data, TG_EINVAL, "tg_from_data: data is NULL",          \
      ptr(tg_from_data(f->t, TG_F32, 1, n3, NULL)))                          \
    X(from_data_null_tape, TG_EINVAL, "tg_from_data: tape is NULL",          \
      ptr(tg_from_data(NULL, TG_F32, 1, n3, vals4)))                         \
    X(from_data_bad_dtype, TG_EDTYPE, "tg_from_data: unknown dtype -1",      \
      ptr(tg_from_data(f->t, (tg_dtype)-1, 1, n3, vals4)))                   \
    X(scalar_null_tape, TG_EINVAL, "tg_scalar: tape is NULL",                \
      ptr(tg_scalar(NULL, TG_F64, 1)))                                       \
    X(scalar_bad_dtype, TG_EDTYPE, "tg_scalar: unknown dtype 2",             \
      ptr(tg_scalar(f->t, (tg_dtype)2, 1)))                                  \
    X(linspace_zero_steps, TG_EINVAL, "tg_linspace: steps is 0",             \
      ptr(tg_linspace(f->t, TG_F32, 0, 1, 0)))                               \
    X(linspace_negative_steps, TG_EINVAL, "tg_linspace: steps is -5",        \
      ptr(tg_linspace(f->t, TG_F32, 0, 1, -5)))                              \
    X(linspace_f32_beyond_float, TG_EINVAL, "tg_linspace: start -1e+39 "    \
      "and end 1 must fit in f32", f32_range(f, 0, -1e39, 1))                \
    X(linspace_f32_float_max, TG_OK, "",                                     \
      f32_range(f, 0, -FLT_MAX, 0x1.fffffefffffffp+127))                     \
    X(linspace_f32_just_beyond, TG_EINVAL, "must fit in f32",                \
      f32_range(f, 0, 0, 0x1.ffffffp+127))                                   \
    X(rand_uniform_f32_beyond_float, TG_EINVAL, "tg_rand_uniform: the range" \
      " [0, 3.40282e+38) does not fit in f32",                               \
      f32_range(f, 1, 0, 0x1.ffffffp+127))                                   \
    X(rand_uniform_f32_float_max, TG_OK, "",                                 \
      f32_range(f, 1, -FLT_MAX, FLT_MAX))                                    \
    X(rand_normal_f32_beyond_float, TG_EINVAL, "tg_rand_normal: mean 1e+39" \
      " and std 1 must fit in f32", f32_range(f, 2, 1e39, 1))                \
    X(linspace_one_step, TG_OK, "", linspace_one_step(f))                    \
    X(linspace_extreme_ends, TG_OK, "", linspace_extreme_ends(f))            \
    X(linspace_nan_start, TG_EINVAL, "tg_linspace: start and end must be "   \
      "finite", ptr(tg_linspace(f->t, TG_F64, NAN, 1, 3)))                   \
    X(linspace_infinite_end, TG_EINVAL, "must be finite",                    \
      ptr(tg_linspace(f->t, TG_F32, 0, INFINITY, 3)))                        \
    X(linspace_too_many_steps, TG_EINVAL, "at most 2^53",                    \
      ptr(tg_linspace(f->t, TG_F64, 0, 1, INT64_MAX)))                       \
    X(linspace_null_tape, TG_EINVAL, "tape is NULL",                         \
      ptr(tg_linspace(NULL, TG_F32, 0, 1, 3)))                               \
    X(linspace_bad_dtype, TG_EDTYPE, "unknown dtype 9",                      \
      ptr(tg_linspace(f->t, (tg_dtype)9, 0, 1, 3)))                          \
    X(full_zero_dim, TG_EINVAL, "tg_full: dimension 0 has size 0",           \
      ptr(tg_full(f->t, TG_F32, 1, zero, 2.0)))                              \
    X(ones_null_tape, TG_EINVAL, "tg_ones: tape is NULL",                    \
      ptr(tg_ones(NULL, TG_F64, 1, n3)))                                     \
    X(arange_zero_step, TG_EINVAL, "tg_arange: step is 0",                   \
      ptr(tg_arange(f->t, TG_F32, 0, 1, 0)))                                 \
    X(arange_wrong_sign, TG_EINVAL, "tg_arange: start 0, end 1, step -1 "    \
      "give no values", ptr(tg_arange(f->t, TG_F64, 0, 1, -1)))              \
    X(arange_nan, TG_EINVAL, "must be finite",                               \
      ptr(tg_arange(f->t, TG_F64, 0, 1, NAN)))                               \
    X(eye_zero, TG_EINVAL, "tg_eye: sizes 3 and 0 must be at least 1",       \
      ptr(tg_eye(f->t, TG_F32, 3, 0)))                                       \
    /* Reading tensors and their gradients. */                               \
    X(requires_grad_null, TG_EINVAL, "tg_set_requires_grad: tensor is NULL", \
      tg_set_requires_grad(NULL, true))                                      \
    X(requires_grad_non_leaf, TG_EINVAL, "only leaf tensors can be switched", \
      tg_set_requires_grad(tg_relu(f->t, f->a34), false))                    \
    X(grad_null, TG_EINVAL, "tg_grad: tensor is NULL", ptr(tg_grad(NULL)))   \
    X(grad_without_requires_grad, TG_OK, "", grad_without_requires_grad(f))  \
    X(grad_of_stale, TG_ESTATE, "tg_grad: tensor was freed by a reset",      \
      grad_of_stale(f))                                                      \
    X(data_f32_of_f64, TG_EDTYPE, "tg_data_f32: tensor is f64",              \
      ptr(tg_data_f32(f->d34)))                                              \
    X(data_f64_of_f32, TG_EDTYPE, "tg_data_f64: tensor is f32",              \
      ptr(tg_data_f64(f->a34)))                                              \
    X(data_f64_null, TG_EINVAL, "tg_data_f64: tensor is NULL",               \
      ptr(tg_data_f64(NULL)))                                                \
    X(relu_of_stale_after_growth, TG_ESTATE, "tg_relu: tensor was freed "  \
      "by a reset", relu_of_stale_after_growth(f))                           \
    X(zero_grad_of_stale, TG_ESTATE, "tg_zero_grad: tensor was freed by a "  \
      "reset", zero_grad_of_stale(f))                                        \
    X(mut_f32_of_stale, TG_ESTATE, "tg_mut_f32: tensor was freed",           \
      mut_of_stale(f))                                                       \
    X(item_of_many, TG_ESHAPE, "tg_item: shape (3,4) has 12 elements, not 1", \
      num(tg_item(f->a34)))                                                  \
    X(item_null, TG_EINVAL, "tg_item: tensor is NULL", num(tg_item(NULL)))   \
    X(shape_str_small_buffers, TG_OK, "", shape_str_small_buffers(f))        \
    X(accessors_on_null, TG_OK, "", accessors_on_null(f))                    \
    /* Ops. */                                                               \
    X(relu_null_tape, TG_EINVAL, "tg_relu: tape is NULL",                    \
      ptr(tg_relu(NULL, f->a34)))                                            \
    X(relu_null_input, TG_EINVAL, "tg_relu: tensor is NULL",                 \
      ptr(tg_relu(f->t, NULL)))                                              \
    X(relu_of_stale, TG_ESTATE, "tg_relu: tensor was freed by a reset",      \
      relu_of_stale(f))                                                      \
    X(add_dtype_mix, TG_EDTYPE, "tg_add: inputs are f32 and f64",            \
      ptr(tg_add(f->t, f->a34, f->d34)))                                     \
    X(add_no_broadcast, TG_ESHAPE,                                           \
      "tg_add: shapes (3,4) and (5,) do not broadcast",                      \
      ptr(tg_add(f->t, f->a34, f->b5)))                                      \
    X(mul_no_broadcast, TG_ESHAPE,                                           \
      "tg_mul: shapes (5,) and (3,4) do not broadcast",                      \
      ptr(tg_mul(f->t, f->b5, f->a34)))                                      \
    X(maximum_second_null, TG_EINVAL, "tg_maximum: tensor is NULL",          \
      ptr(tg_maximum(f->t, f->a34, NULL)))                                   \
    X(pow_tensor_dtype_mix, TG_EDTYPE, "tg_pow_tensor: inputs are f64 and "  \
      "f32", ptr(tg_pow_tensor(f->t, f->d34, f->s)))                         \
    X(add_scalar_null_tape, TG_EINVAL, "tape is NULL",                       \
      ptr(tg_add_scalar(NULL, f->a34, 1.0)))                                 \
    X(mul_scalar_null_input, TG_EINVAL, "tensor is NULL",                    \
      ptr(tg_mul_scalar(f->t, NULL, 2.0)))                                   \
    X(exp_null_input, TG_EINVAL, "tg_exp: tensor is NULL",                   \
      ptr(tg_exp(f->t, NULL)))                                               \
    X(sum_axis_too_large, TG_EINVAL,                                         \
      "tg_sum_axis: axis 2 is out of range for shape (3,4)",                 \
      ptr(tg_sum_axis(f->t, f->a34, 2, false)))                              \
    X(mean_axis_too_negative, TG_EINVAL, "tg_mean_axis: axis -3 is out of "  \
      "range", ptr(tg_mean_axis(f->t, f->a34, -3, true)))                    \
    X(max_axis_int_min, TG_EINVAL, "axis -2147483648 is out of range",       \
      ptr(tg_max_axis(f->t, f->b5, INT_MIN, false)))                         \
    X(logsumexp_axis_scalar, TG_EINVAL, "tg_logsumexp_axis: axis 1 is out "  \
      "of range for shape ()", ptr(tg_logsumexp_axis(f->t, f->s, 1, false))) \
    /* Running ops by hand. */                                               \
    X(apply_null_op, TG_EINVAL, "tg_apply: op is NULL",                      \
      ptr(tg_apply(f->t, NULL, 1, &f->a34, NULL)))                           \
    X(apply_wrong_count, TG_EINVAL, "tg_relu: takes 1 input, got 2",         \
      ptr(tg_apply(f->t, tg_op_find("relu"), 2, (tg_tensor *[]){f->a34,         \
                   f->a34}, NULL)))                                       \
    X(apply_no_inputs_variadic, TG_EINVAL, "takes at least 1 input, got 0",  \
      ptr(tg_apply(f->t, &op_variadic, 0, &f->a34, NULL)))                   \
    X(apply_null_array, TG_EINVAL, "tg_relu: inputs array is NULL",          \
      ptr(tg_apply(f->t, tg_op_find("relu"), 1, NULL, NULL)))                \
    X(apply_null_params, TG_EINVAL, "tg_sum_axis: params are NULL",          \
      apply_no_params(f))                                                    \
    X(apply_null_tape, TG_EINVAL, "tg_relu: tape is NULL",                   \
      ptr(tg_apply(NULL, tg_op_find("relu"), 1, &f->a34, NULL)))             \
    X(apply_silent_forward, TG_EINVAL,                                       \
      "tg_bad_silent: forward returned NULL without setting an error",       \
      ptr(tg_apply(f->t, &op_silent, 1, &f->a34, NULL)))                     \
    X(apply_forward_returns_input, TG_EINVAL,                                \
      "tg_bad_identity: forward returned one of its inputs",                 \
      ptr(tg_apply(f->t, &op_identity, 1, &f->a34, NULL)))                   \
    X(apply_forward_other_tape, TG_EINVAL, "tg_bad_foreign: forward must "  \
      "return a new tensor made on c->tape", apply_forward_other_tape(f))    \
    X(apply_huge_params, TG_ENOMEM, "tg_bad_huge_params: tg_tape_alloc: "   \
      "out of memory", ptr(tg_apply(f->t, &op_huge_params, 1, &f->a34,       \
                                    "params")))                              \
    X(backward_input_tape_reset, TG_ESTATE, "tg_backward: tensor was freed " \
      "by a reset", backward_input_tape_reset(f))                            \
    X(backward_input_replaced, TG_ESTATE, "tg_backward: tensor was freed by" \
      " a reset of its tape (input 1 of mul)", backward_input_replaced(f))   \
    X(backward_silent_failure, TG_EINVAL, "tg_backward: the backward of "    \
      "bad_silent_backward failed (invalid argument)",                       \
      backward_through_silent_op(f))                                         \
    /* Backward. */                                                          \
    X(backward_null_tape, TG_EINVAL, "tg_backward: tape is NULL",            \
      tg_backward(NULL, f->s))                                               \
    X(backward_null_root, TG_EINVAL, "tg_backward: tensor is NULL",          \
      tg_backward(f->t, NULL))                                               \
    X(backward_non_scalar, TG_ESHAPE,                                        \
      "tg_backward: root has shape (3,4); it must have exactly one element", \
      tg_backward(f->t, tg_relu(f->t, f->a34)))                              \
    X(backward_other_tape, TG_ESTATE, "root belongs to another tape",        \
      backward_other_tape(f))                                                \
    X(backward_after_reset, TG_ESTATE, "tg_backward: tensor was freed by a " \
      "reset", backward_after_reset(f))                                      \
    X(backward_twice, TG_OK, "", backward_twice(f))                          \
    X(backward_no_requires_grad, TG_ESTATE, "root does not require grad",    \
      tg_backward(f->t, f->s))                                               \
    X(backward_grad_disabled, TG_ESTATE, "root does not require grad",       \
      backward_grad_disabled(f))                                             \
    X(backward_chain_keeps_first_error, TG_ESHAPE, "tg_add: shapes (3,4) "   \
      "and (5,)", tg_backward(f->t, tg_sum(f->t, tg_add(f->t, f->a34,        \
                                                        f->b5))))            \
    /* The op registry. */                                                   \
    X(register_null, TG_EINVAL, "tg_op_register: op is NULL",                \
      tg_op_register(NULL))                                                  \
    X(register_no_forward, TG_EINVAL, "op \"bad_no_forward\" needs both a "  \
      "forward and a backward", tg_op_register(&op_no_forward))              \
    X(register_no_backward, TG_EINVAL, "op \"bad_no_backward\" needs both",  \
      tg_op_register(&op_no_backward))                                       \
    X(register_no_name, TG_EINVAL, "tg_op_register: op has no name",         \
      tg_op_register(&op_no_name))                                           \
    X(register_empty_name, TG_EINVAL, "op has no name",                      \
      tg_op_register(&op_empty_name))                                        \
    X(register_arity_zero, TG_EINVAL, "has arity 0",                         \
      tg_op_register(&op_arity_zero))                                        \
    X(register_arity_minus_two, TG_EINVAL, "has arity -2",                   \
      tg_op_register(&op_arity_minus2))                                      \
    X(register_builtin_name, TG_EEXIST, "an op named \"relu\" is already "   \
      "registered", tg_op_register(&op_relu_again))                          \
    X(register_twice, TG_EEXIST, "\"bad_input_twice\" is already registered", \
      register_twice(f))                                                     \
    X(find_null, TG_EINVAL, "tg_op_find: name is NULL",                      \
      ptr(tg_op_find(NULL)))                                                 \
    X(find_unknown, TG_ENOTFOUND, "tg_op_find: no op named \"nonesuch\"",    \
      ptr(tg_op_find("nonesuch")))                                           \
    X(op_at_negative, TG_EINVAL, "tg_op_at: index -1", ptr(tg_op_at(-1)))    \
    X(op_at_int_max, TG_EINVAL, "tg_op_at: index 2147483647",                \
      ptr(tg_op_at(INT_MAX)))                                                \
    X(tape_alloc_null_tape, TG_EINVAL, "tg_tape_alloc: tape is NULL",        \
      ptr(tg_tape_alloc(NULL, 16)))                                          \
    X(tape_alloc_size_max, TG_ENOMEM, "tg_tape_alloc: out of memory",        \
      ptr(tg_tape_alloc(f->t, SIZE_MAX)))                                    \
    X(tape_alloc_half_size_max, TG_ENOMEM, "tg_tape_alloc: out of memory",   \
      ptr(tg_tape_alloc(f->t, SIZE_MAX / 2)))                                \
    X(set_allocator_incomplete, TG_EINVAL, "tg_set_allocator: malloc, "      \
      "realloc and free are all required",                                   \
      tg_set_allocator(&(tg_allocator){.malloc = NULL}))                     \
    /* Gradient checks. */                                                   \
    X(gradcheck_null_fn, TG_EINVAL, "tg_gradcheck: fn is NULL",              \
      gradcheck_one(f, NULL, f->d34, NULL))                                  \
    X(gradcheck_null_report, TG_EINVAL, "tg_gradcheck: report is NULL",      \
      gradcheck_null_report(f))                                              \
    X(gradcheck_no_inputs, TG_EINVAL, "tg_gradcheck: n is 0",                \
      tg_gradcheck(gc_relu, NULL, 0, &f->d34, NULL,                          \
                   &(tg_gradcheck_report){0}))                               \
    X(gradcheck_f32, TG_EDTYPE, "tg_gradcheck: input 0 is f32",              \
      gradcheck_one(f, gc_relu, f->a34, NULL))                               \
    X(gradcheck_eps_zero, TG_EINVAL, "tg_gradcheck: eps is 0",               \
      gradcheck_eps(f, 0.0))                                                 \
    X(gradcheck_eps_nan, TG_EINVAL, "tg_gradcheck: eps is nan",              \
      gradcheck_eps(f, NAN))                                                 \
    X(gradcheck_eps_too_small, TG_EINVAL, "does not change",                 \
      gradcheck_eps(f, 1e-300))                                              \
    X(gradcheck_non_finite_input, TG_ENUMERIC, "tg_gradcheck: input 0 "      \
      "element 7", gradcheck_nonfinite(f))                                   \
    X(gradcheck_non_leaf, TG_EINVAL, "was made by a recorded op",            \
      gradcheck_non_leaf(f))                                                 \
    X(gradcheck_null_input, TG_EINVAL, "tg_gradcheck: input 0: tensor is "   \
      "NULL", gradcheck_one(f, gc_relu, NULL, NULL))                         \
    X(gradcheck_fn_fails, TG_EINVAL, "tg_gradcheck: the function failed",    \
      gradcheck_one(f, gc_null, f->d34, NULL))                               \
    /* Writing files. */                                                     \
    X(json_missing_folder, TG_EIO, "No such file or directory",              \
      json_one(f, in_dir(f, "missing/a.json"), "x", f->a34))                 \
    X(json_onto_folder, TG_EIO, "tg_json_write: ", json_onto_folder(f))      \
    X(json_null_path, TG_EINVAL, "tg_json_write: path is NULL",              \
      json_one(f, NULL, "x", f->a34))                                        \
    X(json_empty_path, TG_EINVAL, "tg_json_write: path is empty",            \
      json_one(f, "", "x", f->a34))                                          \
    X(json_no_entries, TG_EINVAL, "tg_json_write: n is 0",                   \
      tg_json_write(in_dir(f, "a.json"), 0, NULL, NULL))                     \
    X(json_null_names, TG_EINVAL, "tg_json_write: names is NULL",            \
      tg_json_write(in_dir(f, "a.json"), 1, NULL,                            \
                    (const tg_tensor *[]){f->a34}))                          \
    X(json_null_name, TG_EINVAL, "tg_json_write: names[0] is NULL",          \
      json_one(f, in_dir(f, "a.json"), NULL, f->a34))                        \
    X(json_bad_utf8_name, TG_EINVAL, "names[0] is not valid UTF-8",          \
      json_one(f, in_dir(f, "a.json"), "\xff\xfe", f->a34))                  \
    X(json_repeated_name, TG_EINVAL, "names[0] and names[1] are both",       \
      json_repeated_name(f))                                                 \
    X(json_null_tensor, TG_EINVAL, "tg_json_write: values[0]: tensor is "    \
      "NULL", json_one(f, in_dir(f, "a.json"), "x", NULL))                   \
    X(json_stale_tensor, TG_ESTATE, "values[0]: tensor was freed by a reset", \
      json_stale_tensor(f))                                                  \
    X(format_double_small_buffer, TG_EINVAL, "tg_format_double: buffer of",  \
      tg_format_double((char[8]){0}, 8, 1.0))                                \
    X(format_double_null_buffer, TG_EINVAL, "tg_format_double: buffer is "   \
      "NULL", tg_format_double(NULL, 64, 1.0))                               \
    X(svg_missing_folder, TG_EIO, "tg_svg_write_plot: ",                     \
      svg_one(f, in_dir(f, "missing/p.svg"), &(tg_plot){.title = "t"}, 3,    \
              xs3))                                                          \
    X(svg_null_plot, TG_EINVAL, "tg_svg_write_plot: plot is NULL",           \
      svg_one(f, in_dir(f, "p.svg"), NULL, 3, xs3))                          \
    X(svg_tiny_width, TG_EINVAL, "tg_svg_write_plot: width 5 is not 0",      \
      svg_one(f, in_dir(f, "p.svg"), &(tg_plot){.width = 5}, 3, xs3))        \
    X(svg_negative_points, TG_EINVAL, "series[0] has -1",                    \
      svg_one(f, in_dir(f, "p.svg"), &(tg_plot){.title = "t"}, -1, xs3))     \
    X(svg_null_x, TG_EINVAL, "series[0].x is NULL",                          \
      svg_one(f, in_dir(f, "p.svg"), &(tg_plot){.title = "t"}, 3, NULL))     \
    X(svg_null_series, TG_EINVAL, "tg_svg_write_plot: series is NULL",       \
      tg_svg_write_plot(in_dir(f, "p.svg"), &(tg_plot){.title = "t"}, 1,     \
                        NULL))                                               \
    /* Shapes, matrices, losses. */                                          \
    X(reshape_wrong_count, TG_ESHAPE, "tg_reshape: cannot reshape (3,4)",    \
      ptr(tg_reshape(f->t, f->a34, 2, (int64_t[]){5, 2})))                   \
    X(reshape_two_inferred, TG_EINVAL, "tg_reshape: shape",                  \
      ptr(tg_reshape(f->t, f->a34, 2, (int64_t[]){-1, -1})))                 \
    X(reshape_nine_dims, TG_EINVAL, "tg_reshape: ndim 9 is outside 0..8",    \
      ptr(tg_reshape(f->t, f->a34, 9, nine)))                                \
    X(reshape_null_shape, TG_EINVAL, "tg_reshape: shape is NULL",            \
      ptr(tg_reshape(f->t, f->a34, 2, NULL)))                                \
    X(transpose_of_vector, TG_ESHAPE, "tg_transpose",                        \
      ptr(tg_transpose(f->t, f->b5)))                                        \
    X(permute_not_a_permutation, TG_EINVAL, "are not a permutation",         \
      ptr(tg_permute(f->t, f->a34, 2, (int[]){0, 0})))                       \
    X(permute_wrong_count, TG_EINVAL, "tg_permute: 3 dims given for shape",  \
      ptr(tg_permute(f->t, f->a34, 3, (int[]){0, 1, 2})))                    \
    X(permute_int_min, TG_EINVAL, "tg_permute", ptr(tg_permute(f->t, f->a34, \
      2, (int[]){INT_MIN, 0})))                                              \
    X(matmul_inner_mismatch, TG_ESHAPE, "tg_matmul: shapes (3,4) and (3,4)", \
      ptr(tg_matmul(f->t, f->a34, f->a34)))                                  \
    X(matmul_dtype_mix, TG_EDTYPE, "tg_matmul: inputs are f32 and f64",      \
      ptr(tg_matmul(f->t, f->a34, f->d34)))                                  \
    X(concat_no_inputs, TG_EINVAL, "tg_concat",                              \
      ptr(tg_concat(f->t, 0, &f->a34, 0)))                                   \
    X(concat_null_array, TG_EINVAL, "tg_concat",                             \
      ptr(tg_concat(f->t, 2, NULL, 0)))                                      \
    X(concat_mismatch, TG_ESHAPE, "tg_concat: inputs 0 and 1 have",          \
      ptr(tg_concat(f->t, 2, (tg_tensor *[]){f->a34, f->b5}, 0)))            \
    X(concat_axis_out_of_range, TG_EINVAL, "axis 5 is out of range",         \
      ptr(tg_concat(f->t, 2, (tg_tensor *[]){f->a34, f->a34}, 5)))           \
    X(softmax_bad_axis, TG_EINVAL, "tg_softmax: axis 2 is out of range",     \
      ptr(tg_softmax(f->t, f->a34, 2)))                                      \
    X(cross_entropy_of_vector, TG_ESHAPE, "tg_cross_entropy: logits have "   \
      "shape (5,)", ptr(tg_cross_entropy(f->t, f->b5, (int64_t[5]){0})))     \
    X(cross_entropy_null_labels, TG_EINVAL, "tg_cross_entropy: labels is "   \
      "NULL", ptr(tg_cross_entropy(f->t, f->a34, NULL)))                     \
    X(cross_entropy_label_too_big, TG_EINVAL, "tg_cross_entropy: label 4 in " \
      "row 1 is outside 0..3", cross_entropy_label(f, 4))                    \
    X(cross_entropy_label_negative, TG_EINVAL, "label -1 in row 1",          \
      cross_entropy_label(f, -1))                                            \
    X(mse_shapes_differ, TG_ESHAPE, "tg_mse_loss: shapes (3,4) and (5,) "    \
      "differ", ptr(tg_mse_loss(f->t, f->a34, f->b5)))                       \
    X(linear_shapes, TG_ESHAPE, "tg_linear: x (3,4) and W (5,)",             \
      ptr(tg_linear(f->t, f->a34, f->b5, NULL)))                             \
    /* Comparisons and selection. */                                        \
    X(gt_no_broadcast, TG_ESHAPE, "tg_gt: shapes (3,4) and (5,) do not "     \
      "broadcast", ptr(tg_gt(f->t, f->a34, f->b5)))                          \
    X(eq_dtype_mix, TG_EDTYPE, "tg_eq: inputs are f32 and f64",              \
      ptr(tg_eq(f->t, f->a34, f->d34)))                                      \
    X(ne_null_tape, TG_EINVAL, "tg_ne: tape is NULL",                        \
      ptr(tg_ne(NULL, f->a34, f->a34)))                                      \
    X(le_scalar_null_input, TG_EINVAL, "tg_le_scalar: tensor is NULL",       \
      ptr(tg_le_scalar(f->t, NULL, 0.5)))                                    \
    X(where_no_broadcast, TG_ESHAPE, "tg_where: shapes cond (3,4), a (5,) "  \
      "and b () do not broadcast", ptr(tg_where(f->t, f->a34, f->b5, f->s))) \
    X(where_dtype_mix, TG_EDTYPE, "tg_where: inputs are f64 and f32",        \
      ptr(tg_where(f->t, f->d34, f->a34, f->a34)))                           \
    X(clamp_nan_bound, TG_EINVAL, "tg_clamp: bounds are -1 and nan; they "   \
      "must not be NaN", ptr(tg_clamp(f->t, f->a34, -1, NAN)))                \
    X(cast_unknown_dtype, TG_EDTYPE, "tg_cast: unknown dtype 3",             \
      ptr(tg_cast(f->t, f->a34, (tg_dtype)3)))                               \
    X(detach_of_stale, TG_ESTATE, "tg_detach: tensor was freed by a reset",  \
      detach_of_stale(f))                                                    \
    X(argmax_bad_axis, TG_EINVAL, "tg_argmax: axis -3 is out of range for "  \
      "shape (3,4)", ptr(tg_argmax(f->t, f->a34, -3, false)))                \
    /* Pooling, dropout, batch norm. */                                    \
    X(max_pool2d_of_matrix, TG_ESHAPE, "tg_max_pool2d: x has shape (3,4); "  \
      "it must be (N, C, H, W) or (C, H, W)",                                \
      ptr(tg_max_pool2d(f->t, f->a34, &(tg_pool2d_options){{2, 2}, {2, 2},   \
                                                           {0, 0}, {1, 1},   \
                                                           true})))          \
    X(max_pool2d_null_options, TG_EINVAL, "tg_max_pool2d: the options are "  \
      "NULL", ptr(tg_max_pool2d(f->t, f->a34, NULL)))                        \
    X(max_pool2d_zero_kernel, TG_EINVAL, "tg_max_pool2d: kernel (0, 2)",     \
      pool_kernel(f, 0, 0, 2, 0, 1))                                         \
    X(max_pool2d_big_padding, TG_EINVAL, "tg_max_pool2d: padding (2, 0) "    \
      "with kernel (3, 3)", pool_kernel(f, 0, 3, 3, 2, 1))                   \
    X(max_pool2d_window_too_big, TG_ESHAPE, "tg_max_pool2d: x has shape "    \
      "(1,3,4), kernel (2, 5)", pool_kernel(f, 0, 2, 5, 0, 1))               \
    X(max_pool2d_dilated_too_big, TG_ESHAPE, "dilation (3, 1); the window "  \
      "does not fit", pool_kernel(f, 0, 2, 2, 0, 3))                         \
    X(avg_pool2d_dilation, TG_EINVAL, "tg_avg_pool2d: dilation (2, 1); "     \
      "average pooling has none", pool_kernel(f, 1, 1, 1, 0, 2))             \
    X(adaptive_zero_output, TG_EINVAL, "tg_adaptive_avg_pool2d: output size " \
      "(0, 2) for x of shape (1,3,4)",                                       \
      ptr(tg_adaptive_avg_pool2d(f->t, tg_ones(f->t, TG_F32, 3, s134), 0, 2))) \
    X(adaptive_huge_output, TG_EINVAL, "tg_adaptive_avg_pool2d: output "    \
      "size (1, 4611686018427387904)",                                       \
      ptr(tg_adaptive_avg_pool2d(f->t, tg_ones(f->t, TG_F32, 3, s134), 1,    \
                                 (int64_t)1 << 62)))                         \
    X(adaptive_of_vector, TG_ESHAPE, "tg_adaptive_avg_pool2d: x has shape "  \
      "(5,)", ptr(tg_adaptive_avg_pool2d(f->t, f->b5, 1, 1)))                \
    X(dropout_p_one, TG_EINVAL, "tg_dropout: p is 1; it must be in [0, 1)",  \
      dropout_refused(f, 1.0, true))                                         \
    X(dropout_p_negative, TG_EINVAL, "tg_dropout: p is -0.1",                \
      dropout_refused(f, -0.1, true))                                        \
    X(dropout_p_nan, TG_EINVAL, "tg_dropout: p is nan",                      \
      dropout_refused(f, NAN, true))                                         \
    X(dropout_unseeded, TG_ESTATE, "tg_dropout: rng was never seeded",       \
      dropout_refused(f, 0.5, false))                                        \
    X(dropout_null_rng, TG_EINVAL, "tg_dropout: rng is NULL",                \
      ptr(tg_dropout(f->t, f->a34, 0.5, NULL, true)))                        \
    X(batch_norm_one_per_channel, TG_ESHAPE, "tg_batch_norm: x has shape "   \
      "(1,4), one value per channel",                                        \
      bn_refused(f, tg_ones(f->t, TG_F32, 2, s14), NULL, 4, TG_F32, true,    \
                 1e-5))                                                      \
    X(batch_norm_weight_shape, TG_ESHAPE, "tg_batch_norm: weight has shape " \
      "(5,) for x of shape (3,4); it must be (4)",                           \
      bn_refused(f, f->a34, f->b5, 4, TG_F32, true, 1e-5))                   \
    X(batch_norm_running_shape, TG_ESHAPE, "tg_batch_norm: running_mean has " \
      "shape (3,) for x of shape (3,4)",                                     \
      bn_refused(f, f->a34, NULL, 3, TG_F32, true, 1e-5))                    \
    X(batch_norm_dtype_mix, TG_EDTYPE, "tg_batch_norm: inputs are f32 and "  \
      "f64", bn_refused(f, f->a34, NULL, 4, TG_F64, true, 1e-5))             \
    X(batch_norm_zero_eps, TG_EINVAL, "tg_batch_norm: eps 0 and momentum "   \
      "0.1", bn_refused(f, f->a34, NULL, 4, TG_F32, false, 0.0))             \
    X(batch_norm_of_vector, TG_ESHAPE, "tg_batch_norm: x has shape (5,)",    \
      ptr(tg_batch_norm(f->t, f->b5, NULL, NULL, NULL, NULL, true, 0.1,      \
                        1e-5)))                                              \
    X(batch_norm_one_running, TG_EINVAL, "tg_batch_norm: running_mean is "   \
      "given and running_var NULL",                                          \
      ptr(tg_batch_norm(f->t, f->a34, tg_zeros(f->t, TG_F32, 1, n4), NULL,   \
                        NULL, NULL, true, 0.1, 1e-5)))                       \
    X(batch_norm_eval_without_running, TG_EINVAL, "tg_batch_norm: eval mode " \
      "(training false) needs running_mean and running_var",                 \
      ptr(tg_batch_norm(f->t, f->a34, NULL, NULL, NULL, NULL, false, 0.1,    \
                        1e-5)))                                              \
    /* Convolutions. */                                                     \
    X(conv_kernel_too_big, TG_ESHAPE, "tg_conv2d: x (1,1,4,4) with padding " \
      "(0,0) is 4x4, smaller than the 5x5 kernel of weight (6,1,5,5) at "    \
      "dilation (1,1)", conv_call(f, 2, 4, (int64_t[]){1, 1, 4, 4},          \
                                  (int64_t[]){6, 1, 5, 5}, TG_F32,           \
                                  tg_conv_defaults()))                       \
    X(conv_stride_zero, TG_EINVAL, "tg_conv2d: stride (0,1) must be at "     \
      "least 1", conv_opts(f, 0))                                            \
    X(conv_dilation_zero, TG_EINVAL, "tg_conv2d: dilation (0,1) must be at " \
      "least 1", conv_opts(f, 1))                                            \
    X(conv_negative_padding, TG_EINVAL, "tg_conv2d: padding (0,-1) must not " \
      "be negative", conv_opts(f, 2))                                        \
    X(conv_groups_divide, TG_ESHAPE, "tg_conv2d: x (1,4,5,5) has 4 "         \
      "channels, which groups 3 does not divide",                            \
      conv_call(f, 2, 4, (int64_t[]){1, 4, 5, 5}, (int64_t[]){6, 2, 3, 3},   \
                TG_F32, (tg_conv_options){{1, 1}, {0, 0}, {1, 1}, 3}))       \
    X(conv_groups_outputs, TG_ESHAPE, "tg_conv1d: weight (5,2,3) has 5 "     \
      "output channels, which groups 2 does not divide",                     \
      conv_call(f, 1, 3, (int64_t[]){1, 4, 5}, (int64_t[]){5, 2, 3},         \
                TG_F32, (tg_conv_options){{1, 1}, {0, 0}, {1, 1}, 2}))       \
    X(conv_channel_mismatch, TG_ESHAPE, "tg_conv2d: weight (6,2,3,3) takes " \
      "2 input channels per group, but x (1,3,5,5) has 3 channels in 1 "     \
      "group(s)", conv_call(f, 2, 4, (int64_t[]){1, 3, 5, 5},                \
                            (int64_t[]){6, 2, 3, 3}, TG_F32,                 \
                            tg_conv_defaults()))                             \
    X(conv_wrong_rank, TG_ESHAPE, "tg_conv2d: x (3,4) must have 4 dims "     \
      "(N, C, H, W)", ptr(tg_conv2d(f->t, f->a34, f->a34, NULL, NULL)))      \
    X(conv1d_weight_rank, TG_ESHAPE, "tg_conv1d: weight (3,4) must have 3 "  \
      "dims (O, C / groups, kL)",                                            \
      ptr(tg_conv1d(f->t, tg_zeros(f->t, TG_F32, 3, (int64_t[]){1, 3, 5}),  \
                    f->a34, NULL, NULL)))                                    \
    X(conv_dtype_mix, TG_EDTYPE, "tg_conv2d: inputs are f32 and f64",        \
      conv_call(f, 2, 4, (int64_t[]){1, 2, 5, 5}, (int64_t[]){3, 2, 3, 3},   \
                TG_F64, tg_conv_defaults()))                                 \
    /* Networks and optimizers. */                                           \
    X(mlp_one_width, TG_EINVAL, "tg_mlp_new: needs at least 2 widths",       \
      mlp_new_widths(f, 1, (int64_t[]){4}))                                  \
    X(mlp_zero_width, TG_EINVAL, "sizes 4 -> 0 must be at least 1",          \
      mlp_new_widths(f, 3, (int64_t[]){4, 0, 2}))                            \
    X(mlp_null_widths, TG_EINVAL, "tg_mlp_new", mlp_new_widths(f, 3, NULL))  \
    X(mlp_wrong_input, TG_ESHAPE, "tg_linear: x (3,4) and W (2,5)",          \
      mlp_wrong_input(f))                                                    \
    X(mlp_null_tape, TG_EINVAL, "tg_mlp_new: tape is NULL",                  \
      ptr(tg_mlp_new(NULL, NULL, &(tg_rng){0}, TG_F32, 2, (int64_t[]){2, 2}, \
                     tg_relu)))                                              \
    X(mlp_forward_null, TG_EINVAL, "tg_mlp_forward: network is NULL",        \
      ptr(tg_mlp_forward(f->t, NULL, f->a34)))                               \
    X(hinge_shapes, TG_ESHAPE, "tg_hinge_loss: scores (3,4) and labels (5,)", \
      ptr(tg_hinge_loss(f->t, f->a34, f->b5)))                               \
    X(l2_null_params, TG_EINVAL, "tg_l2_penalty: parameter list is NULL",    \
      ptr(tg_l2_penalty(f->t, NULL, 0.1)))                                   \
    X(l2_empty_params, TG_EINVAL, "tg_l2_penalty: the parameter list is "    \
      "empty", ptr(tg_l2_penalty(f->t, tg_params_new(f->t), 0.1)))           \
    X(params_add_stale, TG_ESTATE, "tg_params_add: parameter list was "      \
      "freed by a reset of its tape", params_add_stale(f))                   \
    X(params_add_twice, TG_EINVAL, "tg_params_add: the tensor is already "   \
      "parameter 0", params_add_twice(f))                                    \
    X(optimizer_step_stale_param, TG_ESTATE, "tg_optimizer_step: "           \
      "parameter 0 was freed by a reset", optimizer_step_stale_param(f))     \
    X(optimizer_step_stale, TG_ESTATE, "tg_optimizer_step: optimizer was "   \
      "freed by a reset", optimizer_step_stale(f))                           \
    X(mlp_forward_stale, TG_ESTATE, "tg_mlp_forward: network was freed",     \
      mlp_forward_stale(f))                                                  \
    X(backward_after_write, TG_ESTATE, "tg_backward: input 0 of mul "        \
      "(leaf (3,4) f32) was modified in place", backward_after_write(f))     \
    X(backward_foreign_intermediate, TG_ESTATE, "tg_backward: input 1 of "   \
      "mul (#0 () f32) was made by an op recorded on another tape",          \
      backward_foreign_intermediate(f))                                      \
    X(tape_print_stale_input, TG_ESTATE, "tg_tape_print: tensor was freed "  \
      "by a reset of its tape (input 1 of mul)", tape_print_stale_input(f))  \
    X(forward_returns_leaf, TG_EINVAL, "tg_steal: forward returned a tensor " \
      "that existed before the call (a leaf)", forward_returns_leaf(f))      \
    X(params_add_null, TG_EINVAL, "tg_params_add: tensor is NULL",           \
      tg_params_add(tg_params_new(f->t), NULL))                              \
    X(params_at_empty, TG_EINVAL,                                            \
      "tg_params_at: index 0, but the parameter list is empty",              \
      ptr(tg_params_at(tg_params_new(f->t), 0)))                             \
    X(sgd_negative_lr, TG_EINVAL, "tg_sgd_new: lr -1",                       \
      ptr(tg_sgd_new(f->t, tg_params_new(f->t),                              \
                     &(tg_sgd_options){.lr = -1})))                          \
    X(sgd_nan_momentum, TG_EINVAL, "tg_sgd_new: lr 0.1, momentum nan",       \
      ptr(tg_sgd_new(f->t, tg_params_new(f->t),                              \
                     &(tg_sgd_options){.lr = 0.1, .momentum = NAN})))        \
    X(adam_beta_one, TG_EINVAL, "betas (0.9, 1) in [0, 1)",                  \
      ptr(tg_adam_new(f->t, tg_params_new(f->t), &(tg_adam_options){         \
          .lr = 1e-3, .beta1 = 0.9, .beta2 = 1.0, .eps = 1e-8})))            \
    X(optimizer_on_failed_params, TG_EINVAL, "tg_params_new: tape is NULL",  \
      optimizer_on_failed_params(f))                                         \
    X(optimizer_step_null, TG_EINVAL, "tg_optimizer_step: optimizer is NULL", \
      tg_optimizer_step(NULL))                                               \
    /* Reading and writing model files. */                                   \
    X(load_npy_missing_file, TG_EIO, "No such file or directory",            \
      ptr(tg_npy_load(f->t, in_dir(f, "missing.npy"))))                      \
    X(load_npz_missing_file, TG_EIO, "No such file or directory",            \
      ptr(tg_npz_load(f->t, in_dir(f, "missing.npz"))))                      \
    X(load_npz_entry_missing_file, TG_EIO, "No such file or directory",      \
      ptr(tg_npz_load_entry(f->t, in_dir(f, "missing.npz"), "w")))           \
    X(load_npy_folder, TG_EIO, "tg_npy_load: ", ptr(tg_npy_load(f->t,        \
                                                                f->dir)))    \
    X(save_npy_missing_folder, TG_EIO, "No such file or directory",          \
      tg_npy_save(in_dir(f, "missing/w.npy"), f->a34))                       \
    X(save_npz_missing_folder, TG_EIO, "No such file or directory",          \
      tg_npz_save(in_dir(f, "missing/m.npz"), 1, (const char *[]){"w"},      \
                  (const tg_tensor *[]){f->a34}))                            \
    X(save_npy_null_path, TG_EINVAL, "tg_npy_save: path is NULL",            \
      tg_npy_save(NULL, f->a34))                                             \
    X(save_npy_null_tensor, TG_EINVAL, "tensor is NULL",                     \
      tg_npy_save(in_dir(f, "w.npy"), NULL))                                 \
    X(save_npz_repeated_name, TG_EINVAL, "tg_npz_save: name 'w' is given",   \
      tg_npz_save(in_dir(f, "m.npz"), 2, (const char *[]){"w", "w"},         \
                  (const tg_tensor *[]){f->a34, f->b5}))                     \
    X(save_npz_empty_name, TG_EINVAL, "tg_npz_save: name 0 is",              \
      tg_npz_save(in_dir(f, "m.npz"), 1, (const char *[]){""},               \
                  (const tg_tensor *[]){f->a34}))                            \
    X(load_npy_lying_shape, TG_EFORMAT, "tg_npy_load: ", npy_lying_shape(f)) \
    X(npy_parse_garbage, TG_EFORMAT, "tg_npy_parse: ", npy_parse_garbage(f)) \
    X(npy_parse_null, TG_EINVAL, "tg_npy_parse: ",                           \
      ptr(tg_npy_parse(f->t, NULL, 10)))                                     \
    X(npz_get_missing, TG_ENOTFOUND, "tg_npz_get: no array named "           \
      "'nonesuch'", npz_get_missing(f))                                      \
    X(npz_entry_missing, TG_ENOTFOUND, "tg_npz_load_entry: ",                \
      npz_entry_missing(f))                                                  \
    X(idx_truncated, TG_EFORMAT, "tg_idx_parse: ", idx_truncated(f))         \
    X(idx_huge_dims, TG_EFORMAT, "tg_idx_parse: ", idx_huge_dims(f))         \
    X(idx_labels_of_floats, TG_EFORMAT, "tg_idx_parse_labels: ",             \
      idx_labels_of_floats(f))                                               \
    X(idx_null_data, TG_EINVAL, "tg_idx_parse: ",                            \
      ptr(tg_idx_parse(f->t, NULL, 16, TG_F32, 1.0)))                        \
    /* Looking inside. */                                                    \
    X(tape_print_null_file, TG_EINVAL, "tg_tape_print: tape or file is "     \
      "NULL", tg_tape_print(f->t, NULL))                                     \
    X(tape_dot_null_tape, TG_EINVAL, "tg_tape_dot: ",                        \
      tg_tape_dot(NULL, stderr))                                             \
    X(set_name_null, TG_EINVAL, "tg_set_name: name is NULL",                 \
      tg_set_name(f->a34, NULL))                                             \
    X(set_name_long, TG_OK, "", set_name_long(f))                            \
    X(anomaly_log_negative, TG_ENUMERIC, "anomaly: the output of log",       \
      anomaly_log_negative(f))                                               \
    X(set_name_stale, TG_ESTATE, "freed by a reset", set_name_of_stale(f))   \
    /* Gradients as tensors (tapegrad/vjp.h) and gradgradcheck. */          \
    X(vjp_create_graph_grad_disabled, TG_EINVAL, "tg_vjp: create_graph on a " \
      "tape with grad disabled", vjp_grad_disabled(f))                       \
    X(vjp_unused_error, TG_EINVAL, "tg_vjp: input 1 is not used by the "     \
      "outputs", vjp_unused(f, TG_UNUSED_ERROR))                             \
    X(vjp_unused_null, TG_OK, "", vjp_unused(f, TG_UNUSED_NULL))             \
    X(vjp_unused_zeros, TG_OK, "", vjp_unused(f, TG_UNUSED_ZEROS))           \
    X(vjp_unused_unknown, TG_EINVAL, "tg_vjp: unknown unused option 7",      \
      vjp_row(f, NULL, 1, NULL, NULL, 1, NULL,                               \
              vjp_opts(false, (tg_unused)7)))                                \
    X(vjp_grad_output_shape, TG_ESHAPE, "tg_vjp: grad_output 0 has shape "   \
      "(5,); output 0 has (3,4)", vjp_row(f, NULL, 1, tg_tanh(f->t, f->a34), \
                                          f->b5, 1, NULL,                    \
                                          tg_vjp_defaults()))                \
    X(vjp_grad_output_dtype, TG_EDTYPE, "tg_vjp: grad_output 0 is f64; "     \
      "output 0 is f32", vjp_row(f, NULL, 1, tg_tanh(f->t, f->a34), f->d34,  \
                                 1, NULL, tg_vjp_defaults()))                \
    X(vjp_grad_output_missing, TG_EINVAL, "tg_vjp: output 0 has shape "      \
      "(3,4); give its grad_output", vjp_row(f, NULL, 1,                    \
                                              tg_tanh(f->t, f->a34), NULL,   \
                                              1, NULL, tg_vjp_defaults()))   \
    X(vjp_user_op_first_order, TG_OK, "", vjp_through_user_op(f, false))     \
    X(vjp_user_op_create_graph, TG_EINVAL, "tg_vjp: twice has no "           \
      "derivative written with ops", vjp_through_user_op(f, true))           \
    X(vjp_null_tape, TG_EINVAL, "tg_vjp: tape is NULL", vjp_null_arrays(f, 0)) \
    X(vjp_null_outputs, TG_EINVAL, "tg_vjp: outputs is NULL",                \
      vjp_null_arrays(f, 1))                                                 \
    X(vjp_null_inputs, TG_EINVAL, "tg_vjp: inputs is NULL",                  \
      vjp_null_arrays(f, 2))                                                 \
    X(vjp_null_grads, TG_EINVAL, "tg_vjp: grads is NULL",                    \
      vjp_null_arrays(f, 3))                                                 \
    X(vjp_no_outputs, TG_EINVAL, "tg_vjp: 0 outputs and 1 inputs",           \
      vjp_row(f, NULL, 0, NULL, NULL, 1, NULL, tg_vjp_defaults()))           \
    X(vjp_negative_inputs, TG_EINVAL, "tg_vjp: 1 outputs and -1 inputs",     \
      vjp_row(f, NULL, 1, NULL, NULL, -1, NULL, tg_vjp_defaults()))          \
    X(vjp_null_output, TG_EINVAL, "tg_vjp: tensor is NULL",                  \
      vjp_row(f, NULL, 1, NULL, NULL, 1, (tg_tensor *[]){NULL},              \
              tg_vjp_defaults()))                                            \
    X(vjp_output_other_tape, TG_ESTATE, "tg_vjp: output 0 belongs to "       \
      "another tape", vjp_output_other_tape(f))                               \
    X(vjp_output_without_history, TG_ESTATE, "tg_vjp: output 0 has no "      \
      "history", vjp_row(f, NULL, 1, tg_sum(f->t, f->b5), NULL, 1, NULL,     \
                         tg_vjp_defaults()))                                 \
    X(vjp_input_without_grad, TG_EINVAL, "tg_vjp: input 0 does not require " \
      "grad", vjp_row(f, NULL, 1, NULL, NULL, 1, &f->b5, tg_vjp_defaults())) \
    X(vjp_stale_output, TG_ESTATE, "tg_vjp: tensor was freed by a reset",    \
      vjp_stale_output(f))                                                   \
    X(jvp_null_tape, TG_EINVAL, "tg_jvp: tape is NULL", jvp_many_null_tape(f)) \
    X(jvp_null_tangents, TG_EINVAL, "tg_jvp: tangents is NULL",               \
      jvp_row(f, NULL, 1, false, 1, NULL, NULL, true, false, NULL))          \
    X(jvp_null_jvps, TG_EINVAL, "tg_jvp: the results array is NULL",         \
      jvp_row(f, NULL, 1, false, 1, NULL, NULL, false, true, NULL))          \
    X(jvp_no_outputs, TG_EINVAL, "tg_jvp: 0 outputs and 1 inputs",           \
      jvp_row(f, NULL, 0, false, 1, NULL, NULL, false, false, NULL))         \
    X(jvp_tangent_shape, TG_ESHAPE, "tg_jvp: tangent 0 has shape (5,); "     \
      "input 0 has (3,4)", jvp_row(f, NULL, 1, true, 1, NULL, f->b5, false, \
                                    false, NULL))                            \
    X(jvp_tangent_dtype, TG_EDTYPE, "tg_jvp: tangent 0 is f64; input 0 is "  \
      "f32", jvp_row(f, NULL, 1, true, 1, NULL, f->d34, false, false, NULL)) \
    X(jvp_input_without_grad, TG_EINVAL, "tg_jvp: input 0 does not require " \
      "grad", jvp_row(f, NULL, 1, true, 1, &f->b5, NULL, false, false,      \
                      NULL))                                                 \
    X(jvp_output_without_history, TG_ESTATE, "tg_jvp: output 0 has no "      \
      "history", jvp_output_no_history(f))                                   \
    X(jvp_grad_disabled, TG_OK, "", products_grad_disabled(f, false, false)) \
    X(jvp_create_graph_grad_disabled, TG_EINVAL, "tg_jvp: create_graph on a " \
      "tape with grad disabled", products_grad_disabled(f, false, true))     \
    X(jvp_user_op, TG_EINVAL, "tg_jvp: tg_vjp: twice has no derivative "     \
      "written with ops", jvp_through_user_op(f))                                                \
    X(jvp_unused_input, TG_OK, "", jvp_unused_input(f))                      \
    X(hvp_null_f, TG_EINVAL, "tg_hvp: tensor is NULL",                       \
      tg_hvp(f->t, NULL, 1, &f->a34, &f->a34, (tg_tensor *[1]){0}, NULL))   \
    X(hvp_f_not_scalar, TG_EINVAL, "tg_hvp: f has shape (3,4); it must "    \
      "have one element", hvp_not_scalar(f))                                 \
    X(hvp_null_vectors, TG_EINVAL, "tg_hvp: vectors is NULL",                 \
      hvp_row(f, NULL, 1, NULL, NULL, true, false))                          \
    X(hvp_null_hvps, TG_EINVAL, "tg_hvp: the results array is NULL",         \
      hvp_row(f, NULL, 1, NULL, NULL, false, true))                          \
    X(hvp_no_inputs, TG_EINVAL, "tg_hvp: 1 outputs and 0 inputs",            \
      hvp_row(f, NULL, 0, NULL, NULL, false, false))                         \
    X(hvp_vector_shape, TG_ESHAPE, "tg_hvp: vector 0 has shape (5,); input 0 " \
      "has (3,4)", hvp_vector_row(f, 0))                                    \
    X(hvp_vector_dtype, TG_EDTYPE, "tg_hvp: vector 0 is f64; input 0 is "    \
      "f32", hvp_vector_row(f, 1))                                           \
    X(hvp_grad_disabled, TG_OK, "", products_grad_disabled(f, true, false))  \
    X(hvp_create_graph_grad_disabled, TG_EINVAL, "tg_hvp: create_graph on a " \
      "tape with grad disabled", products_grad_disabled(f, true, true))      \
    X(hvp_user_op, TG_EINVAL, "tg_hvp: tg_vjp: twice has no derivative "     \
      "written with ops", hvp_through_user_op(f))                                                \
    X(gradgradcheck_null_fn, TG_EINVAL, "tg_gradgradcheck: fn is NULL",      \
      ggc_row(f, NULL, 1, false, false))                                     \
    X(gradgradcheck_null_inputs, TG_EINVAL, "tg_gradgradcheck: inputs is "   \
      "NULL", ggc_row(f, ggc_tanh, 1, true, false))                          \
    X(gradgradcheck_null_report, TG_EINVAL, "tg_gradgradcheck: report is "   \
      "NULL", ggc_row(f, ggc_tanh, 1, false, true))                          \
    X(gradgradcheck_no_inputs, TG_EINVAL, "tg_gradgradcheck: n must be "     \
      "1..64", ggc_row(f, ggc_tanh, 0, false, false))                        \
    X(gradgradcheck_65_inputs, TG_EINVAL, "tg_gradgradcheck: n must be "     \
      "1..64", ggc_row(f, ggc_tanh, 65, false, false))                       \
    X(jvp_output_other_tape, TG_ESTATE, "tg_jvp: output 0 belongs to "       \
      "another tape", products_output_other_tape(f, false))                  \
    X(hvp_f_other_tape, TG_ESTATE, "tg_hvp: output 0 belongs to another "    \
      "tape", products_output_other_tape(f, true))                           \
    X(gradgradcheck_two_tapes, TG_OK, "", ggc_inputs_on_two_tapes(f))        \
    X(gradgradcheck_user_op, TG_EINVAL, "tg_gradgradcheck: tg_gradcheck: "   \
      "the function failed at the inputs' values: tg_vjp: twice has no "     \
      "derivative written with ops",                                         \
      ggc_row(f, ggc_twice, 1, false, false))                                \
    /* Random numbers. */                                                    \
    X(rng_seed_null, TG_EINVAL, "tg_rng_seed: rng is NULL",                  \
      tg_rng_seed(NULL, 1, 2))                                               \
    X(rng_uniform_null, TG_EINVAL, "rng is NULL", rng_uniform_null(f))       \
    X(rng_bounded_zero, TG_EINVAL, "tg_rng_bounded: bound is 0",             \
      rng_bounded_zero(f))                                                   \
    X(rng_shuffle_negative, TG_EINVAL, "tg_rng_shuffle: n is -1",            \
      rng_shuffle_negative(f))                                               \
    X(rand_unseeded, TG_ESTATE, "tg_rand_uniform: rng was never seeded",     \
      rand_unseeded(f))                                                      \
    X(rand_empty_range, TG_EINVAL, "tg_rand_uniform: the range [1, 1) is "   \
      "not finite and non-empty", rand_empty_range(f))                       \
    X(rand_negative_std, TG_EINVAL, "std -1 must be finite, std >= 0",       \
      rand_negative_std(f))                                                  \
    X(rand_bad_shape, TG_EINVAL, "tg_rand_normal: dimension 1 has size 0",   \
      rand_bad_shape(f))                                                     \
    /* seq: layer norm, attention, recurrent cells (tapegrad/sequence.h). */ \
    X(layer_norm_shape_mismatch, TG_ESHAPE, "tg_layer_norm: normalized "     \
      "shape (5,) does not match the last dims of x (3,4)",                  \
      seq_unchanged(f, ptr(tg_layer_norm(f->t, f->a34, 1, (int64_t[]){5},    \
                                         NULL, NULL, 1e-5))))                \
    X(layer_norm_weight_shape, TG_ESHAPE, "tg_layer_norm: weight (5,) must " \
      "have the normalized shape, the last dims of x (3,4)",                 \
      seq_unchanged(f, ptr(tg_layer_norm(f->t, f->a34, 1, (int64_t[]){4},    \
                                         f->b5, NULL, 1e-5))))               \
    X(layer_norm_negative_eps, TG_EINVAL, "tg_layer_norm: eps -1 must be",   \
      seq_unchanged(f, ptr(tg_layer_norm(f->t, f->a34, 1, (int64_t[]){4},    \
                                         NULL, NULL, -1))))                  \
    X(layer_norm_no_dims, TG_EINVAL, "tg_layer_norm: normalized shape of 0", \
      seq_unchanged(f, ptr(tg_layer_norm(f->t, f->a34, 0, NULL, NULL, NULL,  \
                                         1e-5))))                            \
    X(sdpa_head_dims_disagree, TG_ESHAPE, "tg_scaled_dot_product_attention: " \
      "the head dims of q (3,4) and k (3,5) disagree",                       \
      sdpa_shapes(f, 3, 5, 3, false))                                        \
    X(sdpa_causal_not_square, TG_ESHAPE, "a causal mask needs square "       \
      "scores, but q (3,4) and k (2,4) give 3 x 2",                          \
      sdpa_shapes(f, 2, 4, 2, true))                                         \
    X(sdpa_lengths_differ, TG_ESHAPE, "k (3,4) and v (2,2) differ in length", \
      sdpa_shapes(f, 3, 4, 2, false))                                        \
    X(sdpa_dtype_mix, TG_EDTYPE, "tg_scaled_dot_product_attention: inputs "  \
      "are f32 and f64", seq_unchanged(f, ptr(                               \
          tg_scaled_dot_product_attention(f->t, f->a34, f->d34, f->a34,      \
                                          false))))                          \
    X(gru_hidden_mismatch, TG_ESHAPE, "tg_gru_cell_forward: h (3,5) has "    \
      "hidden size 5, but w_hh (12,4) is for hidden size 4",                 \
      gru_hidden_mismatch(f))                                                \
    X(gru_input_mismatch, TG_ESHAPE, "tg_gru_cell_forward: x (3,4) has "     \
      "input size 4, but w_ih (12,5) is for input size 5",                   \
      gru_input_mismatch(f))                                                 \
    X(lstm_state_mismatch, TG_ESHAPE, "tg_lstm_cell_forward: c (3,6) has "   \
      "hidden size 6, but w_hh (16,4) is for hidden size 4",                 \
      lstm_state_mismatch(f))                                                \
    X(gru_null_cell, TG_EINVAL, "tg_gru_cell_forward: cell is NULL",         \
      seq_unchanged(f, ptr(tg_gru_cell_forward(f->t, NULL, f->a34, f->a34)))) \
    X(mha_heads_do_not_divide, TG_EINVAL, "tg_mha_init: embedding size 6 "   \
      "must be a positive multiple of the 4 heads",                          \
      tg_mha_init(&(tg_mha){0}, f->t, NULL, &(tg_rng){0}, TG_F32, 6, 4))     \
    X(mha_wrong_width, TG_ESHAPE, "tg_mha_forward: x (3,4) must be (B, L, "  \
      "6) or (L, 6)", mha_wrong_width(f))                                    \
    /* index.h: picking by index, splitting, losses by class. */            \
    X(gather_out_of_range, TG_EINVAL, "tg_gather: index 4 at position 1 of " \
      "index (3,1) is not a whole number in 0..3 (axis 1 of x (3,4))",       \
      gather_out_of_range(f))                                                \
    X(gather_negative, TG_EINVAL, "tg_gather: index -1 at position 2",       \
      gather_negative(f))                                                    \
    X(gather_fraction, TG_EINVAL, "tg_gather: index 1.5 at position 0",      \
      gather_fraction(f))                                                    \
    X(gather_too_many_rows, TG_ESHAPE, "tg_gather: index (4,1) is larger "   \
      "than x (3,4) in dim 0", gather_too_many_rows(f))                      \
    X(gather_dtype_mix, TG_EDTYPE, "tg_gather: inputs are f32 and f64",      \
      gather_dtype_mix(f))                                                   \
    X(gather_dims_differ, TG_ESHAPE, "tg_gather: index (5,) and x (3,4) "    \
      "have different numbers of dims", gather_dims_differ(f))               \
    X(scatter_add_src_shape, TG_ESHAPE, "tg_scatter_add: index (1,2) and "   \
      "src (3,4) must have the same shape", scatter_add_src_shape(f))        \
    X(index_select_out_of_range, TG_EINVAL, "tg_index_select: index 4 at "   \
      "position 1 is outside 0..3 (axis 1 of x (3,4))",                      \
      index_select_out_of_range(f))                                          \
    X(index_select_negative, TG_EINVAL, "tg_index_select: index -1 at "      \
      "position 0 is outside 0..2", index_select_negative(f))                \
    X(index_select_null_array, TG_EINVAL, "tg_index_select: the index "     \
      "array is NULL",                                                       \
      ptr(tg_index_select(f->t, f->a34, 0, 2, NULL)))                        \
    X(index_select_null_tape, TG_EINVAL, "tg_index_select: tape is NULL",    \
      ptr(tg_index_select(NULL, f->a34, 0, 1, (const int64_t[]){0})))        \
    X(index_select_no_index, TG_EINVAL, "tg_index_select: n is 0; there "   \
      "must be at least one index",                                          \
      ptr(tg_index_select(f->t, f->a34, 0, 0, (const int64_t[]){0})))        \
    X(index_select_bad_axis, TG_EINVAL, "tg_index_select: axis 2 is out of " \
      "range for shape (3,4)",                                               \
      ptr(tg_index_select(f->t, f->a34, 2, 1, (const int64_t[]){0})))        \
    X(embedding_out_of_range, TG_EINVAL, "tg_embedding: index 3 at position "\
      "2 is outside 0..2 (axis 0 of weight (3,4))",                          \
      embedding_out_of_range(f))                                             \
    X(embedding_negative, TG_EINVAL, "tg_embedding: index -2 at position 0", \
      embedding_negative(f))                                                 \
    X(embedding_bad_padding, TG_EINVAL, "tg_embedding: padding_idx 3 is "    \
      "outside -1..2 (-1 for none; weight (3,4))", embedding_bad_padding(f)) \
    X(embedding_not_2d, TG_ESHAPE, "tg_embedding: weight has shape (5,); it "\
      "must be (num_embeddings, dim)",                                       \
      ptr(tg_embedding(f->t, f->b5, 1, (const int64_t[]){0}, -1)))           \
    X(split_size_zero, TG_EINVAL, "tg_split: size is 0; it must be at least "\
      "1", tg_split(f->t, f->a34, 0, 0, 4, (tg_tensor *[4]){0}))             \
    X(split_cap, TG_EINVAL, "tg_split: pieces of 1 along axis 1 of x (3,4) " \
      "are 4, more than out's 2", split_cap(f))                              \
    X(split_huge_size, TG_OK, "", split_huge_size(f))                        \
    X(chunk_zero, TG_EINVAL, "tg_chunk: chunks is 0; it must be at least 1", \
      tg_chunk(f->t, f->a34, 0, 0, (tg_tensor *[1]){0}))                     \
    X(chunk_scalar, TG_ESHAPE, "tg_chunk: x has shape (); a scalar has no "  \
      "axis to split", tg_chunk(f->t, f->s, 0, 2, (tg_tensor *[2]){0}))      \
    X(nll_label, TG_EINVAL, "tg_nll_loss: label 4 in row 1 is outside 0..3 " \
      "(input (3,4))", nll_label(f))                                         \
    X(nll_not_2d, TG_ESHAPE, "tg_nll_loss: input has shape (5,); it must be "\
      "(N,C)", ptr(tg_nll_loss(f->t, f->b5, (const int64_t[]){0}, -100)))    \
    X(bce_shapes, TG_ESHAPE, "tg_bce_with_logits: logits (3,4) and target "  \
      "(5,) must have the same shape", bce_shapes(f))                        \
    X(bce_pos_weight, TG_ESHAPE, "tg_bce_with_logits: pos_weight (5,) does " \
      "not broadcast to logits (3,4)", bce_pos_weight(f))                    \
    X(ce_ex_smoothing, TG_EINVAL, "tg_cross_entropy_ex: label_smoothing is " \
      "1.5; it must be in [0, 1]", ce_ex_smoothing(f))                       \
    X(ce_ex_label, TG_EINVAL, "tg_cross_entropy_ex: label 7 in row 1 is "    \
      "outside 0..3 (input (3,4))", ce_ex_label(f))                          \
    /* Layers, schedules, clipping, checkpoints (train.h). */                \
    X(ckpt_missing, TG_ENOTFOUND, "has no array '4.weight' (the model has "  \
      "it)", ckpt_mismatch(f, train_net(f, TG_F32, 4, false), 0,             \
                           train_net(f, TG_F32, 4, true), 0))                \
    X(ckpt_extra, TG_EINVAL, "holds '4.weight', which the model does not "   \
      "have", ckpt_mismatch(f, train_net(f, TG_F32, 4, true), 0,             \
                            train_net(f, TG_F32, 4, false), 0))              \
    X(ckpt_misshaped, TG_ESHAPE, "holds '1.weight' of shape (5,6), but the " \
      "model's is (4,6)", ckpt_mismatch(f, train_net(f, TG_F32, 5, false),   \
                                        0, train_net(f, TG_F32, 4, false),   \
                                        0))                                  \
    X(ckpt_dtype, TG_EDTYPE, "holds '1.weight' as f64, but the model's is "  \
      "f32", ckpt_mismatch(f, train_net(f, TG_F64, 4, false), -1,            \
                           train_net(f, TG_F32, 4, false), -1))              \
    X(ckpt_optimizer_kind, TG_EINVAL, "holds the state of SGD, but the "     \
      "optimizer is Adam", ckpt_mismatch(f, train_net(f, TG_F32, 4, false),  \
                                         0, train_net(f, TG_F32, 4, false),  \
                                         1))                                 \
    X(ckpt_no_optimizer_state, TG_ENOTFOUND, "has no array 'optimizer.kind'" \
      , ckpt_mismatch(f, train_net(f, TG_F32, 4, false), -1,                 \
                      train_net(f, TG_F32, 4, false), 1))                    \
    X(ckpt_no_file, TG_EIO, "tg_checkpoint_load: ", ckpt_no_file(f))         \
    X(ckpt_model_and_params, TG_EINVAL, "tg_checkpoint_save: give the "      \
      "checkpoint a model or a parameter list (it has both)", ckpt_both(f))  \
    X(ckpt_params_into_model, TG_EINVAL, "holds 'params.0', which the "      \
      "model does not have", ckpt_params_into_model(f))                      \
    X(clip_norm_negative, TG_EINVAL, "tg_params_clip_grad_norm: max_norm -1 "\
      "must be >= 0", clip_refused(f, -1.0, 2.0, NAN))                       \
    X(clip_norm_nan, TG_EINVAL, "tg_params_clip_grad_norm: max_norm nan",    \
      clip_refused(f, NAN, 2.0, NAN))                                        \
    X(clip_norm_type_zero, TG_EINVAL, "norm_type 0 > 0",                     \
      clip_refused(f, 1.0, 0.0, NAN))                                        \
    X(clip_value_negative, TG_EINVAL, "tg_params_clip_grad_value: clip "     \
      "-0.5 must be >= 0", clip_refused(f, 0.0, 0.0, -0.5))                  \
    X(clip_null_params, TG_EINVAL, "tg_params_clip_grad_value: parameter "   \
      "list is NULL", tg_params_clip_grad_value(NULL, 1.0))                  \
    X(sched_step_size_zero, TG_EINVAL, "tg_lr_step_new: step_size (>= 1) 0", \
      sched_refused(f, 0))                                                   \
    X(sched_gamma_zero, TG_EINVAL, "tg_lr_exponential_new: gamma (finite, "  \
      "> 0) 0", sched_refused(f, 1))                                         \
    X(sched_eta_min_negative, TG_EINVAL, "tg_lr_cosine_new: eta_min",        \
      sched_refused(f, 2))                                                   \
    X(sched_start_zero, TG_EINVAL, "tg_lr_warmup_new: start_factor",         \
      sched_refused(f, 3))                                                   \
    X(sched_warmup_zero, TG_EINVAL, "tg_lr_warmup_cosine_new: warmup (>= 1)" \
      " 0", sched_refused(f, 4))                                             \
    X(sched_t_max_zero, TG_EINVAL, "tg_lr_cosine_new: t_max (>= 1) 0",       \
      sched_refused(f, 5))                                                   \
    X(sched_failed_optimizer, TG_EINVAL, "tg_sgd_new: lr -1",                \
      sched_failed_optimizer(f))                                             \
    X(seq_add_twice, TG_EINVAL, "tg_sequential_add: the layer is already "  \
      "in the container, as '0'", seq_add_twice(f))                          \
    X(seq_name_with_dot, TG_EINVAL, "tg_sequential_add_named: name 'a.b' "   \
      "must be non-empty and without '.'", seq_add_name(f, "a.b"))           \
    X(seq_name_repeated, TG_EINVAL, "already has a layer called 'fc'",       \
      seq_add_name(f, "fc"))                                                 \
    X(seq_wrong_input, TG_ESHAPE, "tg_linear: ", seq_wrong_input(f))         \
    X(seq_null_input, TG_EINVAL, "tg_sequential_forward: input is NULL",     \
      ptr(tg_sequential_forward(f->t, tg_sequential_new(f->t), NULL)))       \
    X(layer_null_input, TG_EINVAL, "tg_layer_forward: input is NULL",        \
      ptr(tg_layer_forward(f->t, tg_layer_flatten_new(f->t, 0), NULL)))      \
    X(layer_param_twice, TG_EINVAL, "tg_layer_add_param: the layer already " \
      "has an entry called 'bias'", layer_param_twice(f))                    \
    X(layer_activation_unknown, TG_ENOTFOUND, "tg_layer_activation_new: no " \
      "op called 'nonesuch'", ptr(tg_layer_activation_new(f->t,             \
                                                          "nonesuch")))      \
    X(layer_op_binary, TG_EINVAL, "tg_layer_op_new: op 'add' takes 2 "       \
      "inputs", layer_op_binary(f))                                          \
    X(layer_flatten_too_far, TG_ESHAPE, "tg_layer_flatten: start_dim 2, but" \
      " the input (3,4) has 2 dimensions", layer_flatten_too_far(f))         \
    X(layer_flatten_negative, TG_EINVAL, "tg_layer_flatten_new: start_dim "  \
      "-1", ptr(tg_layer_flatten_new(f->t, -1)))                             \
    X(layer_linear_zero, TG_EINVAL, "tg_layer_linear_new: "                  \
      "tg_linear_layer_init: sizes 0 -> 3", layer_linear_zero(f)) \
    /* seqlayers: the sequence layers */                                     \
    X(seq_embedding_out_of_range, TG_EINVAL, "tg_layer_forward: embedding "  \
      "layer: id 3 at position 1 of ids (2,) is not a whole number in 0..2 " \
      "(weight (3,2))", seq_embedding_ids(f, 2, (const double[]){0, 3}))    \
    X(seq_embedding_negative, TG_EINVAL, "tg_layer_forward: embedding "      \
      "layer: id -1 at position 0", seq_embedding_ids(f, 1,                  \
                                                      (const double[]){-1})) \
    X(seq_embedding_fraction, TG_EINVAL, "tg_layer_forward: embedding "      \
      "layer: id 1.5 at position 2", seq_embedding_ids(f, 3,                 \
                                          (const double[]){0, 1, 1.5}))      \
    X(seq_embedding_rank, TG_ESHAPE, "tg_layer_forward: embedding layer: "   \
      "ids (1,1,1,1,1,1,1,1) have 8 dims; at most 7", seq_embedding_rank(f)) \
    X(seq_gru_hidden_mismatch, TG_ESHAPE, "tg_layer_rnn_forward: h0 f32 "    \
      "(5,) is not (1, 3) or (3,) for an unbatched x f32: the gru layer's "  \
      "weight_hh_l0 (9,3) has hidden size 3", seq_gru_hidden_mismatch(f))   \
    X(seq_lstm_cell_state_mismatch, TG_ESHAPE, "tg_layer_rnn_forward: c0 "   \
      "f32 (5,) is not (1, 3) or (3,) for an unbatched x f32: the lstm "     \
      "layer's weight_hh_l0 (12,3)", seq_lstm_cell_state_mismatch(f))       \
    X(seq_gru_batched_h0_rows, TG_ESHAPE, "tg_layer_rnn_forward: h0 f32 "    \
      "(1,3,3) is not (1, 2, 3) or (2, 3) f32", seq_gru_batched_h0_rows(f))  \
    X(seq_rnn_state_dtype, TG_EDTYPE, "tg_layer_rnn_forward: h0 f64 (3,) "   \
      "is not (1, 3) or (3,) for an unbatched x f32", seq_rnn_state_dtype(f))\
    X(seq_gru_given_c0, TG_EINVAL, "tg_layer_rnn_forward: a GRU layer has "  \
      "no cell state", seq_gru_given_c0(f))                                  \
    X(seq_rnn_rank, TG_ESHAPE, "tg_layer_rnn_forward: x f32 (5,) must be "   \
      "(N, T, 4) or (T, 4) with T <= 2147483647", seq_rnn_rank(f))           \
    X(seq_rnn_input_size, TG_ESHAPE, "tg_layer_rnn_forward: x f32 (2,5,6) "  \
      "must be (N, T, 4)", seq_rnn_input_size(f))                            \
    X(seq_rnn_dtype, TG_EDTYPE, "tg_layer_rnn_forward: x f64 (3,4) must be " \
      "(N, T, 4) or (T, 4) with T <= 2147483647, and f32 as the gru layer's "\
      "weight_ih_l0 (9,4)", seq_rnn_dtype(f))                                \
    X(seq_rnn_not_recurrent, TG_EINVAL, "tg_layer_rnn_forward: the layer is "\
      "a flatten layer, not a GRU or LSTM layer", seq_rnn_not_recurrent(f))  \
    X(seq_mha_width, TG_ESHAPE, "tg_mha_forward: x (3,4) must be (B, L, 6) " \
      "or (L, 6)", seq_mha_width(f))                                         \
    X(seq_layer_norm_shape, TG_ESHAPE, "tg_layer_norm: normalized shape "    \
      "(5,) does not match the last dims of x (3,4)", seq_layer_norm_shape(f))\
    X(seq_new_null_rng, TG_EINVAL, "tg_layer_gru_new: tg_gru_cell_init: rng "\
      "is NULL", seq_new_null_rng(f))                                        \
    X(seq_embedding_new_padding, TG_EINVAL, "tg_layer_embedding_new: 3 "     \
      "embeddings of dim 2 with padding_idx 3", seq_new_bad_sizes(f, 0))     \
    X(seq_lstm_new_hidden_zero, TG_EINVAL, "tg_layer_lstm_new: "             \
      "tg_lstm_cell_init: input size 4 and hidden size 0 must be at least 1",\
      seq_new_bad_sizes(f, 1))                                               \
    X(seq_mha_new_heads, TG_EINVAL, "tg_layer_mha_new: tg_mha_init: "        \
      "embedding size 6 must be a positive multiple of the 4 heads",         \
      seq_new_bad_sizes(f, 2))                                               \
    X(seq_layer_norm_new_eps, TG_EINVAL, "tg_layer_layer_norm_new: eps -1 "  \
      "must be finite and at least 0", seq_new_bad_sizes(f, 3))              \
    /* cnn: the convolutional layers (sequential.h). */                     \
    X(cnn_conv_stride_zero, TG_EINVAL, "tg_layer_conv2d_new: stride (1, 0)" \
      , cnn_conv_refused(f, 4, 0, 1))                                        \
    X(cnn_conv_groups, TG_EINVAL, "tg_layer_conv2d_new: groups 3 must be "  \
      "at least 1 and divide the channels 4 -> 4", cnn_conv_refused(f, 4, 1, \
                                                                    3))      \
    X(cnn_conv_zero_channels, TG_EINVAL, "tg_layer_conv2d_new: channels 0 " \
      "-> 4", cnn_conv_refused(f, 0, 1, 1))                                  \
    X(cnn_conv_kernel_too_big, TG_ESHAPE, "tg_conv2d: ",                     \
      cnn_conv_kernel_too_big(f))                                            \
    X(cnn_pool_null, TG_EINVAL, "tg_layer_max_pool2d_new: options are NULL" \
      , ptr(tg_layer_max_pool2d_new(f->t, NULL)))                            \
    X(cnn_pool_stride_zero, TG_EINVAL, "tg_layer_max_pool2d_new: kernel "    \
      "(2, 2), stride (0, 2)", cnn_pool_refused(f, 0))                       \
    X(cnn_pool_padding, TG_EINVAL, "padding (0, 2) in 0..kernel/2",          \
      cnn_pool_refused(f, 1))                                                \
    X(cnn_avg_pool_dilation, TG_EINVAL, "tg_layer_avg_pool2d_new: dilation " \
      "(2, 1)", cnn_pool_refused(f, 2))                                      \
    X(cnn_adaptive_zero, TG_EINVAL, "tg_layer_adaptive_avg_pool2d_new: "     \
      "output size 0x1", ptr(tg_layer_adaptive_avg_pool2d_new(f->t, 0, 1)))  \
    X(cnn_dropout_p_one, TG_EINVAL, "tg_layer_dropout_new: p = 1 is outside"\
      " [0, 1)", ptr(tg_layer_dropout_new(f->t, 1.0, 1, 0)))                 \
    X(cnn_dropout_p_nan, TG_EINVAL, "tg_layer_dropout_new: p = nan",         \
      ptr(tg_layer_dropout_new(f->t, NAN, 1, 0)))                            \
    X(cnn_bn_eps, TG_EINVAL, "tg_layer_batch_norm_new: channels 3 must be "  \
      "at least 1, eps 0 above 0", ptr(tg_layer_batch_norm_new(              \
          f->t, TG_F32, 3, 0.0, 0.1, true)))                                 \
    X(cnn_bn_one_value, TG_ESHAPE, "tg_batch_norm: ", cnn_bn_one_value(f))   \
    X(cnn_ckpt_no_rng, TG_ENOTFOUND, "has no array '4.rng' (the model has "  \
      "it)", ckpt_mismatch(f, cnn_net(f, false), 0, cnn_net(f, true), 0))

#define ROW_FUNCTION(id, want, fragment, ...)                                \
    static int row_##id(fx *f) { (void)f; return __VA_ARGS__; }
ROWS(ROW_FUNCTION)
#undef ROW_FUNCTION

typedef struct row {
    const char *name;
    int (*run)(fx *f);
    int want;
    const char *fragment;
} row;

static const row rows[] = {
#define ROW_ENTRY(id, want, fragment, ...) {#id, row_##id, want, fragment},
    ROWS(ROW_ENTRY)
#undef ROW_ENTRY
};
#define N_ROWS ((int)(sizeof rows / sizeof rows[0]))

/* ---- Running one row. */

static void fixture_make(fx *f)
{
    memset(f, 0, sizeof *f);
    f->t = tg_tape_new();
    ck_assert_ptr_nonnull(f->t);
    f->a34 = tg_linspace(f->t, TG_F32, -1, 1, 12);
    f->a34 = tg_from_data(f->t, TG_F32, 2, s34, tg_data_f32(f->a34));
    f->b5 = tg_linspace(f->t, TG_F32, 0, 4, 5);
    f->d34 = tg_zeros(f->t, TG_F64, 2, s34);
    f->s = tg_scalar(f->t, TG_F32, 2.5);
    ck_assert_ptr_nonnull(f->s);
    for (int i = 0; i < 12; i++)
        tg_mut_f64(f->d34)[i] = 0.25 * i - 1.1;
    tg_set_requires_grad(f->a34, true);
    tg_set_requires_grad(f->d34, true);
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(f->dir, sizeof f->dir, "%s/tg_bad_input_XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
}

/* The tape that saw the error still computes a gradient. */
static void fixture_check_usable(fx *f)
{
    tg_clear_error();
    tg_tensor *x = tg_linspace(f->t, TG_F64, -2, 2, 5);
    tg_set_requires_grad(x, true);
    ck_assert_int_eq(tg_backward(f->t, tg_sum(f->t, tg_relu(f->t, x))),
                     TG_OK);
    const double *g = tg_data_f64(tg_grad(x));
    ck_assert_ptr_nonnull(g);
    ck_assert(g[0] == 0 && g[2] == 0 && g[3] == 1 && g[4] == 1);
}

static void fixture_free(fx *f)
{
    tg_tape_free(f->t);
    /* Every row must leave the folder empty (no stray temporary files). */
    ck_assert_msg(rmdir(f->dir) == 0, "%s is not empty after the row",
                  f->dir);
}

START_TEST(bad_input_row)
{
    const row *r = &rows[_i];
    fx f;
    fixture_make(&f);
    tg_clear_error();
    int got = r->run(&f);
    ck_assert_msg(got == r->want, "row %d %s: returned %d (%s), expected %d "
                  "(%s); last error: \"%s\"", _i, r->name, got,
                  tg_strerror(got), r->want, tg_strerror(r->want),
                  tg_last_error());
    ck_assert_msg(tg_last_status() == r->want, "row %d %s: tg_last_status() "
                  "is %d, expected %d", _i, r->name, tg_last_status(),
                  r->want);
    /* The whole message, for people reading the test log. */
    printf("# row %d %s: %s\n", _i, r->name,
           r->want == TG_OK ? "(no error)" : tg_last_error());
    fflush(stdout);
    ck_assert_msg(strstr(tg_last_error(), r->fragment) != NULL,
                  "row %d %s: message \"%s\" lacks \"%s\"", _i, r->name,
                  tg_last_error(), r->fragment);
    fixture_check_usable(&f);
    fixture_free(&f);
}
END_TEST

int main(void)
{
    printf("# %d bad-input cases\n", N_ROWS);
    fflush(stdout);
    Suite *s = suite_create("bad_input");
    TCase *tc = tg_test_tcase("table");
    tcase_add_loop_test(tc, bad_input_row, 0, N_ROWS);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}

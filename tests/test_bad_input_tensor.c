/*
 * test_bad_input_tensor.c — bad input: making tensors, reading them and
 * their gradients, random numbers (tapegrad.h's tensors,
 * tapegrad/random.h). One row per mistake: the status and the message
 * fragment it must give back. tests/support/tg_bad_input.h says how a row
 * is run and what it must leave behind.
 */
#include "tg_bad_input.h"

/* ---- Helpers for rows that take more than one call. */

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
static const int64_t neg[] = {3, -1}, zero[] = {0};
static const int64_t ovf64[] = {INT64_MAX, 4};          /* int64 overflows */
static const int64_t ovf_size[] = {(int64_t)1 << 61};   /* bytes overflow */
static const int64_t huge[] = {(int64_t)1 << 42};       /* 16 TiB of f32 */
static const float vals4[4] = {1, 2, 3, 4};

/* ---- The table: X(id, expected status, message fragment, expression
 * giving the status); the expression sees the fixture as f. */

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
      rand_bad_shape(f))

TG_BAD_INPUT_TABLE(ROWS)

int main(void)
{
    return tg_bad_input_main("bad_input_tensor", rows, N_ROWS);
}

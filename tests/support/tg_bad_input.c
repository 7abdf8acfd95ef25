/*
 * tg_bad_input.c — running the rows of a bad-input table (tg_bad_input.h):
 * the fixture every row is given, the checks after each row, and the
 * helpers that the rows of several areas call.
 */
#include "tg_bad_input.h"

/*
 * Rows that ask for terabytes need malloc to return NULL, as it does
 * without sanitizers; AddressSanitizer would otherwise abort the process
 * on such a request instead of returning NULL. (Defined here, in the file
 * that holds tg_bad_input_main, so that every table's program has it.)
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

const int64_t n3[1] = {3}, s34[2] = {3, 4};
const int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};

int ptr(const void *p)
{
    if (p != NULL)
        return TG_OK;
    return tg_last_status() != TG_OK ? tg_last_status() : NULL_WITHOUT_ERROR;
}

int num(double v)
{
    if (!isnan(v))
        return TG_OK;
    return tg_last_status() != TG_OK ? tg_last_status() : NULL_WITHOUT_ERROR;
}

int expect(bool cond, const char *what)
{
    if (cond)
        return TG_OK;
    return tg_set_error(ROW_WRONG, "row check failed: %s", what);
}

int ptr_unchanged(fx *f, int64_t size_before, const void *p)
{
    int rc = ptr(p);
    if (rc != TG_OK && tg_tape_size(f->t) != size_before) {
        tg_set_error(ROW_WRONG, "the tape grew from %lld to %lld entries",
                     (long long)size_before, (long long)tg_tape_size(f->t));
        return ROW_WRONG;
    }
    return rc;
}

const char *in_dir(fx *f, const char *name)
{
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    return f->path;
}

tg_rng seeded(void)
{
    tg_rng rng;
    tg_rng_seed(&rng, 1, 2);
    return rng;
}

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

/* The table being run (a Check test sees only its loop index). */
static const tg_bad_input_row *table;

START_TEST(bad_input_row)
{
    const tg_bad_input_row *r = &table[_i];
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

int tg_bad_input_main(const char *suite_name, const tg_bad_input_row *rows,
                      int n)
{
    printf("# %d bad-input cases\n", n);
    fflush(stdout);
    table = rows;
    Suite *s = suite_create(suite_name);
    TCase *tc = tg_test_tcase("table");
    tcase_add_loop_test(tc, bad_input_row, 0, n);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}

/*
 * tg_test.c — the counting allocator behind every test, and the runner.
 */
#include "tg_test.h"

#include <stdlib.h>

static long live, calls, fail_at = -1;

static void *counting_malloc(void *ud, size_t size)
{
    (void)ud;
    calls++;
    if (fail_at >= 0 && calls >= fail_at)
        return NULL;
    void *p = malloc(size);
    if (p != NULL)
        live++;
    return p;
}

static void *counting_realloc(void *ud, void *ptr, size_t size)
{
    (void)ud;
    calls++;
    if (fail_at >= 0 && calls >= fail_at)
        return NULL;
    void *p = realloc(ptr, size);
    if (p != NULL && ptr == NULL)
        live++;
    return p;
}

static void counting_free(void *ud, void *ptr)
{
    (void)ud;
    if (ptr != NULL)
        live--;
    free(ptr);
}

long tg_test_live_allocations(void) { return live; }
long tg_test_allocation_calls(void) { return calls; }

void tg_test_fail_after(long k)
{
    fail_at = k < 0 ? -1 : calls + k;
}

static void setup(void)
{
    live = 0;
    calls = 0;
    fail_at = -1;
    tg_allocator a = {counting_malloc, counting_realloc, counting_free, NULL};
    tg_set_allocator(&a);
    tg_clear_error();
}

static void teardown(void)
{
    long left = live;
    tg_set_allocator(NULL);
    ck_assert_msg(left == 0, "%ld allocation(s) leaked", left);
}

TCase *tg_test_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    /* Valgrind runs tests many times slower. */
    tcase_set_timeout(tc, getenv("TG_VALGRIND") ? 600 : 60);
    return tc;
}

int tg_test_close(double a, double b, double rtol, double atol)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    if (a == b)
        return 1;
    return fabs(a - b) <= atol + rtol * fabs(b);
}

int tg_test_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_set_tap(sr, "-");
    srunner_run_all(sr, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

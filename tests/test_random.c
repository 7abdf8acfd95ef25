/*
 * test_random.c — PCG32 against its reference, the distributions'
 * moments, shuffles and random tensors.
 *
 * fixtures/random_reference.h is written by fixtures/make_random_reference.py,
 * an independent Python implementation of random.h's specification
 * (which also checks that the logarithm behind the normals is within an
 * ulp of the C library's).
 */
#include "tg_test.h"

#include <float.h>
#include <stdlib.h>

#include "fixtures/random_reference.h"

/* The first outputs of pcg32-demo (github.com/imneme/pcg-c-basic, seeded
 * with 42, 54): "Round 1" and, after the 149 draws its coins, rolls and
 * cards use, "Round 2" (pcg-c's test-high/expected/check-pcg32.out). */
START_TEST(u32_matches_pcg32_demo)
{
    static const uint32_t round1[6] = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
                                       0x83d2f293, 0xbfa4784b, 0xcbed606e};
    static const uint32_t round2[6] = {0x74ab93ad, 0x1c1da000, 0x494ff896,
                                       0x34462f2f, 0xd308a3e5, 0x0fa83bab};
    tg_rng rng;
    ck_assert_int_eq(tg_rng_seed(&rng, 42, 54), TG_OK);
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(tg_rng_u32(&rng), round1[i]);
    for (int i = 6; i < 155; i++)
        tg_rng_u32(&rng);
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(tg_rng_u32(&rng), round2[i]);
}
END_TEST

START_TEST(u32_matches_python_reference)
{
    tg_rng rng;
    tg_rng_seed(&rng, 42, 54);
    for (int i = 0; i < 16; i++)
        ck_assert_uint_eq(tg_rng_u32(&rng), ref_u32_42_54[i]);
}
END_TEST

START_TEST(seed_and_stream_select_the_sequence)
{
    tg_rng a, b, c;
    tg_rng_seed(&a, 1, 2);
    tg_rng_seed(&b, 1, 2);
    tg_rng_seed(&c, 1, 3);
    int same_as_other_stream = 0;
    for (int i = 0; i < 100; i++) {
        uint32_t va = tg_rng_u32(&a), vc = tg_rng_u32(&c);
        ck_assert_uint_eq(va, tg_rng_u32(&b));
        same_as_other_stream += va == vc;
    }
    ck_assert_int_lt(same_as_other_stream, 3);
    /* Reseeding restarts the sequence and forgets a pending normal. */
    tg_rng_seed(&a, 9, 9);
    double n0 = tg_rng_normal(&a);
    tg_rng_seed(&a, 9, 9);
    ck_assert(tg_rng_normal(&a) == n0);
    /* A copy forks the sequence. */
    tg_rng d = a;
    ck_assert(tg_rng_normal(&d) == tg_rng_normal(&a));
}
END_TEST

START_TEST(bounded_matches_python_reference)
{
    tg_rng rng;
    tg_rng_seed(&rng, 7, 3);
    for (int b = 0; b < 15; b++)
        for (int k = 0; k < 4; k++)
            ck_assert_uint_eq(tg_rng_bounded(&rng, ref_bounded_bounds[b]),
                              ref_bounded_7_3[b * 4 + k]);
}
END_TEST

START_TEST(bounded_is_uniform)
{
    /* 60000 dice: each face within 5 standard deviations of 10000. */
    tg_rng rng;
    tg_rng_seed(&rng, 123, 0);
    long count[6] = {0};
    for (int i = 0; i < 60000; i++) {
        uint32_t v = tg_rng_bounded(&rng, 6);
        ck_assert_uint_lt(v, 6);
        count[v]++;
    }
    for (int f = 0; f < 6; f++)
        ck_assert_msg(labs(count[f] - 10000) < 5 * 91, "face %d: %ld", f,
                      count[f]);
    /* With bound 2^31 + 1 about half the draws are rejected; the results
     * must still fill both halves of the range evenly. */
    long low = 0;
    for (int i = 0; i < 20000; i++)
        low += tg_rng_bounded(&rng, 0x80000001u) < 0x40000000u;
    ck_assert_msg(labs(low - 10000) < 5 * 71, "lower half: %ld", low);
}
END_TEST

START_TEST(bounded_64_is_exact_and_uniform)
{
    /* With bound 2^63 the result is the 64-bit draw shifted right once. */
    tg_rng a, b;
    tg_rng_seed(&a, 77, 1);
    tg_rng_seed(&b, 77, 1);
    for (int i = 0; i < 100; i++) {
        uint64_t hi = tg_rng_u32(&b);
        uint64_t x = hi << 32 | tg_rng_u32(&b);
        ck_assert_uint_eq(tg_rng_bounded(&a, UINT64_C(1) << 63), x >> 1);
    }
    /* bound 3 * 2^62 rejects a quarter of the draws; thirds stay even. */
    uint64_t bound = UINT64_C(3) << 62, third = UINT64_C(1) << 62;
    long count[3] = {0};
    for (int i = 0; i < 30000; i++) {
        uint64_t v = tg_rng_bounded(&a, bound);
        ck_assert(v < bound);
        count[v / third]++;
    }
    for (int k = 0; k < 3; k++)
        ck_assert_msg(labs(count[k] - 10000) < 5 * 82, "third %d: %ld", k,
                      count[k]);
    /* A bound just past 2^32, as a shuffle of 2^32 + 5 elements meets. */
    uint64_t small = (UINT64_C(1) << 32) + 5;
    for (int i = 0; i < 1000; i++)
        ck_assert(tg_rng_bounded(&a, small) < small);
}
END_TEST

START_TEST(uniform_matches_reference_and_moments)
{
    tg_rng rng;
    tg_rng_seed(&rng, 2024, 1);
    for (int i = 0; i < 8; i++)
        ck_assert(tg_rng_uniform(&rng) == ref_uniform_2024_1[i]);
    double total = 0;
    for (int i = 0; i < 10000; i++)
        total += tg_rng_uniform(&rng);
    ck_assert_msg(total == ref_uniform_2024_1_sum, "sum %a", total);
    double sum = 0, sum2 = 0, lo = 1, hi = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        double u = tg_rng_uniform(&rng);
        sum += u;
        sum2 += u * u;
        lo = fmin(lo, u);
        hi = fmax(hi, u);
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    ck_assert(lo >= 0.0 && hi < 1.0);
    /* Standard errors: 0.29/sqrt(n) = 0.0009 and 0.0003. */
    ck_assert_close(mean, 0.5, 0, 0.005);
    ck_assert_close(var, 1.0 / 12, 0, 0.002);
}
END_TEST

START_TEST(normal_matches_reference_and_moments)
{
    tg_rng rng;
    tg_rng_seed(&rng, 2024, 2);
    for (int i = 0; i < 9; i++)
        ck_assert_msg(tg_rng_normal(&rng) == ref_normal_2024_2[i],
                      "normal %d differs from the reference", i);
    /* Every bit of 10000 more: the sum would show any difference in the
     * polar method or in the logarithm it uses. */
    double total = 0;
    for (int i = 0; i < 10000; i++)
        total += tg_rng_normal(&rng);
    ck_assert_msg(total == ref_normal_2024_2_sum, "sum %a", total);
    double m[5] = {0};
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        double z = tg_rng_normal(&rng), p = 1;
        for (int k = 1; k <= 4; k++)
            m[k] += (p *= z) / n;
    }
    /* Standard errors: 0.003 (mean), 0.0045 (E z^2), 0.008 (E z^3),
     * 0.03 (E z^4). */
    ck_assert_close(m[1], 0.0, 0, 0.02);
    ck_assert_close(m[2], 1.0, 0, 0.03);
    ck_assert_close(m[3], 0.0, 0, 0.05);
    ck_assert_close(m[4], 3.0, 0, 0.2);
}
END_TEST

START_TEST(shuffle_is_a_reproducible_permutation)
{
    tg_rng rng;
    tg_rng_seed(&rng, 5, 0);
    int64_t idx[10];
    for (int i = 0; i < 10; i++)
        idx[i] = i;
    ck_assert_int_eq(tg_rng_shuffle(&rng, 10, idx), TG_OK);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(idx[i], ref_shuffle10_5_0[i]);

    enum { N = 1000 };
    static int64_t p[N], q[N];
    for (int i = 0; i < N; i++)
        p[i] = q[i] = i;
    tg_rng a, b;
    tg_rng_seed(&a, 8, 8);
    tg_rng_seed(&b, 8, 8);
    tg_rng_shuffle(&a, N, p);
    tg_rng_shuffle(&b, N, q);
    static bool seen[N];
    int fixed = 0;
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(p[i], q[i]);
        ck_assert(p[i] >= 0 && p[i] < N && !seen[p[i]]);
        seen[p[i]] = true;
        fixed += p[i] == i;
    }
    ck_assert_int_lt(fixed, 10);   /* about 1 expected */
    /* n = 0 and n = 1 do nothing (and idx may be NULL for 0). */
    ck_assert_int_eq(tg_rng_shuffle(&rng, 0, NULL), TG_OK);
    int64_t one = 7;
    ck_assert_int_eq(tg_rng_shuffle(&rng, 1, &one), TG_OK);
    ck_assert_int_eq(one, 7);
}
END_TEST

START_TEST(shuffle_is_unbiased)
{
    /* Each of the 6 orders of 3 elements about 10000 times in 60000. */
    tg_rng rng;
    tg_rng_seed(&rng, 99, 1);
    long count[6] = {0};
    for (int r = 0; r < 60000; r++) {
        int64_t v[3] = {0, 1, 2};
        tg_rng_shuffle(&rng, 3, v);
        count[v[0] * 2 + (v[1] > v[2])]++;
    }
    for (int k = 0; k < 6; k++)
        ck_assert_msg(labs(count[k] - 10000) < 5 * 91, "order %d: %ld", k,
                      count[k]);
}
END_TEST

START_TEST(bad_generators_are_reported)
{
    tg_rng zero = {0};
    ck_assert_uint_eq(tg_rng_u32(&zero), 0);
    ck_assert_message("tg_rng_u32: rng was never seeded");
    ck_assert(isnan(tg_rng_uniform(&zero)));
    ck_assert_message("tg_rng_uniform: rng was never seeded");
    ck_assert(isnan(tg_rng_normal(NULL)));
    ck_assert_message("tg_rng_normal: rng is NULL");
    ck_assert_uint_eq(tg_rng_bounded(NULL, 3), 0);
    ck_assert_message("tg_rng_bounded: rng is NULL");
    ck_assert_status(tg_rng_seed(NULL, 1, 1), TG_EINVAL,
                     "tg_rng_seed: rng is NULL");
    int64_t idx[2] = {0, 1};
    ck_assert_status(tg_rng_shuffle(&zero, 2, idx), TG_ESTATE,
                     "tg_rng_shuffle: rng was never seeded");
    tg_rng rng;
    tg_rng_seed(&rng, 1, 1);
    ck_assert_uint_eq(tg_rng_bounded(&rng, 0), 0);
    ck_assert_message("tg_rng_bounded: bound is 0");
    ck_assert_status(tg_rng_shuffle(&rng, -1, idx), TG_EINVAL,
                     "tg_rng_shuffle: n is -1");
    ck_assert_status(tg_rng_shuffle(&rng, 2, NULL), TG_EINVAL,
                     "tg_rng_shuffle: idx is NULL");
}
END_TEST

START_TEST(rand_uniform_fills_in_order)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng, ref;
    tg_rng_seed(&rng, 3, 3);
    ref = rng;
    int64_t shape[] = {2, 3, 4};
    tg_tensor *x = tg_rand_uniform(t, &rng, TG_F64, 3, shape, -2.0, 3.0);
    ck_assert_int_eq(tg_numel(x), 24);
    ck_assert_int_eq(tg_ndim(x), 3);
    /* Products in their own statements: a compiler may fuse a*b + c into
     * one fma within an expression, the library never does. */
    for (int i = 0; i < 24; i++) {
        double scaled = 5.0 * tg_rng_uniform(&ref);
        ck_assert(tg_data_f64(x)[i] == -2.0 + scaled);
    }
    /* f32: one u32 per element, 24 bits each. */
    tg_tensor *y = tg_rand_uniform(t, &rng, TG_F32, 0, NULL, 0.0, 1.0);
    ck_assert(tg_item(y) == (double)(tg_rng_u32(&ref) >> 8) * 0x1p-24);
    ck_assert_uint_eq(tg_rng_u32(&rng), tg_rng_u32(&ref));
    int64_t n = 50000;
    tg_tensor *z = tg_rand_uniform(t, &rng, TG_F32, 1, &n, 1.0, 1.5);
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        float v = tg_data_f32(z)[i];
        ck_assert(v >= 1.0f && v < 1.5f);
        sum += v;
    }
    ck_assert_close(sum / n, 1.25, 0, 0.005);
    tg_tape_free(t);
}
END_TEST

START_TEST(rand_uniform_stays_below_hi)
{
    /* [0, 2^-30): most f32 values would round up to hi without the
     * clamp, since 24 bits of u cannot reach it exactly. A range of
     * width one ulp of 1 gives only lo in f64. */
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 1, 2);
    int64_t n = 2000;
    tg_tensor *x = tg_rand_uniform(t, &rng, TG_F32, 1, &n, 1.0, 1.0 + 1e-9);
    for (int64_t i = 0; i < n; i++)
        ck_assert(tg_data_f32(x)[i] == 1.0f);
    tg_tensor *y = tg_rand_uniform(t, &rng, TG_F64, 1, &n, 1.0,
                                   nextafter(1.0, 2.0));
    for (int64_t i = 0; i < n; i++)
        ck_assert(tg_data_f64(y)[i] == 1.0);
    tg_tape_free(t);
}
END_TEST

START_TEST(rand_normal_fills_in_order)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng, ref;
    tg_rng_seed(&rng, 4, 4);
    ref = rng;
    int64_t shape[] = {5};
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F64, 1, shape, 1.0, 0.5);
    for (int i = 0; i < 5; i++) {
        double scaled = 0.5 * tg_rng_normal(&ref);   /* no fma, as above */
        ck_assert(tg_data_f64(x)[i] == 1.0 + scaled);
    }
    tg_tensor *y = tg_rand_normal(t, &rng, TG_F32, 1, shape, -3.0, 2.0);
    for (int i = 0; i < 5; i++) {
        double scaled = 2.0 * tg_rng_normal(&ref);
        ck_assert(tg_data_f32(y)[i] == (float)(-3.0 + scaled));
    }
    int64_t n = 100000;
    tg_tensor *z = tg_rand_normal(t, &rng, TG_F32, 1, &n, 10.0, 3.0);
    double sum = 0, sum2 = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = tg_data_f32(z)[i];
        sum += v;
        sum2 += v * v;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    ck_assert_close(mean, 10.0, 0, 0.05);
    ck_assert_close(var, 9.0, 0, 0.3);
    ck_assert(tg_item(tg_rand_normal(t, &rng, TG_F64, 0, NULL, 2.5, 0.0)) ==
              2.5);
    tg_tape_free(t);
}
END_TEST

START_TEST(rand_bad_input_is_reported)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng, zero = {0};
    tg_rng_seed(&rng, 1, 1);
    int64_t shape[] = {2, 3}, bad[] = {2, 0};
    ck_assert_null_msg(tg_rand_uniform(t, &rng, TG_F32, 2, shape, 1.0, 1.0),
                       "tg_rand_uniform: the range [1, 1) is not finite");
    ck_assert_null_msg(tg_rand_uniform(t, &rng, TG_F32, 2, shape, 0, NAN),
                       "tg_rand_uniform: the range");
    ck_assert_null_msg(tg_rand_uniform(t, &rng, TG_F64, 2, shape, -DBL_MAX,
                                       DBL_MAX), "tg_rand_uniform: the range");
    ck_assert_null_msg(tg_rand_uniform(t, &rng, TG_F32, 2, bad, 0, 1),
                       "tg_rand_uniform: dimension 1 has size 0");
    ck_assert_null_msg(tg_rand_uniform(NULL, &rng, TG_F32, 2, shape, 0, 1),
                       "tg_rand_uniform: tape is NULL");
    ck_assert_null_msg(tg_rand_uniform(t, &zero, TG_F32, 2, shape, 0, 1),
                       "tg_rand_uniform: rng was never seeded");
    ck_assert_null_msg(tg_rand_normal(t, NULL, TG_F32, 2, shape, 0, 1),
                       "tg_rand_normal: rng is NULL");
    ck_assert_null_msg(tg_rand_normal(t, &rng, TG_F32, 2, shape, 0, -1),
                       "tg_rand_normal: mean 0 and std -1 must be finite");
    ck_assert_null_msg(tg_rand_normal(t, &rng, (tg_dtype)7, 2, shape, 0, 1),
                       "tg_rand_normal: unknown dtype 7");
    ck_assert_null_msg(tg_rand_normal(t, &rng, TG_F64, 9, shape, 0, 1),
                       "tg_rand_normal: ndim 9 is outside 0..8");
    tg_tape_free(t);
}
END_TEST

START_TEST(rand_out_of_memory_is_reported)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 1, 1);
    int64_t shape[] = {1000, 1000};
    tg_test_fail_after(1);
    ck_assert_null_msg(tg_rand_normal(t, &rng, TG_F32, 2, shape, 0, 1),
                       "tg_rand_normal: out of memory for 1000000 elements");
    ck_assert_null_msg(tg_rand_uniform(t, &rng, TG_F64, 2, shape, 0, 1),
                       "tg_rand_uniform: out of memory");
    tg_test_fail_after(-1);
    ck_assert_ptr_nonnull(tg_rand_uniform(t, &rng, TG_F64, 2, shape, 0, 1));
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("random");
    TCase *tc = tg_test_tcase("pcg32");
    tcase_add_test(tc, u32_matches_pcg32_demo);
    tcase_add_test(tc, u32_matches_python_reference);
    tcase_add_test(tc, seed_and_stream_select_the_sequence);
    tcase_add_test(tc, bad_generators_are_reported);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("bounded");
    tcase_add_test(tc, bounded_matches_python_reference);
    tcase_add_test(tc, bounded_is_uniform);
    tcase_add_test(tc, bounded_64_is_exact_and_uniform);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("distributions");
    tcase_add_test(tc, uniform_matches_reference_and_moments);
    tcase_add_test(tc, normal_matches_reference_and_moments);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("shuffle");
    tcase_add_test(tc, shuffle_is_a_reproducible_permutation);
    tcase_add_test(tc, shuffle_is_unbiased);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("tensors");
    tcase_add_test(tc, rand_uniform_fills_in_order);
    tcase_add_test(tc, rand_uniform_stays_below_hi);
    tcase_add_test(tc, rand_normal_fills_in_order);
    tcase_add_test(tc, rand_bad_input_is_reported);
    tcase_add_test(tc, rand_out_of_memory_is_reported);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}

/*
 * test_histogram.c — tapegrad/histogram.h: counts and edges equal to
 * NumPy 1.24's numpy.histogram (the expected values below were printed by
 * it), the bad arguments it refuses, and the SVG bar chart.
 */
#include "tg_test.h"

#include <tapegrad/histogram.h>

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* 1000 values 3 sin(i): both tails of the bins are full. */
static double *sines(void)
{
    static double v[1000];
    for (int i = 0; i < 1000; i++)
        v[i] = 3 * sin(i);
    return v;
}

static void assert_counts(const int64_t *got, const int64_t *want, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(got[i] == want[i], "bin %d: %lld, numpy %lld", i,
                      (long long)got[i], (long long)want[i]);
}

/* ---- Counts */

START_TEST(counts_last_bin_is_closed)
{
    double v[] = {0, 1, 1, 2, 2, 2, 3}, edges[4];
    int64_t counts[3], want[] = {1, 2, 4};
    ck_assert_int_eq(tg_histogram(7, v, 3, NULL, counts, edges), 7);
    assert_counts(counts, want, 3);
    for (int i = 0; i < 4; i++)
        ck_assert(edges[i] == i);
}
END_TEST

START_TEST(counts_values_on_edges_as_numpy)
{
    /* 0.1 * i lies an ulp either side of the edges i / 10. */
    double v[14 + 2], edges[11], range[2] = {0, 1};
    for (int i = 0; i <= 10; i++)
        v[i] = 0.1 * i;
    v[11] = 0.3, v[12] = 0.7, v[13] = -0.0;
    v[14] = 1.0000000000000002, v[15] = -1e-300;   /* just outside */
    int64_t counts[10], want[] = {2, 1, 2, 1, 1, 1, 2, 1, 1, 2};
    ck_assert_int_eq(tg_histogram(16, v, 10, range, counts, edges), 14);
    assert_counts(counts, want, 10);
}
END_TEST

START_TEST(counts_with_a_range_leave_out_the_rest)
{
    double edges[8], range[2] = {-1.7, 2.3};
    double want_edges[] = {-1.7, -1.1285714285714286, -0.5571428571428572,
                           0.014285714285714235, 0.5857142857142856,
                           1.1571428571428568, 1.7285714285714284, 2.3};
    int64_t counts[7], want[] = {68, 64, 62, 61, 64, 68, 82};
    ck_assert_int_eq(tg_histogram(1000, sines(), 7, range, counts, edges),
                     469);
    assert_counts(counts, want, 7);
    for (int i = 0; i < 8; i++)
        ck_assert_msg(edges[i] == want_edges[i], "edge %d: %.17g", i,
                      edges[i]);
}
END_TEST

START_TEST(counts_auto_range_spans_the_values)
{
    double edges[14];
    int64_t counts[13], want[] = {181, 75, 62, 56, 50, 52, 49, 50, 52, 55,
                                  61, 77, 180};
    ck_assert_int_eq(tg_histogram(1000, sines(), 13, NULL, counts, edges),
                     1000);
    assert_counts(counts, want, 13);
    ck_assert(edges[0] == -2.9999710185185124);
    ck_assert(edges[13] == 2.999971414658895);
    ck_assert(edges[5] == -0x1.627541dbe88c4p-1);
}
END_TEST

START_TEST(counts_one_value_and_no_values)
{
    double v[] = {5, 5, 5}, edges[5], range[2] = {0, 1};
    int64_t counts[4], want[] = {0, 3};
    ck_assert_int_eq(tg_histogram(3, v, 2, NULL, counts, edges), 3);
    assert_counts(counts, want, 2);
    ck_assert(edges[0] == 4.5 && edges[1] == 5 && edges[2] == 5.5);
    int64_t zero[] = {0, 0, 0, 0};
    ck_assert_int_eq(tg_histogram(0, NULL, 4, range, counts, edges), 0);
    assert_counts(counts, zero, 4);
    ck_assert(edges[1] == 0.25 && edges[4] == 1);
}
END_TEST

START_TEST(counts_nan_and_infinities_left_out_of_a_range)
{
    double v[] = {NAN, INFINITY, -INFINITY, 0.5}, edges[3], range[] = {0, 1};
    int64_t counts[2], want[] = {0, 1};
    ck_assert_int_eq(tg_histogram(4, v, 2, range, counts, edges), 1);
    assert_counts(counts, want, 2);
}
END_TEST

START_TEST(counts_of_tensors_f32_and_f64)
{
    /* numpy.histogram(np.float32(3 sin(i)).astype(np.float64), 9) */
    tg_tape *t = tg_tape_new();
    int64_t shape[2] = {10, 100}, counts[9];
    int64_t want[] = {218, 95, 79, 72, 73, 72, 78, 96, 217};
    double edges[10];
    tg_tensor *x = tg_empty(t, TG_F32, 2, shape);
    for (int i = 0; i < 1000; i++)
        tg_mut_f32(x)[i] = (float)sines()[i];
    ck_assert_int_eq(tg_histogram_tensor(x, 9, NULL, counts, edges), 1000);
    assert_counts(counts, want, 9);
    tg_tensor *y = tg_from_data(t, TG_F64, 2, shape, sines());
    int64_t want13[] = {181, 75, 62, 56, 50, 52, 49, 50, 52, 55, 61, 77, 180};
    int64_t c13[13];
    double e13[14];
    ck_assert_int_eq(tg_histogram_tensor(y, 13, NULL, c13, e13), 1000);
    assert_counts(c13, want13, 13);
    tg_tape_free(t);
}
END_TEST

/* ---- Bad input: a status, a message naming the call, outputs untouched */

static void assert_refused(int64_t rc, int status, const char *words,
                           const int64_t *counts, const double *edges)
{
    ck_assert_int_eq(rc, status);
    ck_assert_int_eq(tg_last_status(), status);
    ck_assert_msg(strstr(tg_last_error(), words) != NULL, "message \"%s\" "
                  "without \"%s\"", tg_last_error(), words);
    ck_assert_int_eq(counts[0], -7);
    ck_assert(edges[0] == -7);
}

START_TEST(refuses_bad_arguments)
{
    double v[] = {1, NAN, 3}, edges[4] = {-7}, r[2] = {0, 1};
    int64_t counts[3] = {-7};
    double nan_r[] = {NAN, 1}, inf_r[] = {0, INFINITY}, back[] = {2, 1};
    double wide[] = {-DBL_MAX, DBL_MAX};
    assert_refused(tg_histogram(3, NULL, 3, r, counts, edges), TG_EINVAL,
                   "tg_histogram: values is NULL", counts, edges);
    assert_refused(tg_histogram(3, v, 0, r, counts, edges), TG_EINVAL,
                   "tg_histogram: bins is 0", counts, edges);
    assert_refused(tg_histogram(3, v, TG_HISTOGRAM_MAX_BINS + 1, r, counts,
                                edges), TG_EINVAL, "bins is", counts, edges);
    assert_refused(tg_histogram(-1, v, 3, r, counts, edges), TG_EINVAL,
                   "tg_histogram: n is -1", counts, edges);
    assert_refused(tg_histogram(3, v, 3, r, NULL, edges), TG_EINVAL,
                   "tg_histogram: counts is NULL", counts, edges);
    ck_assert_int_eq(tg_histogram(3, v, 3, r, counts, NULL), TG_EINVAL);
    ck_assert_str_eq(tg_last_error(), "tg_histogram: edges is NULL");
    assert_refused(tg_histogram(3, v, 3, nan_r, counts, edges), TG_EINVAL,
                   "tg_histogram: the range [nan, 1] is not finite", counts,
                   edges);
    assert_refused(tg_histogram(3, v, 3, inf_r, counts, edges), TG_EINVAL,
                   "not finite", counts, edges);
    assert_refused(tg_histogram(3, v, 3, back, counts, edges), TG_EINVAL,
                   "lower end above the upper", counts, edges);
    assert_refused(tg_histogram(3, v, 3, NULL, counts, edges), TG_EINVAL,
                   "tg_histogram: value 1 is nan", counts, edges);
    assert_refused(tg_histogram(0, v, 3, NULL, counts, edges), TG_EINVAL,
                   "no values and no range", counts, edges);
    assert_refused(tg_histogram(1, v, 3, wide, counts, edges), TG_ENUMERIC,
                   "wider than the largest double", counts, edges);
}
END_TEST

START_TEST(tensor_refusals_name_the_call)
{
    double edges[3] = {-7};
    int64_t counts[2] = {-7};
    tg_clear_error();
    assert_refused(tg_histogram_tensor(NULL, 2, NULL, counts, edges),
                   TG_EINVAL, "tg_histogram_tensor: x is NULL", counts, edges);
    /* A NULL from a failed op keeps that op's message. */
    tg_tape *t = tg_tape_new();
    int64_t s3[1] = {3}, s4[1] = {4};
    tg_tensor *bad = tg_add(t, tg_zeros(t, TG_F32, 1, s3),
                            tg_zeros(t, TG_F32, 1, s4));
    ck_assert_ptr_null(bad);
    assert_refused(tg_histogram_tensor(bad, 2, NULL, counts, edges),
                   TG_ESHAPE, "tg_add", counts, edges);
    tg_tensor *stale = tg_zeros(t, TG_F32, 1, s3);
    tg_tape_reset(t);
    assert_refused(tg_histogram_tensor(stale, 2, NULL, counts, edges),
                   TG_ESTATE, "tg_histogram_tensor: x: tg_data_f32: tensor "
                   "was freed by a reset", counts, edges);
    tg_tensor *ok = tg_zeros(t, TG_F32, 1, s3);
    assert_refused(tg_histogram_tensor(ok, -2, NULL, counts, edges),
                   TG_EINVAL, "tg_histogram_tensor: bins is -2", counts,
                   edges);
    tg_tape_free(t);
}
END_TEST

/* ---- The SVG bar chart */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int occurrences(const char *s, const char *what)
{
    int n = 0;
    for (; (s = strstr(s, what)) != NULL; s++)
        n++;
    return n;
}

static char *scratch(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/tg_test_hist.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

/* dir holds only the entries it should: no temporary file left. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

START_TEST(svg_one_bar_per_non_empty_bin)
{
    char *dir = scratch(), path[128];
    snprintf(path, sizeof path, "%s/h.svg", dir);
    double edges[14];
    int64_t counts[13];
    tg_histogram(1000, sines(), 13, NULL, counts, edges);
    counts[4] = 0;
    tg_plot p = {"grads <&> \"layer\"", "gradient", "count", 0, 0};
    ck_assert_int_eq(tg_svg_write_histogram(path, &p, 13, edges, counts,
                                            "#2ca02c"), TG_OK);
    const char *svg = slurp(path);
    ck_assert_ptr_nonnull(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/"
                                 "svg\" version=\"1.1\" width=\"640\" "
                                 "height=\"420\""));
    ck_assert_ptr_nonnull(strstr(svg, "grads &lt;&amp;&gt; &quot;layer&quot;"));
    ck_assert_ptr_nonnull(strstr(svg, "<g fill=\"#2ca02c\""));
    /* the background, 12 bars and the frame */
    ck_assert_int_eq(occurrences(svg, "<rect "), 14);
    ck_assert_ptr_nonnull(strstr(svg, ">gradient</text>"));
    ck_assert_ptr_nonnull(strstr(svg, "</svg>\n"));
    ck_assert_int_eq(entries(dir), 1);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(svg_ticks_are_round_numbers)
{
    char *dir = scratch(), path[128];
    snprintf(path, sizeof path, "%s/h.svg", dir);
    double edges[] = {-2e-5, -1e-5, 0, 1e-5, 2e-5};
    int64_t counts[] = {3, 10, 40, 7};
    tg_plot p = {NULL, NULL, NULL, 640, 420};
    ck_assert_int_eq(tg_svg_write_histogram(path, &p, 4, edges, counts, NULL),
                     TG_OK);
    const char *svg = slurp(path);
    ck_assert_ptr_nonnull(strstr(svg, ">-1e-5</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">1e-5</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">40</text>"));
    ck_assert_ptr_nonnull(strstr(svg, "fill=\"#1f77b4\""));
    ck_assert_ptr_null(strstr(svg, "<title>"));
    unlink(path);
    rmdir(dir);
}
END_TEST

/* rc is the status of the call just made; its message must hold msg. */
static void svg_refused(int rc, const char *msg)
{
    ck_assert_int_eq(rc, TG_EINVAL);
    ck_assert_msg(strstr(tg_last_error(), msg) != NULL, "\"%s\" without "
                  "\"%s\"", tg_last_error(), msg);
}

START_TEST(svg_refuses_bad_arguments_and_reports_io_errors)
{
    double edges[] = {0, 1, 2}, flat[] = {0, 1, 1}, inf[] = {0, 1, INFINITY};
    int64_t counts[] = {1, 2}, negative[] = {1, -2};
    tg_plot p = {"t", NULL, NULL, 0, 0}, tiny = {"t", NULL, NULL, 100, 0};
    const char *x = "tg_test_hist_refused.svg";
    svg_refused(tg_svg_write_histogram(NULL, &p, 2, edges, counts, NULL),
                "tg_svg_write_histogram: path is NULL");
    svg_refused(tg_svg_write_histogram("", &p, 2, edges, counts, NULL),
                "tg_svg_write_histogram: path is empty");
    svg_refused(tg_svg_write_histogram(x, NULL, 2, edges, counts, NULL),
                "tg_svg_write_histogram: plot is NULL");
    svg_refused(tg_svg_write_histogram(x, &p, 2, NULL, counts, NULL),
                "tg_svg_write_histogram: edges is NULL");
    svg_refused(tg_svg_write_histogram(x, &p, 2, edges, NULL, NULL),
                "tg_svg_write_histogram: counts is NULL");
    svg_refused(tg_svg_write_histogram(x, &p, 0, edges, counts, NULL),
                "tg_svg_write_histogram: bins is 0");
    svg_refused(tg_svg_write_histogram(x, &p, 2, flat, counts, NULL),
                "edges[1] = 1 and edges[2] = 1 are not finite and "
                "increasing");
    svg_refused(tg_svg_write_histogram(x, &p, 2, inf, counts, NULL),
                "edges[2] = inf");
    svg_refused(tg_svg_write_histogram(x, &p, 2, edges, negative, NULL),
                "tg_svg_write_histogram: counts[1] is -2");
    svg_refused(tg_svg_write_histogram(x, &tiny, 2, edges, counts, NULL),
                "tg_svg_write_histogram: width 100 is not 0 or 160 to 20000");
    ck_assert_int_eq(access(x, F_OK), -1);   /* no file touched */
    ck_assert_int_eq(tg_svg_write_histogram("/nonexistent-dir/h.svg", &p, 2,
                                            edges, counts, NULL), TG_EIO);
    ck_assert_str_eq(tg_last_error(), "tg_svg_write_histogram: cannot write "
                     "'/nonexistent-dir/h.svg': No such file or directory");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("histogram");
    TCase *tc = tg_test_tcase("counts");
    tcase_add_test(tc, counts_last_bin_is_closed);
    tcase_add_test(tc, counts_values_on_edges_as_numpy);
    tcase_add_test(tc, counts_with_a_range_leave_out_the_rest);
    tcase_add_test(tc, counts_auto_range_spans_the_values);
    tcase_add_test(tc, counts_one_value_and_no_values);
    tcase_add_test(tc, counts_nan_and_infinities_left_out_of_a_range);
    tcase_add_test(tc, counts_of_tensors_f32_and_f64);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("bad input");
    tcase_add_test(tc, refuses_bad_arguments);
    tcase_add_test(tc, tensor_refusals_name_the_call);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("svg");
    tcase_add_test(tc, svg_one_bar_per_non_empty_bin);
    tcase_add_test(tc, svg_ticks_are_round_numbers);
    tcase_add_test(tc, svg_refuses_bad_arguments_and_reports_io_errors);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}

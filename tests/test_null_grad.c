/*
 * test_null_grad.c — every op's backward handed NULL gradient slots.
 *
 * op.h: in a backward, gx[i] is NULL where input i needs no gradient. The
 * tape decides that when backward runs, not when the op was recorded
 * (backward_entry in src/autograd/backward.c gives input i a slot only if
 * in[i]->requires_grad is true at that moment). The public calls that
 * lead there, one TCase each:
 *
 *  - switched_off: a leaf that required grad when the op was recorded is
 *    switched off with tg_set_requires_grad(x, false) before tg_backward.
 *    For a one-input op that is every slot NULL: the op has nothing to
 *    compute and must still succeed. Run once plain and once with tracing
 *    and anomaly mode on, which read the slots after the op.
 *  - switched_off_between_passes: the same between two tg_backward calls
 *    on one tape; the first pass's gradient of x must stay as it was.
 *  - constant: an input that never required grad (made by tg_from_data,
 *    tg_rand_*, loaded from a file), beside one that does, in each
 *    position. (With one input nothing is recorded: no backward runs.)
 *  - no_grad_output: an input made by an op while its tape had grad
 *    disabled (tg_tape_set_grad_enabled): a constant the same way.
 *  - other_tape: the input is a leaf of another tape, switched off after
 *    recording, or (ops with several inputs) a constant there.
 *  - same_tensor: one tensor in positions 0 and 1, switched off after
 *    recording (two NULL slots for one tensor); and for an op with a third
 *    input, the shared tensor requiring grad while the third is off.
 *
 * Not paths: tg_set_requires_grad refuses an op's output, so only leaves
 * change; an input whose slot cannot be allocated stops backward with
 * TG_ENOMEM before the op runs; tg_gradcheck turns requires_grad on for
 * its inputs and puts it back only after its last backward.
 *
 * Every registered op (tg_op_count / tg_op_at) is run through every path
 * that applies to it, at each input position, in f32 and f64, using the
 * calls of tests/support/tg_op_cases.c. The root is sum(y * w) for fixed
 * weights w (tg_test_dot), so the op sees a gradient that differs by
 * element. Each run checks that backward returns TG_OK, that every input
 * still requiring grad gets, bit for bit, the gradient of the same graph
 * with every input requiring grad, and that a switched-off or constant
 * input gets no gradient (or keeps the one it had). Each run is its own
 * TAP line; under CK_FORK=yes (Check's default) a crash fails that line
 * alone and names the run on stderr. (`meson test --setup valgrind` sets
 * CK_FORK=no: there the first crash ends the suite.)
 */
#define _POSIX_C_SOURCE 200809L /* sigaction */

#include "tg_op_cases.h"
#include "tg_test.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

/* Large enough for every input and output of the cases. */
#define MAX_NUMEL 64

/* ---- Runs: (op case, input position, dtype), per path. */

enum path {
    SWITCHED_OFF,
    BETWEEN_PASSES,
    CONSTANT,
    NO_GRAD_OUTPUT,
    OTHER_TAPE,
    SAME_TENSOR,
    N_PATHS
};

typedef struct run {
    const tg_op_case *c;
    int pos;
    tg_dtype dt;
} run;

/* Every op appears in every path at most once per position and dtype. */
#define MAX_RUNS 512
static run runs[N_PATHS][MAX_RUNS];
static int n_runs[N_PATHS];

/* Whether the path applies to input position pos of case c. */
static bool path_applies(enum path p, const tg_op_case *c, int pos)
{
    switch (p) {
    case SWITCHED_OFF:
    case BETWEEN_PASSES:
    case OTHER_TAPE:
        return true;
    case CONSTANT:
    case NO_GRAD_OUTPUT: /* a lone constant input is not recorded */
        return c->n > 1;
    case SAME_TENSOR:   /* positions 0 and 1 shared: one run per op */
        return c->n > 1 && pos == 0;
    case N_PATHS:
        break;
    }
    return false;
}

static void plan_runs(void)
{
    for (int i = 0; i < tg_op_count(); i++) {
        const tg_op_case *c = tg_op_case_find(tg_op_at(i)->name);
        if (c == NULL)
            continue; /* test_ops_registry's every_op_has_a_case reports it */
        for (int p = 0; p < N_PATHS; p++)
            for (int pos = 0; pos < c->n; pos++)
                for (int d = 0; d < 2; d++)
                    if (path_applies((enum path)p, c, pos) &&
                        n_runs[p] < MAX_RUNS)
                        runs[p][n_runs[p]++] =
                            (run){c, pos, d == 0 ? TG_F32 : TG_F64};
    }
}

/*
 * A crash fails the run's TAP line with only "Received signal 11". So
 * that the line can be told apart, the run being tested is written to
 * stderr first when it crashes; then the handler that was there before
 * (the default, or a sanitizer's) takes the repeated fault.
 */
static char crash_note[160];
static struct sigaction old_segv, old_bus;

static void on_crash(int sig)
{
    (void)!write(STDERR_FILENO, crash_note, strlen(crash_note));
    sigaction(sig, sig == SIGSEGV ? &old_segv : &old_bus, NULL);
}

static void note_run(const run *r, const char *path)
{
    snprintf(crash_note, sizeof crash_note, "test_null_grad: crashed in "
             "%s backward, %s, input %d, path %s\n", r->c->name,
             tg_dtype_name(r->dt), r->pos, path);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
}

/* ---- Building the graph and reading gradients. */

/* The seed of a run's inputs: the same values in every scenario. */
static uint64_t seed_of(const run *r)
{
    return 7000 + (uint64_t)(r->c - tg_op_cases);
}

/* Fresh leaves for every input of the case (requires_grad false). With
 * the case's alias shapes, input 1 holds the same values as input 0. */
static void make_inputs(tg_tape *t, const run *r, const int64_t (*shapes)[3],
                        tg_tensor **in)
{
    for (int k = 0; k < r->c->n; k++) {
        int drawn_as = shapes == r->c->alias && k == 1 ? 0 : k;
        in[k] = tg_op_case_input(t, r->c, shapes, drawn_as, r->dt,
                                 seed_of(r));
        ck_assert_msg(in[k] != NULL, "input %d: %s", k, tg_last_error());
    }
}

static void require(tg_tensor *x)
{
    ck_assert_int_eq(tg_set_requires_grad(x, true), TG_OK);
}

static void switch_off(tg_tensor *x)
{
    ck_assert_msg(tg_set_requires_grad(x, false) == TG_OK, "%s",
                  tg_last_error());
}

/* sum(op(in) * w) on t, with w fixed and varied by element. */
static tg_tensor *root_of(tg_tape *t, const run *r, tg_tensor *const *in)
{
    tg_tensor *y = r->c->build(t, in);
    ck_assert_msg(y != NULL, "%s: %s", r->c->name, tg_last_error());
    ck_assert_int_le(tg_numel(y), MAX_NUMEL);
    double w[MAX_NUMEL];
    for (int64_t i = 0; i < tg_numel(y); i++)
        w[i] = 0.5 + 0.25 * (double)(i % 5) - (i % 2 ? 1.25 : 0.0);
    tg_tensor *root = tg_test_dot(t, y, w);
    ck_assert_msg(root != NULL, "%s: %s", r->c->name, tg_last_error());
    return root;
}

static void backward_ok(tg_tape *t, tg_tensor *root, const run *r,
                        const char *path)
{
    int rc = tg_backward(t, root);
    ck_assert_msg(rc == TG_OK, "%s, %s, input %d, %s: tg_backward returned "
                  "%d: %s", r->c->name, tg_dtype_name(r->dt), r->pos, path,
                  rc, tg_last_error());
}

/* x's gradient as doubles (exact for f32), into g; false if it has none. */
static bool grad_values(const tg_tensor *x, double *g)
{
    if (tg_grad(x) == NULL)
        return false;
    const tg_tensor *gx = tg_grad(x);
    for (int64_t i = 0; i < tg_numel(gx); i++)
        g[i] = tg_dtype_of(gx) == TG_F32 ? (double)tg_data_f32(gx)[i]
                                         : tg_data_f64(gx)[i];
    return true;
}

/* The reference: every input a distinct leaf requiring grad. */
static void reference(const run *r, const int64_t (*shapes)[3],
                      double ref[3][MAX_NUMEL])
{
    memset(ref, 0, 3 * sizeof ref[0]);
    tg_tape *t = tg_tape_new();
    tg_tensor *in[3];
    make_inputs(t, r, shapes, in);
    for (int k = 0; k < r->c->n; k++)
        require(in[k]);
    backward_ok(t, root_of(t, r, in), r, "reference");
    for (int k = 0; k < r->c->n; k++)
        ck_assert_msg(grad_values(in[k], ref[k]), "%s: input %d got no "
                      "gradient in the reference run", r->c->name, k);
    tg_tape_free(t);
}

/* x's gradient equals want[0..numel(x)-1] bit for bit. */
static void assert_grad(const tg_tensor *x, const double *want, const run *r,
                        int k, const char *path)
{
    double got[MAX_NUMEL];
    ck_assert_msg(grad_values(x, got), "%s, %s, input %d, %s: input %d, "
                  "which requires grad, got no gradient", r->c->name,
                  tg_dtype_name(r->dt), r->pos, path, k);
    for (int64_t i = 0; i < tg_numel(x); i++)
        ck_assert_msg(memcmp(&got[i], &want[i], sizeof got[i]) == 0,
                      "%s, %s, input %d, %s: gradient of input %d element "
                      "%lld is %.17g, expected %.17g", r->c->name,
                      tg_dtype_name(r->dt), r->pos, path, k, (long long)i,
                      got[i], want[i]);
}

static void assert_no_grad(const tg_tensor *x, const run *r, const char *path)
{
    ck_assert_msg(tg_grad(x) == NULL, "%s, %s, input %d, %s: the input "
                  "that needs no gradient got one", r->c->name,
                  tg_dtype_name(r->dt), r->pos, path);
}

/* Every input but r->pos has its reference gradient. */
static void assert_others(tg_tensor *const *in, double ref[3][MAX_NUMEL],
                          const run *r, const char *path)
{
    for (int k = 0; k < r->c->n; k++)
        if (k != r->pos)
            assert_grad(in[k], ref[k], r, k, path);
}

/* ---- The paths. */

/* Also with backward's tracing and anomaly checks on, which read every
 * slot the op was handed. */
START_TEST(switched_off)
{
    const run *r = &runs[SWITCHED_OFF][_i];
    note_run(r, "switched_off");
    double ref[3][MAX_NUMEL];
    reference(r, r->c->shape, ref);
    for (int watched = 0; watched < 2; watched++) {
        const char *path = watched ? "switched off, traced, anomaly mode"
                                   : "switched off";
        tg_tape *t = tg_tape_new();
        FILE *trace = watched ? tmpfile() : NULL;
        tg_tape_set_trace(t, trace);
        tg_tape_set_anomaly(t, watched);
        tg_tensor *in[3];
        make_inputs(t, r, r->c->shape, in);
        for (int k = 0; k < r->c->n; k++)
            require(in[k]);
        tg_tensor *root = root_of(t, r, in);
        switch_off(in[r->pos]);
        backward_ok(t, root, r, path);
        assert_no_grad(in[r->pos], r, path);
        assert_others(in, ref, r, path);
        tg_tape_free(t);
        if (trace != NULL)
            fclose(trace);
    }
}
END_TEST

/* Leaf gradients add up over passes: 2 * ref for the inputs still on
 * (exact), ref unchanged for the one switched off in between. */
START_TEST(switched_off_between_passes)
{
    const run *r = &runs[BETWEEN_PASSES][_i];
    note_run(r, "switched_off_between_passes");
    double ref[3][MAX_NUMEL], twice[3][MAX_NUMEL];
    reference(r, r->c->shape, ref);
    for (int k = 0; k < r->c->n; k++)
        for (int i = 0; i < MAX_NUMEL; i++)
            twice[k][i] = r->dt == TG_F32 ? (double)((float)ref[k][i] +
                                                     (float)ref[k][i])
                                          : ref[k][i] + ref[k][i];
    tg_tape *t = tg_tape_new();
    tg_tensor *in[3];
    make_inputs(t, r, r->c->shape, in);
    for (int k = 0; k < r->c->n; k++)
        require(in[k]);
    tg_tensor *root = root_of(t, r, in);
    backward_ok(t, root, r, "first pass");
    switch_off(in[r->pos]);
    backward_ok(t, root, r, "second pass, switched off");
    assert_grad(in[r->pos], ref[r->pos], r, r->pos,
                "kept from the first pass");
    assert_others(in, twice, r, "second pass, switched off");
    tg_tape_free(t);
}
END_TEST

START_TEST(constant)
{
    const run *r = &runs[CONSTANT][_i];
    note_run(r, "constant");
    double ref[3][MAX_NUMEL];
    reference(r, r->c->shape, ref);
    tg_tape *t = tg_tape_new();
    tg_tensor *in[3];
    make_inputs(t, r, r->c->shape, in);
    for (int k = 0; k < r->c->n; k++)
        if (k != r->pos)
            require(in[k]);
    backward_ok(t, root_of(t, r, in), r, "constant");
    assert_no_grad(in[r->pos], r, "constant");
    assert_others(in, ref, r, "constant");
    tg_tape_free(t);
}
END_TEST

/* The input is x * 1 (exactly x) computed with grad disabled. */
START_TEST(no_grad_output)
{
    const run *r = &runs[NO_GRAD_OUTPUT][_i];
    note_run(r, "no_grad_output");
    double ref[3][MAX_NUMEL];
    reference(r, r->c->shape, ref);
    tg_tape *t = tg_tape_new();
    tg_tensor *in[3];
    make_inputs(t, r, r->c->shape, in);
    for (int k = 0; k < r->c->n; k++)
        require(in[k]);
    tg_tape_set_grad_enabled(t, false);
    tg_tensor *made = tg_mul_scalar(t, in[r->pos], 1.0);
    tg_tape_set_grad_enabled(t, true);
    ck_assert_msg(made != NULL && !tg_requires_grad(made), "%s",
                  tg_last_error());
    tg_tensor *leaf = in[r->pos];
    in[r->pos] = made;
    backward_ok(t, root_of(t, r, in), r, "made with grad disabled");
    assert_no_grad(made, r, "made with grad disabled");
    ck_assert_ptr_null(tg_grad(leaf)); /* nothing reaches what made it */
    assert_others(in, ref, r, "made with grad disabled");
    tg_tape_free(t);
}
END_TEST

/* The input is a leaf of another tape: switched off after recording, and
 * for ops with several inputs also a constant there. */
START_TEST(other_tape)
{
    const run *r = &runs[OTHER_TAPE][_i];
    note_run(r, "other_tape");
    double ref[3][MAX_NUMEL];
    reference(r, r->c->shape, ref);
    for (int constant = 0; constant <= (r->c->n > 1); constant++) {
        const char *path = constant ? "a constant of another tape"
                                    : "another tape's leaf, switched off";
        tg_tape *t = tg_tape_new(), *u = tg_tape_new();
        tg_tensor *in[3], *mine[3];
        make_inputs(t, r, r->c->shape, in);
        make_inputs(u, r, r->c->shape, mine);
        in[r->pos] = mine[r->pos];
        for (int k = 0; k < r->c->n; k++)
            if (!constant || k != r->pos)
                require(in[k]);
        tg_tensor *root = root_of(t, r, in);
        switch_off(in[r->pos]);
        backward_ok(t, root, r, path);
        assert_no_grad(in[r->pos], r, path);
        assert_others(in, ref, r, path);
        tg_tape_free(t);
        tg_tape_free(u);
    }
}
END_TEST

/*
 * One tensor s in positions 0 and 1 (the case's alias shapes), against a
 * reference with two copies of it. s switched off after recording: both
 * its slots NULL, any third input as in the reference. With a third
 * input, also the other way round: s requires grad and gets the sum of
 * both positions' gradients (first + second, in the dtype), while the
 * third is switched off.
 */
START_TEST(same_tensor)
{
    const run *r = &runs[SAME_TENSOR][_i];
    note_run(r, "same_tensor");
    double ref[3][MAX_NUMEL];
    reference(r, r->c->alias, ref);
    for (int third_off = 0; third_off <= (r->c->n > 2); third_off++) {
        const char *path = third_off ? "one tensor in positions 0 and 1, "
                                       "input 2 switched off"
                                     : "one tensor in positions 0 and 1, "
                                       "switched off";
        tg_tape *t = tg_tape_new();
        tg_tensor *in[3];
        make_inputs(t, r, r->c->alias, in);
        in[1] = in[0];
        for (int k = 0; k < r->c->n; k++)
            if (k != 1)
                require(in[k]);
        tg_tensor *root = root_of(t, r, in);
        switch_off(in[third_off ? 2 : 0]);
        backward_ok(t, root, r, path);
        if (third_off) {
            double sum[MAX_NUMEL];
            for (int64_t i = 0; i < tg_numel(in[0]); i++)
                sum[i] = r->dt == TG_F32
                             ? (double)((float)ref[0][i] + (float)ref[1][i])
                             : ref[0][i] + ref[1][i];
            assert_grad(in[0], sum, r, 0, path);
            assert_no_grad(in[2], r, path);
        } else {
            assert_no_grad(in[0], r, path);
            for (int k = 2; k < r->c->n; k++)
                assert_grad(in[k], ref[k], r, k, path);
        }
        tg_tape_free(t);
    }
}
END_TEST

/* ---- The table covers the registry (every op has a case:
 * test_ops_registry.c). */

/* Each case calls the op it is named after: the last entry its call
 * records is that op (read from tg_tape_print's table). */
START_TEST(each_case_records_its_op)
{
    const tg_op_case *c = &tg_op_cases[_i];
    ck_assert_msg(tg_op_find(c->name) != NULL, "case %s names no op",
                  c->name);
    tg_tape *t = tg_tape_new();
    run r = {c, 0, TG_F64};
    tg_tensor *in[3];
    make_inputs(t, &r, c->shape, in);
    for (int k = 0; k < c->n; k++)
        require(in[k]);
    ck_assert_ptr_nonnull(c->build(t, in));
    int64_t last = tg_tape_size(t) - 1;
    ck_assert_int_ge(last, 0);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_tape_print(t, f), TG_OK);
    rewind(f);
    char line[512], want[96];
    snprintf(want, sizeof want, "#%lld ", (long long)last);
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        char name[64] = "";
        if (strncmp(line, want, strlen(want)) == 0 &&
            sscanf(line + strlen(want), " %63[^ (]", name) == 1)
            found = strcmp(name, c->name) == 0;
    }
    fclose(f);
    ck_assert_msg(found, "case %s: its call's last entry (#%lld) is not %s",
                  c->name, (long long)last, c->name);
    tg_tape_free(t);
}
END_TEST

static TCase *path_tcase(const char *name, const TTest *test, enum path p)
{
    TCase *tc = tg_test_tcase(name);
    tcase_add_loop_test(tc, test, 0, n_runs[p]);
    return tc;
}

int main(void)
{
    plan_runs();
    Suite *s = suite_create("null_grad");
    TCase *tc = tg_test_tcase("registry");
    tcase_add_loop_test(tc, each_case_records_its_op, 0, tg_op_n_cases);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, path_tcase("switched_off", switched_off,
                                  SWITCHED_OFF));
    suite_add_tcase(s, path_tcase("switched_off_between_passes",
                                  switched_off_between_passes,
                                  BETWEEN_PASSES));
    suite_add_tcase(s, path_tcase("constant", constant, CONSTANT));
    suite_add_tcase(s, path_tcase("no_grad_output", no_grad_output,
                                  NO_GRAD_OUTPUT));
    suite_add_tcase(s, path_tcase("other_tape", other_tape, OTHER_TAPE));
    suite_add_tcase(s, path_tcase("same_tensor", same_tensor, SAME_TENSOR));
    return tg_test_main(s);
}

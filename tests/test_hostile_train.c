/*
 * test_hostile_train.c — hostile input to the training utilities (clipping,
 * schedules) and checkpoints.
 *
 * Part of the hostile-input round (test_hostile_*.c), one file an area.
 * Each test throws one family of bad arguments at one call and checks
 * the contract of docs/errors.md: a status (or NULL) and a message that
 * names the call, nothing changed, no leak (the counting allocator), no
 * crash and no UB (the suite also runs under ASan+UBSan and valgrind).
 * The shared checks (REFUSED, REFUSED_RC) are in support/tg_hostile.h.
 */
#include "tg_hostile.h"
#include "tapegrad/elementwise.h"
#include "tapegrad/nn.h"
#include "tapegrad/npy.h"
#include "tapegrad/train.h"
#include "tapegrad/vjp.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- training utilities -------------------------------------------------- */

START_TEST(clip_hostile)
{
    tg_tape *t = tg_tape_new();
    tg_params *p = tg_params_new(t);
    int64_t n = 3;
    tg_tensor *w = param(t, TG_F64, 1, &n, 2.0);
    ck_assert_int_eq(tg_params_add(p, w), TG_OK);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, w, w))), TG_OK);
    double bad_max[] = {NAN, -1.0, -INFINITY};
    double norm = 123.0;
    for (size_t i = 0; i < 3; i++) {
        REFUSED_RC(tg_params_clip_grad_norm(p, bad_max[i], 2.0, &norm),
                   TG_EINVAL, "tg_params_clip_grad_norm");
        ck_assert_double_eq(norm, 123.0);
    }
    double bad_type[] = {NAN, 0.0, -2.0, -INFINITY, -0.0};
    for (size_t i = 0; i < 5; i++)
        REFUSED_RC(tg_params_clip_grad_norm(p, 1.0, bad_type[i], &norm),
                   TG_EINVAL, "tg_params_clip_grad_norm");
    double bad_clip[] = {NAN, -1.0, -INFINITY};
    for (size_t i = 0; i < 3; i++)
        REFUSED_RC(tg_params_clip_grad_value(p, bad_clip[i]), TG_EINVAL,
                   "tg_params_clip_grad_value");
    ck_assert_double_eq(tg_data_f64(tg_grad(w))[0], 4.0);
    REFUSED_RC(tg_params_clip_grad_norm(NULL, 1.0, 2.0, &norm), TG_EINVAL,
               "tg_params_clip_grad_norm");
    REFUSED_RC(tg_params_clip_grad_value(NULL, 1.0), TG_EINVAL,
               "tg_params_clip_grad_value");
    /* Huge norm types and a norm that overflows: finite result or inf,
     * no crash. */
    ck_assert_int_eq(tg_params_clip_grad_norm(p, INFINITY, 1e308, &norm),
                     TG_OK);
    ck_assert_int_eq(tg_params_clip_grad_norm(p, 10.0, INFINITY, &norm),
                     TG_OK);
    ck_assert_double_eq(norm, 4.0);
    /* A list whose tape was reset: stale. */
    tg_tape *u = tg_tape_new();
    tg_params *up = tg_params_new(u);
    tg_tape_reset(u);
    REFUSED_RC(tg_params_clip_grad_norm(up, 1.0, 2.0, NULL), TG_ESTATE,
               "tg_params_clip_grad_norm");
    REFUSED_RC(tg_params_clip_grad_value(up, 1.0), TG_ESTATE,
               "tg_params_clip_grad_value");
    tg_tape_free(u);
    /* A parameter on another tape that was reset. */
    tg_tape *v = tg_tape_new();
    tg_tensor *vw = param(v, TG_F64, 1, &n, 2.0);
    ck_assert_int_eq(tg_params_add(p, vw), TG_OK);
    tg_tape_reset(v);
    REFUSED_RC(tg_params_clip_grad_value(p, 1.0), TG_ESTATE,
               "tg_params_clip_grad_value");
    REFUSED_RC(tg_params_clip_grad_norm(p, 1.0, 2.0, NULL), TG_ESTATE,
               "tg_params_clip_grad_norm");
    ck_assert_double_eq(tg_data_f64(tg_grad(w))[0], 4.0);
    tg_tape_free(v);
    tg_tape_free(t);
}
END_TEST

START_TEST(schedules_hostile)
{
    tg_tape *t = tg_tape_new();
    tg_params *p = tg_params_new(t);
    int64_t n = 3;
    ck_assert_int_eq(tg_params_add(p, param(t, TG_F64, 1, &n, 2.0)), TG_OK);
    tg_sgd_options so = tg_sgd_defaults(0.1);
    tg_optimizer *o = tg_sgd_new(t, p, &so);
    ck_assert_ptr_nonnull(o);
    double bad[] = {NAN, INFINITY, -INFINITY, -1.0};
    for (size_t i = 0; i < 4; i++) {
        REFUSED(tg_lr_step_new(t, o, 1, bad[i]), TG_EINVAL, "tg_lr_step_new");
        REFUSED(tg_lr_exponential_new(t, o, bad[i]), TG_EINVAL,
                "tg_lr_exponential_new");
        REFUSED(tg_lr_cosine_new(t, o, 10, bad[i]), TG_EINVAL,
                "tg_lr_cosine_new");
        REFUSED(tg_lr_warmup_new(t, o, bad[i], 1.0, 5), TG_EINVAL,
                "tg_lr_warmup_new");
        REFUSED(tg_lr_warmup_new(t, o, 0.5, bad[i], 5), TG_EINVAL,
                "tg_lr_warmup_new");
        REFUSED(tg_lr_warmup_cosine_new(t, o, bad[i], 3, 5, 0.0), TG_EINVAL,
                "tg_lr_warmup_cosine_new");
    }
    int64_t bad_n[] = {0, -1, INT64_MIN};
    for (size_t i = 0; i < 3; i++) {
        REFUSED(tg_lr_step_new(t, o, bad_n[i], 0.5), TG_EINVAL,
                "tg_lr_step_new");
        REFUSED(tg_lr_cosine_new(t, o, bad_n[i], 0.0), TG_EINVAL,
                "tg_lr_cosine_new");
        REFUSED(tg_lr_warmup_new(t, o, 0.5, 1.0, bad_n[i]), TG_EINVAL,
                "tg_lr_warmup_new");
        REFUSED(tg_lr_warmup_cosine_new(t, o, 0.5, bad_n[i], 5, 0.0),
                TG_EINVAL, "tg_lr_warmup_cosine_new");
    }
    REFUSED(tg_lr_step_new(t, NULL, 1, 0.5), TG_EINVAL, "tg_lr_step_new");
    REFUSED(tg_lr_step_new(NULL, o, 1, 0.5), TG_EINVAL, "tg_lr_step_new");
    ck_assert_double_eq(tg_optimizer_lr(o), 0.1);
    /* Huge sizes: warmup + t_max overflows int64. */
    tg_lr_schedule *wc = tg_lr_warmup_cosine_new(t, o, 0.5, INT64_MAX,
                                                 INT64_MAX, 0.0);
    if (wc != NULL) {
        double lr = tg_lr_schedule_lr_at(wc, INT64_MAX);
        ck_assert(isfinite(lr));
    }
    tg_lr_schedule *st = tg_lr_step_new(t, o, INT64_MAX, 0.5);
    ck_assert_ptr_nonnull(st);
    ck_assert(isfinite(tg_lr_schedule_lr_at(st, INT64_MAX)));
    tg_lr_schedule *ex = tg_lr_exponential_new(t, o, 2.0);
    ck_assert_ptr_nonnull(ex);
    /* 0.1 * 2^INT64_MAX overflows: the rate must not become infinite. */
    tg_clear_error();
    ck_assert(isnan(tg_lr_schedule_lr_at(ex, -1)));
    ck_assert_int_eq(tg_last_status(), TG_EINVAL);
    ck_assert_msg(strncmp(tg_last_error(), "tg_lr_schedule_lr_at: ", 22) == 0,
                  "%s", tg_last_error());
    REFUSED_RC(tg_lr_schedule_step(NULL), TG_EINVAL, "tg_lr_schedule_step");
    tg_clear_error();
    ck_assert_int_eq(tg_lr_schedule_epoch(NULL), -1);
    /* A schedule whose tape was reset. */
    tg_tape *u = tg_tape_new();
    tg_lr_schedule *us = tg_lr_step_new(u, o, 2, 0.5);
    ck_assert_ptr_nonnull(us);
    tg_tape_reset(u);
    int64_t m = 4096;
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_nonnull(tg_full(u, TG_F64, 1, &m, -1.0 - i));
    double before = tg_optimizer_lr(o);
    REFUSED_RC(tg_lr_schedule_step(us), TG_ESTATE, "tg_lr_schedule_step");
    ck_assert_double_eq(tg_optimizer_lr(o), before);
    tg_tape_free(u);
    /* A schedule whose optimizer's tape was reset. */
    tg_tape *v = tg_tape_new();
    tg_params *vp = tg_params_new(v);
    ck_assert_int_eq(tg_params_add(vp, param(v, TG_F64, 1, &n, 2.0)), TG_OK);
    tg_optimizer *vo = tg_sgd_new(v, vp, &so);
    tg_lr_schedule *vs = tg_lr_step_new(t, vo, 2, 0.5);
    ck_assert_ptr_nonnull(vs);
    tg_tape_reset(v);
    REFUSED_RC(tg_lr_schedule_step(vs), TG_ESTATE, "tg_lr_schedule_step");
    tg_tape_free(v);
    tg_tape_free(t);
}
END_TEST

/* ---- checkpoints ---------------------------------------------------------- */

typedef struct ckfx {
    tg_tape *t;
    tg_sequential *net;
    tg_optimizer *opt;
    tg_lr_schedule *sched;
    char dir[64];
    char path[128];
} ckfx;

static void ck_setup(ckfx *f)
{
    tg_rng rng;
    tg_rng_seed(&rng, 9, 9);
    f->t = tg_tape_new();
    f->net = tg_sequential_new(f->t);
    ck_assert_int_eq(tg_sequential_add(f->net, tg_layer_linear_new(f->t,
                                         &rng, TG_F64, 3, 2, true)), TG_OK);
    f->opt = tg_adam_new(f->t, tg_sequential_params(f->net), NULL);
    ck_assert_ptr_nonnull(f->opt);
    f->sched = tg_lr_step_new(f->t, f->opt, 2, 0.5);
    ck_assert_ptr_nonnull(f->sched);
    strcpy(f->dir, "/tmp/tg_hostile_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/ck.npz", f->dir);
}

static void ck_teardown(ckfx *f)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    ck_assert_int_eq(system(cmd), 0);
    tg_tape_free(f->t);
}

static double first_weight(ckfx *f)
{
    return tg_data_f64(tg_layer_param(tg_sequential_at(f->net, 0),
                                      "weight"))[0];
}

START_TEST(checkpoint_hostile_files)
{
    ckfx f;
    ck_setup(&f);
    tg_checkpoint ck = {.model = f.net, .optimizer = f.opt,
                        .schedule = f.sched};
    ck_assert_int_eq(tg_checkpoint_save(f.path, &ck), TG_OK);
    double w0 = first_weight(&f);
    REFUSED_RC(tg_checkpoint_save(NULL, &ck), TG_EINVAL, "tg_checkpoint_save");
    REFUSED_RC(tg_checkpoint_save("", &ck), TG_EINVAL, "tg_checkpoint_save");
    REFUSED_RC(tg_checkpoint_save(f.path, NULL), TG_EINVAL,
               "tg_checkpoint_save");
    tg_checkpoint none = {0};
    REFUSED_RC(tg_checkpoint_save(f.path, &none), TG_EINVAL,
               "tg_checkpoint_save");
    tg_checkpoint both = {.model = f.net,
                          .params = tg_sequential_params(f.net)};
    REFUSED_RC(tg_checkpoint_save(f.path, &both), TG_EINVAL,
               "tg_checkpoint_save");
    REFUSED_RC(tg_checkpoint_load(f.path, &both), TG_EINVAL,
               "tg_checkpoint_load");
    REFUSED_RC(tg_checkpoint_load(NULL, &ck), TG_EINVAL, "tg_checkpoint_load");
    REFUSED_RC(tg_checkpoint_load(f.path, NULL), TG_EINVAL,
               "tg_checkpoint_load");
    /* A directory, a FIFO, a missing file. */
    REFUSED_RC(tg_checkpoint_load(f.dir, &ck), TG_EIO, "tg_checkpoint_load");
    REFUSED_RC(tg_checkpoint_save(f.dir, &ck), TG_EIO, "tg_checkpoint_save");
    char fifo[160];
    snprintf(fifo, sizeof fifo, "%s/fifo", f.dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    REFUSED_RC(tg_checkpoint_load(fifo, &ck), TG_EIO, "tg_checkpoint_load");
    REFUSED_RC(tg_checkpoint_save(fifo, &ck), TG_EIO, "tg_checkpoint_save");
    char missing[160];
    snprintf(missing, sizeof missing, "%s/nope/ck.npz", f.dir);
    REFUSED_RC(tg_checkpoint_load(missing, &ck), TG_EIO, "tg_checkpoint_load");
    REFUSED_RC(tg_checkpoint_save(missing, &ck), TG_EIO, "tg_checkpoint_save");
    /* Truncated at every length: EFORMAT (or EIO), nothing changed. */
    FILE *fp = fopen(f.path, "rb");
    ck_assert_ptr_nonnull(fp);
    static unsigned char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    ck_assert_uint_gt(len, 100);
    char cut[160];
    snprintf(cut, sizeof cut, "%s/cut.npz", f.dir);
    int64_t epoch = tg_lr_schedule_epoch(f.sched);
    double lr = tg_optimizer_lr(f.opt);
    for (size_t k = 0; k < len; k += (k < 64 ? 1 : 37)) {
        fp = fopen(cut, "wb");
        ck_assert_uint_eq(fwrite(buf, 1, k, fp), k);
        fclose(fp);
        tg_clear_error();
        int rc = tg_checkpoint_load(cut, &ck);
        ck_assert_msg(rc == TG_EFORMAT || rc == TG_EIO, "len %zu: %d %s", k,
                      rc, tg_last_error());
        ck_assert_msg(strncmp(tg_last_error(), "tg_checkpoint_load: ", 20) ==
                      0, "%s", tg_last_error());
    }
    /* Flipped bytes: any status, never a crash; on failure nothing
     * changed. */
    for (size_t k = 0; k < len; k += 7) {
        buf[k] ^= 0xff;
        fp = fopen(cut, "wb");
        ck_assert_uint_eq(fwrite(buf, 1, len, fp), len);
        fclose(fp);
        buf[k] ^= 0xff;
        tg_clear_error();
        int rc = tg_checkpoint_load(cut, &ck);
        if (rc != TG_OK) {
            ck_assert_msg(strncmp(tg_last_error(), "tg_checkpoint_load: ",
                                  20) == 0, "%s", tg_last_error());
            ck_assert_double_eq(first_weight(&f), w0);
            ck_assert_int_eq(tg_lr_schedule_epoch(f.sched), epoch);
            ck_assert_double_eq(tg_optimizer_lr(f.opt), lr);
        }
    }
    /* A read-only target is refused (not replaced). */
    char ro[160];
    snprintf(ro, sizeof ro, "%s/ro.npz", f.dir);
    fp = fopen(ro, "wb");
    fclose(fp);
    chmod(ro, 0400);
    if (geteuid() != 0)
        REFUSED_RC(tg_checkpoint_save(ro, &ck), TG_EIO, "tg_checkpoint_save");
    /* Handles of a reset tape: a stale optimizer or schedule beside a live
     * model, a stale parameter list, a stale layer. */
    tg_tape *u = tg_tape_new();
    tg_params *up = tg_params_new(u);
    int64_t n = 2;
    ck_assert_int_eq(tg_params_add(up, param(u, TG_F64, 1, &n, 1.0)), TG_OK);
    tg_optimizer *uo = tg_adam_new(u, up, NULL);
    tg_lr_schedule *us = tg_lr_step_new(u, f.opt, 2, 0.5);
    tg_rng rng;
    tg_rng_seed(&rng, 2, 2);
    tg_layer *ul = tg_layer_linear_new(u, &rng, TG_F64, 2, 2, true);
    ck_assert_ptr_nonnull(uo);
    ck_assert_ptr_nonnull(us);
    tg_tape_reset(u);
    tg_checkpoint so = {.model = f.net, .optimizer = uo};
    REFUSED_RC(tg_checkpoint_save(f.path, &so), TG_ESTATE,
               "tg_checkpoint_save");
    REFUSED_RC(tg_checkpoint_load(f.path, &so), TG_ESTATE,
               "tg_checkpoint_load");
    tg_checkpoint ss = {.model = f.net, .schedule = us};
    REFUSED_RC(tg_checkpoint_load(f.path, &ss), TG_ESTATE,
               "tg_checkpoint_load");
    tg_checkpoint sp = {.params = up};
    REFUSED_RC(tg_checkpoint_save(f.path, &sp), TG_ESTATE,
               "tg_checkpoint_save");
    REFUSED_RC(tg_sequential_add(f.net, ul), TG_ESTATE, "tg_sequential_add");
    ck_assert_int_eq(tg_sequential_count(f.net), 1);
    ck_assert_double_eq(first_weight(&f), w0);
    tg_tape_free(u);
    ck_teardown(&f);
}
END_TEST

START_TEST(checkpoint_mismatch)
{
    ckfx f;
    ck_setup(&f);
    tg_checkpoint ck = {.model = f.net, .optimizer = f.opt,
                        .schedule = f.sched};
    ck_assert_int_eq(tg_checkpoint_save(f.path, &ck), TG_OK);
    /* Another network: a wider layer (shape), f32 (dtype), an extra layer,
     * an SGD optimizer (kind), a parameter list in place of a model. */
    tg_rng rng;
    tg_rng_seed(&rng, 1, 1);
    tg_sequential *wide = tg_sequential_new(f.t);
    tg_sequential_add(wide, tg_layer_linear_new(f.t, &rng, TG_F64, 3, 5,
                                                true));
    tg_checkpoint c1 = {.model = wide};
    REFUSED_RC(tg_checkpoint_load(f.path, &c1), TG_ESHAPE,
               "tg_checkpoint_load");
    tg_sequential *f32 = tg_sequential_new(f.t);
    tg_sequential_add(f32, tg_layer_linear_new(f.t, &rng, TG_F32, 3, 2,
                                               true));
    tg_checkpoint c2 = {.model = f32};
    REFUSED_RC(tg_checkpoint_load(f.path, &c2), TG_EDTYPE,
               "tg_checkpoint_load");
    tg_sequential *more = tg_sequential_new(f.t);
    tg_sequential_add(more, tg_layer_linear_new(f.t, &rng, TG_F64, 3, 2,
                                                true));
    tg_sequential_add(more, tg_layer_linear_new(f.t, &rng, TG_F64, 2, 2,
                                                true));
    tg_checkpoint c3 = {.model = more};
    REFUSED_RC(tg_checkpoint_load(f.path, &c3), TG_ENOTFOUND,
               "tg_checkpoint_load");
    tg_sequential *nobias = tg_sequential_new(f.t);
    tg_sequential_add(nobias, tg_layer_linear_new(f.t, &rng, TG_F64, 3, 2,
                                                  false));
    tg_checkpoint c4 = {.model = nobias};
    REFUSED_RC(tg_checkpoint_load(f.path, &c4), TG_EINVAL,
               "tg_checkpoint_load");
    tg_sgd_options so = tg_sgd_defaults(0.1);
    so.momentum = 0.9;
    tg_optimizer *sgd = tg_sgd_new(f.t, tg_sequential_params(f.net), &so);
    tg_checkpoint c5 = {.model = f.net, .optimizer = sgd};
    tg_clear_error();
    ck_assert_int_lt(tg_checkpoint_load(f.path, &c5), 0);
    ck_assert_msg(strncmp(tg_last_error(), "tg_checkpoint_load: ", 20) == 0,
                  "%s", tg_last_error());
    /* An empty model (0 layers) against the file: extra entries. */
    tg_sequential *empty = tg_sequential_new(f.t);
    tg_checkpoint c6 = {.model = empty};
    REFUSED_RC(tg_checkpoint_load(f.path, &c6), TG_EINVAL,
               "tg_checkpoint_load");
    /* A 0-layer model saves and loads an (almost) empty file. */
    char p2[160];
    snprintf(p2, sizeof p2, "%s/empty.npz", f.dir);
    ck_assert_int_eq(tg_checkpoint_save(p2, &c6), TG_OK);
    ck_assert_int_eq(tg_checkpoint_load(p2, &c6), TG_OK);
    /* A plain npz of something else. */
    int64_t n = 2;
    const tg_tensor *junk = filled(f.t, TG_F64, 1, &n, 1.0);
    const char *name = "0.weight";
    snprintf(p2, sizeof p2, "%s/junk.npz", f.dir);
    ck_assert_int_eq(tg_npz_save(p2, 1, &name, &junk), TG_OK);
    REFUSED_RC(tg_checkpoint_load(p2, &ck), TG_ESHAPE, "tg_checkpoint_load");
    ck_teardown(&f);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hostile_train");
    TCase *tc = tg_test_tcase("hostile_train");
    tg_test_set_timeout(tc, 120);
    tcase_add_test(tc, clip_hostile);
    tcase_add_test(tc, schedules_hostile);
    tcase_add_test(tc, checkpoint_hostile_files);
    tcase_add_test(tc, checkpoint_mismatch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tg_test_main(suite());
}

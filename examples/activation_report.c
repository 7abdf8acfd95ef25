/*
 * activation_report.c — the activation study's report: the plots as SVG
 * files, DIR/results.json for programs and DIR/index.html for people, laid
 * out as the tutorial's figures with its published numbers beside ours.
 */
#include "activation_study.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *path_in(const study *s, char *buf, size_t n,
                           const char *name)
{
    snprintf(buf, n, "%s/%s", s->out, name);
    return buf;
}

/* ---- The plots */

/* The function and its autograd derivative on [-5, 5], as the tutorial's
 * first figure. */
static int write_function(const study *s, const study_activation *a)
{
    enum { N = 1000 };
    static double x[N], y[N], yp[N];
    tg_tape *t = tg_tape_new();
    tg_tensor *xs = tg_linspace(t, TG_F64, -5, 5, N);
    int rc = tg_set_requires_grad(xs, true);
    tg_tensor *ys = rc == TG_OK ? a->apply(t, xs) : NULL;
    rc = ys ? tg_backward(t, tg_sum(t, ys)) : tg_last_status();
    for (int i = 0; i < N && rc == TG_OK; i++) {
        x[i] = tg_data_f64(xs)[i];
        y[i] = tg_data_f64(ys)[i];
        yp[i] = tg_data_f64(tg_grad(xs))[i];
    }
    tg_tape_free(t);
    char path[4200], title[64];
    snprintf(path, sizeof path, "%s/fn_%s.svg", s->out, a->name);
    tg_plot_series series[] = {{"ActFn", x, y, N, NULL},
                               {"Gradient", x, yp, N, NULL}};
    tg_plot p = {title, "x", NULL, 320, 260};
    snprintf(title, sizeof title, "%s", a->title);
    return rc == TG_OK ? tg_svg_write_plot(path, &p, 2, series) : rc;
}

static const char *layer_kind(const act_result *r, int k)
{
    return k % 2 == 0 ? "Linear" : r->act->title;
}

static int write_histograms(const study *s, const act_result *r)
{
    char path[4200], title[96];
    int rc = TG_OK;
    for (int i = 0; i < STUDY_LINEAR && rc == TG_OK; i++) {
        snprintf(path, sizeof path, "%s/grad_%s_%d.svg", s->out,
                 r->act->name, i);
        snprintf(title, sizeof title, "layers.%d.weight", 2 * i);
        tg_plot p = {title, "gradient", "count", 320, 240};
        rc = tg_svg_write_histogram(path, &p, GRAD_BINS, r->grad[i].edges,
                                    r->grad[i].counts, r->act->color);
    }
    for (int k = 0; k < 2 * STUDY_HIDDEN && rc == TG_OK; k++) {
        snprintf(path, sizeof path, "%s/act_%s_%d.svg", s->out,
                 r->act->name, k);
        snprintf(title, sizeof title, "Layer %d - %s", k, layer_kind(r, k));
        tg_plot p = {title, "output", "count", 320, 240};
        rc = tg_svg_write_histogram(path, &p, ACT_BINS, r->outputs[k].edges,
                                    r->outputs[k].counts, r->act->color);
    }
    return rc;
}

/* ---- Files written whole or not at all */

typedef struct out_file {
    FILE *f;
    char path[4200], tmp[4300];
} out_file;

static int out_open(out_file *o, const study *s, const char *name)
{
    path_in(s, o->path, sizeof o->path, name);
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp-%ld", o->path, (long)getpid());
    o->f = fopen(o->tmp, "w");
    return o->f ? TG_OK : tg_set_error(TG_EIO, "cannot write '%s': %s",
                                       o->tmp, strerror(errno));
}

static int out_close(out_file *o)
{
    int bad = ferror(o->f);
    bad |= fclose(o->f) != 0;
    if (!bad && rename(o->tmp, o->path) == 0)
        return TG_OK;
    int err = errno;
    remove(o->tmp);
    return tg_set_error(TG_EIO, "cannot write '%s': %s", o->path,
                        strerror(err));
}

/* ---- results.json */

static void put_double(FILE *f, double v)
{
    char buf[TG_FLOAT_BUFSIZE];
    tg_format_double(buf, sizeof buf, v);
    fputs(buf, f);
}

static void put_counts(FILE *f, const char *key, const int64_t *c, int n,
                       bool last)
{
    fprintf(f, "    \"%s\": [", key);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%lld", i ? ", " : "", (long long)c[i]);
    fprintf(f, "]%s\n", last ? "" : ",");
}

static const char *json_bool(bool b)
{
    return b ? "true" : "false";
}

/* seedrelu against relu: null unless both ran; the probes as strings,
 * since JSON has no NaN, infinity or -0. */
static void write_seed_json(FILE *f, const seed_check *c)
{
    static const char *const cols[7] = {"x", "relu", "seed_relu",
        "relu_grad", "seed_relu_grad", "relu_grad_inf", "seed_relu_grad_inf"};
    if (!c->ran) {
        fputs("null", f);
        return;
    }
    fprintf(f, "{\n    \"identical_to_relu\": {\"test_accuracy\": %s, "
            "\"validation_accuracy\": %s, \"grad_std\": %s,\n      "
            "\"gradient_histograms\": %s, \"output_histograms\": %s, "
            "\"weights\": %s},\n    \"probes\": [\n", json_bool(c->test_acc),
            json_bool(c->val_acc), json_bool(c->grad_std),
            json_bool(c->grad_hist), json_bool(c->outputs),
            json_bool(c->weights));
    for (int i = 0; i < SEED_PROBES; i++) {
        char buf[16];
        fputs("      {", f);
        for (int j = 0; j < 7; j++)
            fprintf(f, "\"%s\": \"%s\", ", cols[j],
                    seed_format(buf, sizeof buf, c->probe[i][j]));
        fprintf(f, "\"bits_differ\": %s}%s\n", json_bool(seed_differs(c, i)),
                i + 1 < SEED_PROBES ? "," : "");
    }
    fputs("    ]\n  }", f);
}

static void write_json(FILE *f, const study *s)
{
    fprintf(f, "{\n  \"test_accuracy\": {");
    for (int i = 0; i < s->n; i++) {
        fprintf(f, "%s\"%s\": ", i ? ", " : "", s->r[i].act->name);
        put_double(f, s->r[i].test_acc);
    }
    fprintf(f, "},\n  \"epochs_trained\": {");
    for (int i = 0; i < s->n; i++)
        fprintf(f, "%s\"%s\": %d", i ? ", " : "", s->r[i].act->name,
                s->r[i].epochs);
    fprintf(f, "},\n  \"validation_accuracy\": {\n");
    for (int i = 0; i < s->n; i++) {
        fprintf(f, "    \"%s\": [", s->r[i].act->name);
        for (int e = 0; e < s->r[i].epochs; e++) {
            fputs(e ? ", " : "", f);
            put_double(f, s->r[i].val_acc[e]);
        }
        fprintf(f, "]%s\n", i + 1 < s->n ? "," : "");
    }
    fprintf(f, "  },\n  \"grad_std\": {\n");
    for (int i = 0; i < s->n; i++) {
        fprintf(f, "    \"%s\": [", s->r[i].act->name);
        for (int l = 0; l < STUDY_LINEAR; l++) {
            fputs(l ? ", " : "", f);
            put_double(f, s->r[i].grad_std[l]);
        }
        fprintf(f, "]%s\n", i + 1 < s->n ? "," : "");
    }
    fprintf(f, "  },\n  \"dead_neurons\": {\n");
    put_counts(f, "untrained", s->dead_untrained, STUDY_HIDDEN, false);
    if (s->have_trained)
        put_counts(f, "trained", s->dead_trained, STUDY_HIDDEN, false);
    else
        fprintf(f, "    \"trained\": null,\n");
    put_counts(f, "deep_untrained", s->dead_deep, STUDY_DEEP_HIDDEN, true);
    fprintf(f, "  },\n  \"seed_relu\": ");
    write_seed_json(f, &s->seed_cmp);
    fprintf(f, ",\n  \"seconds\": {\"total\": ");
    put_double(f, s->seconds);
    for (int i = 0; i < s->n; i++) {
        fprintf(f, ", \"%s\": ", s->r[i].act->name);
        put_double(f, s->r[i].seconds);
    }
    fprintf(f, "},\n  \"images\": {\"train\": %lld, \"validation\": %lld, "
            "\"test\": %lld},\n  \"max_epochs\": %d,\n  \"seed\": %llu,\n"
            "  \"quick\": %s\n}\n", (long long)s->n_train,
            (long long)s->n_val, (long long)s->n_test, s->max_epochs,
            (unsigned long long)s->seed, s->quick ? "true" : "false");
}

int study_write_report(const study *s)
{
    int rc = TG_OK;
    for (int i = 0; i < s->n && rc == TG_OK; i++)
        rc = write_function(s, s->r[i].act);
    for (int i = 0; i < s->n && rc == TG_OK; i++)
        rc = write_histograms(s, &s->r[i]);
    out_file o;
    if (rc == TG_OK)
        rc = out_open(&o, s, "results.json");
    if (rc == TG_OK) {
        write_json(o.f, s);
        rc = out_close(&o);
    }
    if (rc == TG_OK)
        rc = out_open(&o, s, "index.html");
    if (rc == TG_OK) {
        study_write_page(o.f, s);
        rc = out_close(&o);
    }
    return rc;
}

/*
 * activation_seed.c — the seventh run of the activation study: the seed's
 * own ReLU, x * (x > 0), composed from ops, against the built-in tg_relu.
 *
 * tg_gt_scalar's mask has no gradient, so backward sends gy * (x > 0)
 * through tg_mul: the same numbers as relu'(x) * gy wherever x and gy are
 * finite, since a product by 1 or 0 is exact. Both runs start from the
 * same seed (the weights, the split and the shuffles), so they should
 * give the same accuracies, gradients, histograms and trained weights.
 * Where the two functions can differ is measured on a few inputs: the
 * sign of a zero, x = -inf (-inf * 0 is NaN), x = NaN (relu passes its
 * gradient, the mask stops it) and an infinite upstream gradient
 * (inf * 0 is NaN).
 */
#include "activation_study.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

tg_tensor *seed_relu(tg_tape *t, tg_tensor *x)
{
    tg_tensor *mask = tg_gt_scalar(t, x, 0);  /* 1 where x > 0, else 0 */
    return mask ? tg_mul(t, x, mask) : NULL;
}

uint64_t params_hash(const tg_params *p)
{
    uint64_t h = 14695981039346656037u;
    for (int64_t i = 0; i < tg_params_count(p); i++) {
        const tg_tensor *x = tg_params_at(p, i);
        const unsigned char *b = (const unsigned char *)tg_data_f32(x);
        for (size_t k = 0; k < (size_t)tg_numel(x) * sizeof(float); k++)
            h = (h ^ b[k]) * 1099511628211u;
    }
    return h;
}

/* ---- The two runs' numbers */

static bool same_hist(const hist *a, const hist *b)
{
    bool same = a->bins == b->bins;
    for (int i = 0; same && i < a->bins; i++)
        same = a->counts[i] == b->counts[i] && a->edges[i] == b->edges[i];
    return same && a->edges[a->bins] == b->edges[b->bins];
}

static void compare_runs(seed_check *c, const act_result *a,
                         const act_result *b)
{
    c->test_acc = a->test_acc == b->test_acc;
    c->val_acc = a->epochs == b->epochs && a->best_epoch == b->best_epoch;
    for (int e = 0; c->val_acc && e < a->epochs; e++)
        c->val_acc = a->val_acc[e] == b->val_acc[e];
    c->grad_std = c->grad_hist = c->outputs = true;
    for (int l = 0; l < STUDY_LINEAR; l++) {
        c->grad_std &= a->grad_std[l] == b->grad_std[l];
        c->grad_hist &= same_hist(&a->grad[l], &b->grad[l]);
    }
    for (int k = 0; k < 2 * STUDY_HIDDEN; k++)
        c->outputs &= same_hist(&a->outputs[k], &b->outputs[k]);
    c->weights = a->weights_hash == b->weights_hash;
}

/* ---- Where the functions differ */

/* f(x) and d/dx for an upstream gradient gy, in f32 as the study runs. */
static int probe(tg_activation_fn f, const float *x, float gy, float *y,
                 float *gx)
{
    int64_t n = SEED_PROBES;
    tg_tape *t = tg_tape_new();
    tg_tensor *xs = t ? tg_from_data(t, TG_F32, 1, &n, x) : NULL;
    tg_tensor *g = xs ? tg_full(t, TG_F32, 1, &n, gy) : NULL;
    int rc = g ? tg_set_requires_grad(xs, true) : tg_last_status();
    tg_tensor *ys = rc == TG_OK ? f(t, xs) : NULL;
    /* sum(y * gy) sends gy to y: tg_backward, as the training runs it */
    tg_tensor *root = ys ? tg_sum(t, tg_mul(t, ys, g)) : NULL;
    if (rc == TG_OK)
        rc = root ? tg_backward(t, root) : tg_last_status();
    if (rc == TG_OK) {
        memcpy(y, tg_data_f32(ys), sizeof(float) * SEED_PROBES);
        memcpy(gx, tg_data_f32(tg_grad(xs)), sizeof(float) * SEED_PROBES);
    }
    tg_tape_free(t);
    return t ? rc : tg_set_error(TG_ENOMEM, "out of memory");
}

static int probe_all(seed_check *c)
{
    const float x[SEED_PROBES] = {-INFINITY, -1.0f, -0.0f, 0.0f, 1.0f,
                                  INFINITY, NAN};
    float v[6][SEED_PROBES];
    int rc = probe(tg_relu, x, 1, v[0], v[2]);
    if (rc == TG_OK)
        rc = probe(seed_relu, x, 1, v[1], v[3]);
    float again[SEED_PROBES];  /* the same forward */
    if (rc == TG_OK)
        rc = probe(tg_relu, x, INFINITY, again, v[4]);
    if (rc == TG_OK)
        rc = probe(seed_relu, x, INFINITY, again, v[5]);
    for (int i = 0; i < SEED_PROBES; i++) {
        c->probe[i][0] = x[i];
        for (int j = 0; j < 6; j++)
            c->probe[i][j + 1] = v[j][i];
    }
    return rc;
}

/* ---- The terminal */

const char *published(char *buf, size_t n, const study_activation *a)
{
    if (isnan(a->published_acc))
        snprintf(buf, n, "none");
    else
        snprintf(buf, n, "%.2f%%", a->published_acc);
    return buf;
}

const char *seed_format(char *buf, size_t n, float v)
{
    snprintf(buf, n, isnan(v) ? "NaN" : "%g", (double)v);
    return buf;
}

bool seed_differs(const seed_check *c, int i)
{
    bool differ = false;
    for (int j = 1; j < 7; j += 2)
        differ |= memcmp(&c->probe[i][j], &c->probe[i][j + 1],
                         sizeof(float)) != 0;
    return differ;
}

static const char *yes_no(bool same)
{
    return same ? "identical" : "DIFFERENT";
}

static void print_check(const seed_check *c)
{
    printf("seedrelu  x * (x > 0) against relu, same seed:\n"
           "  test accuracy %s; validation accuracy of every epoch %s; "
           "gradient std %s;\n  gradient histograms %s; output histograms "
           "%s; trained weights %s (bit for bit)\n", yes_no(c->test_acc),
           yes_no(c->val_acc), yes_no(c->grad_std), yes_no(c->grad_hist),
           yes_no(c->outputs), yes_no(c->weights));
    printf("  where they can differ (f32; d/dx for an upstream gradient "
           "of 1, then of inf):\n  %8s %8s %8s %8s %8s %8s %8s\n", "x",
           "relu", "x*(x>0)", "relu'", "(x>0)", "relu'inf", "(x>0)inf");
    for (int i = 0; i < SEED_PROBES; i++) {
        printf(" %s", seed_differs(c, i) ? "*" : " ");
        for (int j = 0; j < 7; j++) {
            char buf[16];
            printf(" %8s", seed_format(buf, sizeof buf, c->probe[i][j]));
        }
        printf("\n");
    }
    printf("  (* where the bits differ)\n");
}


int seed_compare(study *s)
{
    const act_result *relu = NULL, *seed = NULL;
    for (int i = 0; i < s->n; i++) {
        if (!strcmp(s->r[i].act->name, "relu"))
            relu = &s->r[i];
        if (!strcmp(s->r[i].act->name, "seedrelu"))
            seed = &s->r[i];
    }
    s->seed_cmp.ran = relu && seed;
    if (!s->seed_cmp.ran)
        return TG_OK;
    compare_runs(&s->seed_cmp, relu, seed);
    int rc = probe_all(&s->seed_cmp);
    if (rc == TG_OK)
        print_check(&s->seed_cmp);
    return rc;
}

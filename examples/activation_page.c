/*
 * activation_page.c — DIR/index.html of the activation study: the
 * tutorial's figures in its order (the functions, gradient flow, training,
 * activation distributions, dead neurons), each table with the published
 * figures in a column beside ours.
 */
#include "activation_study.h"

#include <math.h>
#include <string.h>

/* The tutorial's published figures (Lippe, UvA DL Tutorial 3), and
 * PyTorch 1.13's on the same recipe for the gradients (issue 19). */
static const int64_t pub_untrained[STUDY_HIDDEN] = {0, 0, 3, 10};
static const int64_t pub_trained[STUDY_HIDDEN] = {0, 0, 0, 3};
static const int64_t pub_deep[STUDY_DEEP_HIDDEN] = {0, 0, 7, 27, 89, 60, 58,
                                                    61, 72, 56};
static const double torch_std_relu[STUDY_LINEAR] = {1.5e-4, 2.0e-4, 1.9e-4,
                                                    2.6e-4, 1.0e-3};
static const double torch_std_sigmoid[STUDY_LINEAR] = {2.4e-6, 1.2e-5,
                                                       8.3e-5, 8.2e-4, 2.3e-2};

static void head(FILE *f, const study *s)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
          "<meta charset=\"utf-8\">\n<title>Activation functions on "
          "Fashion-MNIST</title>\n<style>\n"
          "body { font-family: sans-serif; margin: 2em; max-width: 1400px; }\n"
          ".grid { display: grid; gap: 0.8em;\n"
          "        grid-template-columns: repeat(auto-fill, minmax(260px, "
          "1fr)); }\n"
          ".row { display: grid; gap: 0.5em; margin-bottom: 1em;\n"
          "       grid-template-columns: repeat(5, 1fr); }\n"
          ".row4 { grid-template-columns: repeat(4, 1fr); }\n"
          "img { width: 100%; height: auto; border: 1px solid #ddd; }\n"
          "table { border-collapse: collapse; margin: 0.5em 0 1.5em; }\n"
          "td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; "
          "text-align: right; }\n"
          "th:first-child, td:first-child { text-align: left; }\n"
          ".pub { background: #f3f3f3; }\n"
          "</style>\n</head>\n<body>\n"
          "<h1>Activation functions on Fashion-MNIST, in C</h1>\n", f);
    fprintf(f, "<p>Lippe's <i>Tutorial 3: Activation Functions</i> (UvA "
            "Deep Learning Tutorials), run by tapegrad's "
            "<code>examples/activation_study</code>: MLP 784-512-256-256-"
            "128-10, PyTorch's Linear initialisation, SGD lr 0.01 momentum "
            "0.9, batch 256, at most %d epochs with early stopping "
            "(patience 7). %lld training, %lld validation and %lld test "
            "images; seed %llu. The whole study took <b>%.0f s</b>.%s "
            "Grey columns are the tutorial's published figures.</p>\n",
            s->max_epochs, (long long)s->n_train, (long long)s->n_val,
            (long long)s->n_test, (unsigned long long)s->seed, s->seconds,
            s->quick ? " <b>This is a --quick run (a few hundred images, one "
            "epoch): its figures are not comparable.</b>" : "");
}

static void functions(FILE *f, const study *s)
{
    fputs("<h2>1. The functions and their gradients</h2>\n<p>Each activation"
          " and its derivative from tapegrad's autograd on [&minus;5, 5]."
          "</p>\n<div class=\"grid\">\n", f);
    for (int i = 0; i < s->n; i++)
        fprintf(f, "<img src=\"fn_%s.svg\" alt=\"%s and its gradient\">\n",
                s->r[i].act->name, s->r[i].act->title);
    fputs("</div>\n", f);
}

static void std_cell(FILE *f, double v, const char *cls)
{
    fprintf(f, "<td%s>%.2g</td>", cls, v);
}

static void gradient_flow(FILE *f, const study *s)
{
    fputs("<h2>2. Gradient flow at initialisation</h2>\n<p>The weight "
          "gradients of each layer for one batch of 256 training images "
          "(cross-entropy), as histograms of 30 bins, input layer first.</p>"
          "\n", f);
    for (int i = 0; i < s->n; i++) {
        fprintf(f, "<h3>%s</h3>\n<div class=\"row\">\n",
                s->r[i].act->title);
        for (int l = 0; l < STUDY_LINEAR; l++)
            fprintf(f, "<img src=\"grad_%s_%d.svg\" alt=\"%s, layer %d\">\n",
                    s->r[i].act->name, l, s->r[i].act->title, l);
        fputs("</div>\n", f);
    }
    fputs("<table>\n<tr><th>standard deviation</th><th>layer 0 (input)</th>"
          "<th>layer 1</th><th>layer 2</th><th>layer 3</th>"
          "<th>layer 4 (output)</th></tr>\n", f);
    for (int i = 0; i < s->n; i++) {
        const act_result *r = &s->r[i];
        fprintf(f, "<tr><td>%s</td>", r->act->title);
        for (int l = 0; l < STUDY_LINEAR; l++)
            std_cell(f, r->grad_std[l], "");
        fputs("</tr>\n", f);
        const double *torch = !strcmp(r->act->name, "relu") ? torch_std_relu
                              : !strcmp(r->act->name, "sigmoid")
                              ? torch_std_sigmoid : NULL;
        if (torch == NULL)
            continue;
        fprintf(f, "<tr class=\"pub\"><td>%s, PyTorch 1.13</td>",
                r->act->title);
        for (int l = 0; l < STUDY_LINEAR; l++)
            std_cell(f, torch[l], "");
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<p>Published: with sigmoid the gradients shrink from "
          "about 0.1 at the output layer to about 1e-5 at the input layer; "
          "the other activations keep similar magnitudes across "
          "layers.</p>\n", f);
}

static void training(FILE *f, const study *s)
{
    fputs("<h2>3. Training</h2>\n<table>\n<tr><th>activation</th><th>test "
          "accuracy</th><th class=\"pub\">published</th><th>difference</th>"
          "<th>epochs trained</th><th>best epoch</th><th>time</th></tr>\n",
          f);
    for (int i = 0; i < s->n; i++) {
        const act_result *r = &s->r[i];
        char pub[16], diff[16] = "&mdash;";
        if (!isnan(r->act->published_acc))
            snprintf(diff, sizeof diff, "%+.2f",
                     r->test_acc - r->act->published_acc);
        fprintf(f, "<tr><td>%s</td><td>%.2f%%</td><td class=\"pub\">%s</td>"
                "<td>%s</td><td>%d</td><td>%d</td><td>%.0f s</td></tr>\n",
                r->act->title, r->test_acc, published(pub, sizeof pub, r->act),
                diff, r->epochs, r->best_epoch, r->seconds);
    }
    fputs("</table>\n", f);
}

static void distributions(FILE *f, const study *s)
{
    fputs("<h2>4. Activation distributions</h2>\n<p>The outputs of every "
          "layer of each trained network on 1024 training images, as "
          "histograms of 50 bins.</p>\n", f);
    for (int i = 0; i < s->n; i++) {
        fprintf(f, "<h3>%s</h3>\n<div class=\"row row4\">\n",
                s->r[i].act->title);
        for (int k = 0; k < 2 * STUDY_HIDDEN; k++)
            fprintf(f, "<img src=\"act_%s_%d.svg\" alt=\"%s, layer %d\">\n",
                    s->r[i].act->name, k, s->r[i].act->title, k);
        fputs("</div>\n", f);
    }
}

static void dead_row(FILE *f, const char *what, const int64_t *ours,
                     const int64_t *pub, const int64_t *widths, int n)
{
    fprintf(f, "<tr><td>%s</td>", what);
    for (int i = 0; i < n; i++)
        fprintf(f, "<td>%lld (%.0f%%)</td>", (long long)ours[i],
                100.0 * (double)ours[i] / (double)widths[i]);
    fprintf(f, "</tr>\n<tr class=\"pub\"><td>published</td>");
    for (int i = 0; i < n; i++)
        fprintf(f, "<td>%lld</td>", (long long)pub[i]);
    fputs("</tr>\n", f);
}

static void dead(FILE *f, const study *s)
{
    static const int64_t small[STUDY_HIDDEN] = {512, 256, 256, 128};
    fputs("<h2>5. Dead neurons</h2>\n<p>Hidden ReLU units whose output is "
          "exactly 0 for every training image.</p>\n<table>\n<tr><th>"
          "[512, 256, 256, 128]</th><th>layer 0</th><th>layer 1</th><th>"
          "layer 2</th><th>layer 3</th></tr>\n", f);
    dead_row(f, "untrained", s->dead_untrained, pub_untrained, small,
             STUDY_HIDDEN);
    if (s->have_trained)
        dead_row(f, "trained", s->dead_trained, pub_trained, small,
                 STUDY_HIDDEN);
    fputs("</table>\n<table>\n<tr><th>[256 &times;5, 128 &times;5]</th>", f);
    for (int i = 0; i < STUDY_DEEP_HIDDEN; i++)
        fprintf(f, "<th>layer %d</th>", i);
    fputs("</tr>\n", f);
    dead_row(f, "untrained", s->dead_deep, pub_deep, s->deep_widths,
             STUDY_DEEP_HIDDEN);
    fputs("</table>\n", f);
    if (!s->have_trained)
        fputs("<p>The trained network's count needs relu among the "
              "activations: it was not run.</p>\n", f);
}

static const char *same(bool b)
{
    return b ? "identical" : "<b>different</b>";
}

static void seed_section(FILE *f, const seed_check *c)
{
    static const char *const cols[7] = {"x", "relu(x)", "x * (x &gt; 0)",
        "relu&prime;(x) &middot; 1", "(x &gt; 0) &middot; 1",
        "relu&prime;(x) &middot; &infin;", "(x &gt; 0) &middot; &infin;"};
    fputs("<h2>6. The seed's own ReLU</h2>\n<p>The seed defines ReLU as "
          "<code>x * (x &gt; 0)</code>; the Seed ReLU rows above are that "
          "definition composed from ops, <code>tg_mul(x, tg_gt_scalar(x, "
          "0))</code> (the mask has no gradient), run with the same seed "
          "as ReLU.</p>\n", f);
    if (!c->ran) {
        fputs("<p>It is compared with ReLU when both are among the "
              "activations: they were not.</p>\n", f);
        return;
    }
    fprintf(f, "<p>Against the built-in <code>tg_relu</code>: test "
            "accuracy %s; the validation accuracy of every epoch %s; the "
            "gradient standard deviations %s and their histograms %s; the "
            "histograms of the trained network's outputs %s; the trained "
            "weights %s, bit for bit.</p>\n<p>Where the two functions "
            "differ (f32, the study's dtype; the derivatives for an "
            "upstream gradient of 1, then of &infin;; marked rows differ in "
            "some bit):</p>\n<table>\n<tr>", same(c->test_acc),
            same(c->val_acc), same(c->grad_std), same(c->grad_hist),
            same(c->outputs), same(c->weights));
    for (int j = 0; j < 7; j++)
        fprintf(f, "<th>%s</th>", cols[j]);
    fputs("<th>bits differ</th></tr>\n", f);
    for (int i = 0; i < SEED_PROBES; i++) {
        char buf[16];
        fputs("<tr>", f);
        for (int j = 0; j < 7; j++)
            fprintf(f, "<td>%s</td>", seed_format(buf, sizeof buf,
                                                  c->probe[i][j]));
        fprintf(f, "<td>%s</td></tr>\n", seed_differs(c, i) ? "yes" : "");
    }
    fputs("</table>\n<p>For negative x, <code>tg_relu</code> gives +0 and "
          "the product &minus;0: equal as numbers, and the identical runs "
          "above show that nothing downstream told them apart. "
          "<code>tg_relu</code>(&minus;&infin;) is 0 but &minus;&infin; "
          "&middot; 0 is NaN; <code>tg_relu</code> passes the gradient at "
          "NaN and the mask stops it; an infinite or NaN upstream gradient "
          "times a 0 of the mask is NaN where <code>tg_relu</code> gives 0. "
          "At exactly 0 (either sign) they agree for a finite gradient: "
          "both derivatives are 0 there, as PyTorch's. Of these inputs the "
          "study meets only negative x: an infinity or a NaN anywhere in a "
          "run would have made its loss NaN.</p>\n", f);
}

void study_write_page(FILE *f, const study *s)
{
    head(f, s);
    functions(f, s);
    gradient_flow(f, s);
    training(f, s);
    distributions(f, s);
    dead(f, s);
    seed_section(f, &s->seed_cmp);
    fputs("</body>\n</html>\n", f);
}

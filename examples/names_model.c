/*
 * names_model.c — W7's text, evaluation set and models (names_model.h).
 */
#include "names_model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the text */

static bool is_word(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 'a' || s[i] > 'z')
            return false;
    return true;
}

static int read_all(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return tg_set_error(errno == ENOENT ? TG_ENOTFOUND : TG_EIO,
                            "cannot open %s: %s (apt-get install %s)", path,
                            strerror(errno), NAMES_PACKAGE);
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *b = realloc(buf, 2 * cap + 1);
        if (b == NULL)
            free(buf);
        buf = b, cap *= 2;
    }
    bool err = buf == NULL || ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return buf ? tg_set_error(TG_EIO, "cannot read %s", path)
                   : tg_set_error(TG_ENOMEM, "out of memory reading %s", path);
    }
    buf[n] = '\0';
    *out = buf, *len = n;
    return TG_OK;
}

int names_text_load(names_text *x, const char *path)
{
    memset(x, 0, sizeof *x);
    size_t len = 0;
    int rc = read_all(path ? path : NAMES_WORDS, &x->buf, &len);
    if (rc != TG_OK)
        return rc;
    /* At most len + 1 ids ('.' first, then a word and its '.') and len / 2
     * + 1 words; the words are cut into buf in place. */
    x->ids = malloc(len + 2);
    x->words = malloc((len / 2 + 1) * sizeof *x->words);
    if (x->ids == NULL || x->words == NULL) {
        names_text_free(x);
        return tg_set_error(TG_ENOMEM, "out of memory for the word list");
    }
    x->ids[x->n++] = 0;
    for (char *s = x->buf; s < x->buf + len;) {
        char *e = memchr(s, '\n', (size_t)(x->buf + len - s));
        if (e == NULL)
            e = x->buf + len;
        if (is_word(s, (size_t)(e - s))) {
            for (char *c = s; c < e; c++)
                x->ids[x->n++] = (uint8_t)(*c - 'a' + 1);
            x->ids[x->n++] = 0;
            *e = '\0';
            x->words[x->n_words++] = s;
        }
        s = e + 1;
    }
    if (x->n < NAMES_CONTEXT + 2) { /* one window and its targets */
        names_text_free(x);
        return tg_set_error(TG_EFORMAT, "%s has too few words of a..z only "
                            "for one window of %d characters",
                            path ? path : NAMES_WORDS, NAMES_CONTEXT + 1);
    }
    return TG_OK;
}

void names_text_free(names_text *x)
{
    free(x->ids);
    free(x->buf);
    free(x->words);
    memset(x, 0, sizeof *x);
}

bool names_text_has(const names_text *x, const char *word)
{
    /* The list is sorted in the locale's order, not strcmp's: search
     * linearly (a sample is checked once, against ~70k short words). */
    for (int64_t i = 0; i < x->n_words; i++)
        if (!strcmp(x->words[i], word))
            return true;
    return false;
}

void names_windows(const names_text *x, int64_t n, const int64_t *starts,
                   int64_t *in, int64_t *target)
{
    for (int64_t k = 0; k < n; k++)
        for (int64_t j = 0; j < NAMES_CONTEXT; j++) {
            in[k * NAMES_CONTEXT + j] = x->ids[starts[k] + j];
            target[k * NAMES_CONTEXT + j] = x->ids[starts[k] + j + 1];
        }
}

int64_t names_eval_start(const names_text *x, int64_t k, int64_t n)
{
    return k * (x->n - NAMES_CONTEXT - 1) / n;
}

/* ---- the models */

/* A parameter: requires grad, in m's list. */
static tg_tensor *param(names_model *m, tg_tensor *x)
{
    if (x == NULL || tg_set_requires_grad(x, true) != TG_OK ||
        tg_params_add(m->params, x) != TG_OK)
        return NULL;
    return x;
}

/* Overwrite x with uniform values in [-bound, bound), as nn.Linear's
 * kaiming_uniform(a = sqrt(5)) and bias inits are for fan-in 1/bound^2. */
static void fill_uniform(tg_tensor *x, tg_rng *rng, double bound)
{
    float *p = tg_mut_f32(x);
    for (int64_t i = 0; i < tg_numel(x); i++)
        p[i] = (float)(bound * (2 * tg_rng_uniform(rng) - 1));
}

static int block_init(names_model *m, names_block *b, tg_rng *rng)
{
    int64_t e = NAMES_EMBED;
    int rc = tg_layer_norm_layer_init(&b->ln1, m->tape, m->params, TG_F32, 1,
                                      &e);
    if (rc == TG_OK)
        rc = tg_mha_init(&b->attn, m->tape, m->params, rng, TG_F32, e,
                         NAMES_HEADS);
    if (rc != TG_OK)
        return rc;
    /* W7's attention is four nn.Linear(64, 64): weights and biases
     * uniform in +-1/sqrt(64) (tg_mha_init is nn.MultiheadAttention's:
     * Xavier and zero biases). */
    double bound = 1 / sqrt((double)e);
    fill_uniform(b->attn.w_in, rng, bound);
    fill_uniform(b->attn.b_in, rng, bound);
    fill_uniform(b->attn.out.weight, rng, bound);
    fill_uniform(b->attn.out.bias, rng, bound);
    rc = tg_layer_norm_layer_init(&b->ln2, m->tape, m->params, TG_F32, 1, &e);
    if (rc == TG_OK)
        rc = tg_linear_layer_init(&b->fc1, m->tape, m->params, rng, TG_F32, e,
                                  4 * e, true);
    if (rc == TG_OK)
        rc = tg_linear_layer_init(&b->fc2, m->tape, m->params, rng, TG_F32,
                                  4 * e, e, true);
    return rc;
}

static int gpt_init(names_model *m, tg_rng *rng)
{
    int64_t e = NAMES_EMBED, pshape[2] = {NAMES_CONTEXT, NAMES_EMBED};
    m->pos = param(m, tg_rand_normal(m->tape, rng, TG_F32, 2, pshape, 0, 1));
    if (m->pos == NULL)
        return tg_last_status();
    int rc = TG_OK;
    for (int i = 0; i < NAMES_BLOCKS && rc == TG_OK; i++)
        rc = block_init(m, &m->blocks[i], rng);
    if (rc == TG_OK)
        rc = tg_layer_norm_layer_init(&m->ln, m->tape, m->params, TG_F32, 1,
                                      &e);
    return rc == TG_OK ? tg_linear_layer_init(&m->head, m->tape, m->params,
                                              rng, TG_F32, e, NAMES_VOCAB,
                                              true)
                       : rc;
}

static int gru_init(names_model *m, tg_rng *rng)
{
    int rc = tg_gru_cell_init(&m->cell, m->tape, m->params, rng, TG_F32,
                              NAMES_EMBED, NAMES_GRU_HIDDEN);
    return rc == TG_OK ? tg_linear_layer_init(&m->head, m->tape, m->params,
                                              rng, TG_F32, NAMES_GRU_HIDDEN,
                                              NAMES_VOCAB, true)
                       : rc;
}

int names_model_new(names_model *m, bool gru, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->gru = gru;
    tg_rng rng;
    tg_rng_seed(&rng, seed, 7);
    int64_t tshape[2] = {NAMES_VOCAB, NAMES_EMBED};
    m->tape = tg_tape_new();
    m->params = m->tape ? tg_params_new(m->tape) : NULL;
    if (m->params == NULL)
        return tg_last_status();
    m->tok = param(m, tg_rand_normal(m->tape, &rng, TG_F32, 2, tshape, 0, 1));
    int rc = m->tok ? (gru ? gru_init(m, &rng) : gpt_init(m, &rng))
                    : tg_last_status();
    if (rc != TG_OK)
        return rc;
    tg_adam_options o = tg_adamw_defaults();
    o.lr = 3e-3;
    o.weight_decay = 0.01;
    m->opt = tg_adamw_new(m->tape, m->params, &o);
    return m->opt ? TG_OK : tg_last_status();
}

void names_model_free(names_model *m)
{
    tg_tape_free(m->tape);
    memset(m, 0, sizeof *m);
}

static tg_tensor *gpt_block(tg_tape *t, const names_block *b, tg_tensor *x)
{
    tg_tensor *h = tg_layer_norm_layer_forward(t, &b->ln1, x);
    x = tg_add(t, x, tg_mha_forward(t, &b->attn, h, true));
    h = tg_layer_norm_layer_forward(t, &b->ln2, x);
    h = tg_linear_layer_forward(t, &b->fc1, h);
    h = tg_linear_layer_forward(t, &b->fc2, tg_gelu(t, h));
    return tg_add(t, x, h);
}

/* (b, len, 64) -> (b, len, H) hidden states of the GRU from zeros. */
static tg_tensor *gru_run(tg_tape *t, const names_model *m, tg_tensor *x,
                          int64_t b, int64_t len)
{
    int64_t hshape[2] = {b, NAMES_GRU_HIDDEN}, xshape[2] = {b, NAMES_EMBED};
    int64_t oshape[3] = {b, 1, NAMES_GRU_HIDDEN};
    tg_tensor *h = tg_zeros(t, TG_F32, 2, hshape), *hs[NAMES_CONTEXT];
    for (int64_t s = 0; s < len; s++) {
        tg_tensor *xs = tg_reshape(t, tg_slice(t, x, 1, s, s + 1, 1), 2,
                                   xshape);
        h = tg_gru_cell_forward(t, &m->cell, xs, h);
        hs[s] = tg_reshape(t, h, 3, oshape);
    }
    return len == 1 ? hs[0] : tg_concat(t, (int)len, hs, 1);
}

tg_tensor *names_model_logits(tg_tape *t, const names_model *m, int64_t b,
                              int64_t len, const int64_t *ids)
{
    static const int64_t positions[NAMES_CONTEXT] = {0, 1, 2, 3, 4, 5, 6, 7,
                                                     8, 9, 10, 11, 12, 13,
                                                     14, 15};
    int64_t xshape[3] = {b, len, NAMES_EMBED}, oshape[2] = {b * len,
                                                            NAMES_VOCAB};
    tg_tensor *x = tg_reshape(t, tg_embedding(t, m->tok, b * len, ids, -1), 3,
                              xshape);
    if (m->gru)
        x = gru_run(t, m, x, b, len);
    else {
        x = tg_add(t, x, tg_embedding(t, m->pos, len, positions, -1));
        for (int i = 0; i < NAMES_BLOCKS; i++)
            x = gpt_block(t, &m->blocks[i], x);
        x = tg_layer_norm_layer_forward(t, &m->ln, x);
    }
    return tg_reshape(t, tg_linear_layer_forward(t, &m->head, x), 2, oshape);
}

int names_model_step(names_model *m, tg_tape *step, int64_t b,
                     const int64_t *in, const int64_t *target, double *loss)
{
    int rc = tg_params_zero_grad(m->params);
    tg_tensor *l = tg_cross_entropy(step, names_model_logits(
                                        step, m, b, NAMES_CONTEXT, in),
                                    target);
    if (rc == TG_OK)
        rc = tg_backward(step, l);
    if (rc == TG_OK) {
        *loss = tg_item(l);
        if (!isfinite(*loss))
            rc = tg_set_error(TG_ENUMERIC, "the training loss became %g",
                              *loss);
    }
    if (rc == TG_OK)
        rc = tg_optimizer_step(m->opt);
    tg_tape_reset(step);
    return rc;
}

int names_model_eval(names_model *m, tg_tape *t, const names_text *x,
                     int64_t n_windows, double *loss)
{
    enum { CHUNK = 128 };
    int64_t starts[CHUNK], in[CHUNK * NAMES_CONTEXT],
        target[CHUNK * NAMES_CONTEXT];
    bool was = tg_tape_grad_enabled(t);
    tg_tape_set_grad_enabled(t, false);
    double sum = 0;
    int rc = TG_OK;
    for (int64_t k0 = 0; k0 < n_windows && rc == TG_OK; k0 += CHUNK) {
        int64_t b = n_windows - k0 < CHUNK ? n_windows - k0 : CHUNK;
        for (int64_t k = 0; k < b; k++)
            starts[k] = names_eval_start(x, k0 + k, n_windows);
        names_windows(x, b, starts, in, target);
        tg_tensor *l = tg_cross_entropy(t, names_model_logits(
                                            t, m, b, NAMES_CONTEXT, in),
                                        target);
        if (l == NULL)
            rc = tg_last_status();
        else
            sum += tg_item(l) * (double)b; /* l is the chunk's mean */
        tg_tape_reset(t);
    }
    tg_tape_set_grad_enabled(t, was);
    *loss = sum / (double)n_windows;
    return rc;
}

/*
 * names_model.h — BENCHMARKS.md's W7, shared by examples/names.c and the
 * benchmark: the text (the words of Debian's wamerican list that match
 * ^[a-z]+$, joined with '.'), its fixed evaluation set, and the two models
 * of the names example, a pre-norm GPT and a GRU, each with one training
 * step (zero grad, forward, loss, backward, AdamW update) and the
 * evaluation loss. bench/torch_models.py is the same in PyTorch.
 */
#ifndef NAMES_MODEL_H
#define NAMES_MODEL_H

#include <tapegrad.h>
#include <tapegrad/index.h>
#include <tapegrad/sequence.h>

#include <stdbool.h>
#include <stdint.h>

#define NAMES_WORDS "/usr/share/dict/american-english"
#define NAMES_PACKAGE "wamerican"

enum {
    NAMES_VOCAB = 27,  /* '.' = 0, 'a'..'z' = 1..26 */
    NAMES_CONTEXT = 16,
    NAMES_EMBED = 64,
    NAMES_HEADS = 4,
    NAMES_BLOCKS = 2,
    NAMES_BATCH = 32,
    NAMES_EVAL = 1024, /* windows in the evaluation set (by default) */
    NAMES_GRU_HIDDEN = 152 /* about the GPT's 105k parameters */
};

/* The text as token ids: '.', then each word followed by '.'. words
 * points into one buffer of the words, each NUL-terminated, in the list's
 * (sorted) order, for telling new words from known ones. */
typedef struct names_text {
    uint8_t *ids;
    int64_t n;
    char *buf;
    char **words;
    int64_t n_words;
} names_text;

/* Read path (NAMES_WORDS for NULL). Returns 0, or TG_EIO / TG_ENOMEM with
 * tg_last_error() saying why (a missing file names the package). */
int names_text_load(names_text *x, const char *path);
void names_text_free(names_text *x);

/* Whether word (a..z only) is in the list. */
bool names_text_has(const names_text *x, const char *word);

/* The inputs (n * NAMES_CONTEXT ids) and targets (the next ones) of the
 * n windows that start at starts[0..n). */
void names_windows(const names_text *x, int64_t n, const int64_t *starts,
                   int64_t *in, int64_t *target);

/* The start of window k of an evaluation set of n windows spread evenly
 * over the text: floor(k * (len - 17) / n). The standard set, the same as
 * bench/torch_models.py's, has n = NAMES_EVAL = 1024. */
int64_t names_eval_start(const names_text *x, int64_t k, int64_t n);

/* One model, its parameters and AdamW's state on its own tape. */
typedef struct names_block {
    tg_layer_norm_layer ln1, ln2;
    tg_mha attn;
    tg_linear_layer fc1, fc2;
} names_block;

typedef struct names_model {
    bool gru;
    tg_tape *tape;
    tg_params *params;
    tg_optimizer *opt;
    tg_tensor *tok, *pos;                    /* embeddings */
    names_block blocks[NAMES_BLOCKS];        /* GPT */
    tg_layer_norm_layer ln;                  /* GPT: final layer norm */
    tg_gru_cell cell;                        /* GRU */
    tg_linear_layer head;                    /* to the 27 logits */
} names_model;

/*
 * The GPT (gru false) or the GRU, initialised as PyTorch's modules are
 * (nn.Linear and the GRU cell uniform, nn.Embedding N(0, 1), LayerNorm
 * ones and zeros) from seed; AdamW lr 3e-3, weight decay 0.01. Returns 0
 * or a negative status.
 */
int names_model_new(names_model *m, bool gru, uint64_t seed);
void names_model_free(names_model *m);

/* The logits (b * len, 27) of b windows of len tokens (1 <= len <= 16)
 * in ids (b * len, row-major), on tape t: row k * len + j predicts the
 * token after ids[k * len + j]. The GRU starts each window from zeros. */
tg_tensor *names_model_logits(tg_tape *t, const names_model *m, int64_t b,
                              int64_t len, const int64_t *ids);

/* One training step on b windows on the step tape (reset afterwards):
 * zero grad, forward, mean cross-entropy, backward, AdamW. The loss in
 * *loss. Returns 0 or a negative status. */
int names_model_step(names_model *m, tg_tape *step, int64_t b,
                     const int64_t *in, const int64_t *target, double *loss);

/* The mean cross-entropy over the n_windows evaluation windows
 * (NAMES_EVAL for the standard set; at least 1), computed on tape t with
 * grad disabled (t is reset). */
int names_model_eval(names_model *m, tg_tape *t, const names_text *x,
                     int64_t n_windows, double *loss);

#endif /* NAMES_MODEL_H */

/*
 * tg_bad_input_nets.c — the networks and the checkpoint round trip of
 * tg_bad_input_nets.h.
 */
#include "tg_bad_input_nets.h"

/* flatten, linear 6 -> hidden, relu, linear hidden -> 3 (more layers
 * with extra), on f->t. */
tg_sequential *train_net(fx *f, tg_dtype dt, int64_t hidden, bool extra)
{
    tg_rng rng = seeded();
    tg_sequential *s = tg_sequential_new(f->t);
    tg_sequential_add(s, tg_layer_flatten_new(f->t, 1));
    tg_sequential_add(s, tg_layer_linear_new(f->t, &rng, dt, 6, hidden,
                                             true));
    tg_sequential_add(s, tg_layer_activation_new(f->t, "relu"));
    tg_sequential_add(s, tg_layer_linear_new(f->t, &rng, dt, hidden, 3,
                                             true));
    if (extra)
        tg_sequential_add(s, tg_layer_linear_new(f->t, &rng, dt, 3, 2,
                                                 false));
    return s;
}

/* The bytes of every entry of s's state dict, concatenated (to see that a
 * failed load changed nothing). */
size_t state_bytes(const tg_sequential *s, unsigned char *out, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < tg_sequential_state_count(s); i++) {
        tg_tensor *x = tg_sequential_state_at(s, i, NULL);
        size_t b = (size_t)tg_numel(x) * tg_dtype_size(tg_dtype_of(x));
        const void *d = tg_dtype_of(x) == TG_F32 ? (const void *)
                        tg_data_f32(x) : (const void *)tg_data_f64(x);
        if (n + b <= cap)
            memcpy(out + n, d, b);
        n += b;
    }
    return n;
}

/* Save a (with an optimizer of kind sa), load into b (optimizer kind sb,
 * or none for -1); b's state must be as before when the load fails. */
int ckpt_mismatch(fx *f, tg_sequential *a, int sa, tg_sequential *b, int sb)
{
    if (a == NULL || b == NULL)
        return tg_last_status();
    tg_sgd_options so = tg_sgd_defaults(0.1);
    tg_optimizer *oa = sa < 0 ? NULL : sa == 0
        ? tg_sgd_new(f->t, tg_sequential_params(a), &so)
        : tg_adam_new(f->t, tg_sequential_params(a), NULL);
    tg_optimizer *ob = sb < 0 ? NULL : sb == 0
        ? tg_sgd_new(f->t, tg_sequential_params(b), &so)
        : tg_adam_new(f->t, tg_sequential_params(b), NULL);
    int rc = tg_checkpoint_save(in_dir(f, "ck.npz"),
                                &(tg_checkpoint){a, NULL, oa, NULL});
    if (rc != TG_OK)
        return rc;
    static unsigned char before[4096], after[4096];
    size_t nb = state_bytes(b, before, sizeof before);
    double lr = ob != NULL ? tg_optimizer_lr(ob) : 0.0;
    rc = tg_checkpoint_load(f->path, &(tg_checkpoint){b, NULL, ob, NULL});
    int status = tg_last_status();
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tg_last_error());
    unlink(f->path);
    if (rc != TG_OK) {
        if (state_bytes(b, after, sizeof after) != nb ||
            memcmp(before, after, nb) != 0 ||
            (ob != NULL && tg_optimizer_lr(ob) != lr))
            return expect(false, "a failed load left the model as it was");
        tg_set_error(status, "%s", msg);   /* the load's own error */
    }
    return rc;
}

/* train_net's network, then a dropout layer if dropout: a checkpoint of
 * the first loaded into the second lacks the dropout layer's generator
 * (the row cnn_ckpt_no_rng). */
tg_sequential *cnn_net(fx *f, bool dropout)
{
    tg_sequential *s = train_net(f, TG_F32, 4, false);
    if (dropout)
        tg_sequential_add(s, tg_layer_dropout_new(f->t, 0.5, 1, 0));
    return s;
}

/*
 * tg_bad_input_nets.h — the small networks that the bad-input tables of
 * layers and of training (test_bad_input_layers.c, test_bad_input_train.c)
 * build their rows on, and the checkpoint round trip that must leave a
 * model unchanged when its load is refused.
 */
#ifndef TG_BAD_INPUT_NETS_H
#define TG_BAD_INPUT_NETS_H

#include "tg_bad_input.h"
#include "tapegrad/sequential.h"

/* flatten, linear 6 -> hidden, relu, linear hidden -> 3 (and a linear
 * 3 -> 2 more with extra), on f->t. The layers are valid, so the rows that
 * use it see only the failure they are about. */
tg_sequential *train_net(fx *f, tg_dtype dt, int64_t hidden, bool extra);

/* train_net(f, TG_F32, 4, false), then a dropout layer if dropout. */
tg_sequential *cnn_net(fx *f, bool dropout);

/* The bytes of every entry of s's state dict, concatenated into out (cap
 * bytes at most); returns how many there are, which may exceed cap. */
size_t state_bytes(const tg_sequential *s, unsigned char *out, size_t cap);

/* Save a (with an optimizer of kind sa: 0 SGD, 1 Adam, -1 none) and load
 * the file into b (optimizer kind sb); the load's status. When the load
 * fails, b's state and learning rate must be as before (else ROW_WRONG),
 * and the load's own error is left as the last error. */
int ckpt_mismatch(fx *f, tg_sequential *a, int sa, tg_sequential *b, int sb);

#endif /* TG_BAD_INPUT_NETS_H */

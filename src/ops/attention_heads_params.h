/*
 * attention_heads_params.h — the params of the attention_heads op
 * (src/ops/attention_heads.c), alone in a header so that whoever calls the
 * op through tg_apply (tests/support/tg_op_cases.c's row) uses the same
 * struct as the op and cannot drift from it. Nothing else here: including
 * it pulls in none of the library's internals.
 */
#ifndef TG_OPS_ATTENTION_HEADS_PARAMS_H
#define TG_OPS_ATTENTION_HEADS_PARAMS_H

#include <stdbool.h>

typedef struct tg__heads_params {
    int heads;   /* H: qkv's last dim is 3 * H * hd */
    bool causal; /* query i attends keys 0..i only */
} tg__heads_params;

#endif /* TG_OPS_ATTENTION_HEADS_PARAMS_H */

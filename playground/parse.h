/*
 * parse.h — the playground's parser (parse.c): an expression read straight
 * onto tapegrad ops on one tape, every tensor it makes recorded as a node
 * (docs/playground.md has the grammar).
 */
#ifndef PG_PARSE_H
#define PG_PARSE_H

#include "tapegrad.h"

#define PG_MAX_NODES 512
#define PG_MAX_NAMES 64

typedef struct pg_node {
    tg_tensor *t;
    const char *op;    /* "leaf", "const" or the call's name */
    char label[32];    /* leaf name, constant value or bound name */
    int in[2], n_in;
    long long entry;   /* its tape entry, -1 if none was recorded */
} pg_node;

typedef struct pg {
    tg_tape *tape;
    const char *src, *p;
    const char *leaves;
    tg_tensor *x;      /* pg_plot's linspace, the value of x; else NULL */
    pg_node nodes[PG_MAX_NODES];
    int n_nodes;
    char names[PG_MAX_NAMES][32];
    int bound[PG_MAX_NAMES], n_names;
    char error[512];
} pg;

/* s reads src with the leaves' values ("a=2, z=[1, 2]") on a new tape
 * (s->tape NULL if out of memory). */
void pg_init(pg *s, const char *src, const char *leaves);
/* Statements "name = expr;" and a last expression: the root's node, or -1
 * with s->error set. */
int pg_program(pg *s);
/* Set s->error (the first error wins) and return -1. */
int pg_fail(pg *s, const char *fmt, ...);
/* The same with the engine's message, tg_last_error(). */
int pg_engine_fail(pg *s);

#endif /* PG_PARSE_H */

/*
 * parse.c — the playground's parser: recursive descent that calls the
 * tapegrad op for each operator as it reads it, so the tape is recorded in
 * reading order. Numbers are constants (no grad); a free name is a leaf
 * that requires grad, its value taken from the leaves box; "name = expr;"
 * binds a name to a node. See docs/playground.md for the grammar.
 */
#include "parse.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first error wins: the engine's message, or the parser's. */
int pg_fail(pg *s, const char *fmt, ...)
{
    if (s->error[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->error, sizeof s->error, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int pg_engine_fail(pg *s)
{
    return pg_fail(s, "%s", tg_last_error());
}

/* A node for tensor y made by op from inputs a (and b); -1 on failure. */
static int add_node(pg *s, tg_tensor *y, const char *op, int a, int b,
                    long long size_before)
{
    if (y == NULL)
        return pg_engine_fail(s);
    if (s->n_nodes == PG_MAX_NODES)
        return pg_fail(s, "expression too long (more than %d tensors)",
                    PG_MAX_NODES);
    pg_node *n = &s->nodes[s->n_nodes];
    *n = (pg_node){y, op, "", {a, b}, (a >= 0) + (b >= 0), -1};
    long long size = tg_tape_size(s->tape);
    if (size > size_before)
        n->entry = size - 1;
    return s->n_nodes++;
}

static void skip_space(pg *s)
{
    while (isspace((unsigned char)*s->p))
        s->p++;
}

static int column(const pg *s)
{
    return (int)(s->p - s->src) + 1;
}

static int read_name(pg *s, char *buf, size_t n)
{
    size_t len = 0;
    while (isalnum((unsigned char)*s->p) || *s->p == '_') {
        if (len + 1 < n)
            buf[len++] = *s->p;
        s->p++;
    }
    buf[len] = '\0';
    return (int)len;
}

/* The value of leaf name in s->leaves ("a=2, b=-3, z=[1, 2, 3]"): a
 * number, or a vector of up to PG_MAX_VECTOR numbers; *n is 0 for a
 * number, else the vector's length. */
#define PG_MAX_VECTOR 16
static int leaf_value(pg *s, const char *name, double *v, int *n)
{
    size_t len = strlen(name);
    *n = 0;
    for (const char *q = s->leaves; q != NULL && *q != '\0';) {
        while (*q == ' ' || *q == ',' || *q == ';' || *q == '\n')
            q++;
        if (strncmp(q, name, len) == 0) {
            const char *r = q + len;
            while (*r == ' ')
                r++;
            if (*r == '=') {
                char *end;
                r++;
                while (*r == ' ')
                    r++;
                if (*r != '[') {
                    v[0] = strtod(r, &end);
                    if (end != r)
                        return 0;
                    return pg_fail(s, "leaf '%s': its value is not a number",
                                name);
                }
                for (r++;; r = end + 1) {
                    if (*n == PG_MAX_VECTOR)
                        return pg_fail(s, "leaf '%s': more than %d numbers",
                                    name, PG_MAX_VECTOR);
                    v[*n] = strtod(r, &end);
                    if (end == r)
                        return pg_fail(s, "leaf '%s': write a vector as [1, 2, "
                                    "3]", name);
                    ++*n;
                    while (*end == ' ')
                        end++;
                    if (*end == ']')
                        return 0;
                    if (*end != ',')
                        return pg_fail(s, "leaf '%s': write a vector as [1, "
                                    "2, 3]", name);
                }
            }
        }
        q = strpbrk(q, ",;\n");
        /* commas inside a vector are skipped with it */
        if (q != NULL && *q == ',') {
            const char *open = q;
            while (open > s->leaves && *open != '[' && *open != ']' &&
                   *open != '=')
                open--;
            if (*open == '[')
                q = strchr(q, ']');
        }
    }
    return pg_fail(s, "no value for '%s' (give it one in the leaves box, "
                "e.g. %s=1)", name, name);
}

static int leaf(pg *s, const char *name)
{
    for (int i = s->n_names - 1; i >= 0; i--) /* the latest binding */
        if (strcmp(s->names[i], name) == 0)
            return s->bound[i];
    tg_tensor *t;
    if (s->x != NULL && strcmp(name, "x") == 0) {
        t = s->x;
    } else {
        double v[PG_MAX_VECTOR] = {0};
        int n;
        if (leaf_value(s, name, v, &n) < 0)
            return -1;
        int64_t shape[1] = {n};
        t = n ? tg_from_data(s->tape, TG_F64, 1, shape, v)
              : tg_scalar(s->tape, TG_F64, v[0]);
        if (t == NULL || tg_set_requires_grad(t, true) < 0)
            return pg_engine_fail(s);
    }
    if (tg_set_name(t, name) < 0)
        return pg_engine_fail(s);
    int k = add_node(s, t, "leaf", -1, -1, tg_tape_size(s->tape));
    if (k < 0)
        return -1;
    snprintf(s->nodes[k].label, sizeof s->nodes[k].label, "%s", name);
    if (s->n_names == PG_MAX_NAMES)
        return pg_fail(s, "too many names (more than %d)", PG_MAX_NAMES);
    snprintf(s->names[s->n_names], sizeof s->names[0], "%s", name);
    s->bound[s->n_names++] = k;
    return k;
}

static tg_tensor *in(pg *s, int k)
{
    return s->nodes[k].t;
}

/* ---- the calls ----------------------------------------------------------- */

typedef tg_tensor *(*unary_fn)(tg_tape *, tg_tensor *);
typedef tg_tensor *(*binary_fn)(tg_tape *, tg_tensor *, tg_tensor *);

static tg_tensor *softplus1(tg_tape *t, tg_tensor *x)
{
    return tg_softplus(t, x, 1.0, 20.0);
}

static const struct {
    const char *name;
    unary_fn f1;
    binary_fn f2;
} funcs[] = {
    {"relu", tg_relu, NULL},         {"tanh", tg_tanh, NULL},
    {"sigmoid", tg_sigmoid, NULL},   {"exp", tg_exp, NULL},
    {"log", tg_log, NULL},           {"sqrt", tg_sqrt, NULL},
    {"abs", tg_abs, NULL},           {"gelu", tg_gelu, NULL},
    {"silu", tg_silu, NULL},         {"softplus", softplus1, NULL},
    {"max", NULL, tg_maximum},       {"min", NULL, tg_minimum},
    {"sum", tg_sum, NULL},           {"mean", tg_mean, NULL},
    {"logsumexp", tg_logsumexp, NULL},
};

static int expr(pg *s);

static int call(pg *s, const char *name, int at)
{
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
        if (strcmp(funcs[i].name, name) != 0)
            continue;
        int a = expr(s), b = -1;
        if (a < 0)
            return -1;
        skip_space(s);
        if (funcs[i].f2 != NULL) {
            if (*s->p != ',')
                return pg_fail(s, "column %d: %s takes two arguments",
                            column(s), name);
            s->p++;
            if ((b = expr(s)) < 0)
                return -1;
            skip_space(s);
        }
        if (*s->p != ')')
            return pg_fail(s, "column %d: expected ')' to close %s(",
                        column(s), name);
        s->p++;
        long long size = tg_tape_size(s->tape);
        tg_tensor *y = funcs[i].f2 ? funcs[i].f2(s->tape, in(s, a), in(s, b))
                                   : funcs[i].f1(s->tape, in(s, a));
        return add_node(s, y, funcs[i].name, a, b, size);
    }
    return pg_fail(s, "column %d: unknown function '%s' (the playground has "
                "relu, tanh, sigmoid, exp, log, sqrt, abs, gelu, silu, "
                "softplus, max, min, sum, mean and logsumexp)", at, name);
}

static int number(pg *s)
{
    char *end;
    double v = strtod(s->p, &end);
    s->p = end;
    tg_tensor *t = tg_scalar(s->tape, TG_F64, v);
    int k = add_node(s, t, "const", -1, -1, tg_tape_size(s->tape));
    if (k >= 0)
        snprintf(s->nodes[k].label, sizeof s->nodes[k].label, "%g", v);
    return k;
}

static int primary(pg *s)
{
    skip_space(s);
    int at = column(s);
    if (isdigit((unsigned char)*s->p) || *s->p == '.')
        return number(s);
    if (*s->p == '(') {
        s->p++;
        int k = expr(s);
        if (k < 0)
            return -1;
        skip_space(s);
        if (*s->p != ')')
            return pg_fail(s, "column %d: expected ')'", column(s));
        s->p++;
        return k;
    }
    if (isalpha((unsigned char)*s->p) || *s->p == '_') {
        char name[32];
        read_name(s, name, sizeof name);
        skip_space(s);
        if (*s->p == '(') {
            s->p++;
            return call(s, name, at);
        }
        return leaf(s, name);
    }
    if (*s->p == '\0')
        return pg_fail(s, "column %d: the expression ends too soon", at);
    return pg_fail(s, "column %d: unexpected '%c'", at, *s->p);
}

static int unary(pg *s);

/* a ^ b: tg_pow for a number exponent, else tg_pow_tensor. */
static int power(pg *s)
{
    int a = primary(s);
    skip_space(s);
    if (a < 0 || *s->p != '^')
        return a;
    s->p++;
    int b = unary(s);
    if (b < 0)
        return -1;
    long long size = tg_tape_size(s->tape);
    if (strcmp(s->nodes[b].op, "const") == 0) {
        s->n_nodes--; /* the exponent is a parameter of pow, not an input */
        return add_node(s, tg_pow(s->tape, in(s, a), tg_item(in(s, b))),
                        "pow", a, -1, size);
    }
    return add_node(s, tg_pow_tensor(s->tape, in(s, a), in(s, b)),
                    "pow_tensor", a, b, size);
}

static int unary(pg *s)
{
    skip_space(s);
    if (*s->p != '-')
        return power(s);
    s->p++;
    int a = unary(s);
    if (a < 0)
        return -1;
    long long size = tg_tape_size(s->tape);
    return add_node(s, tg_neg(s->tape, in(s, a)), "neg", a, -1, size);
}

static int binary(pg *s, int a, char op, int b)
{
    long long size = tg_tape_size(s->tape);
    tg_tape *t = s->tape;
    switch (op) {
    case '+': return add_node(s, tg_add(t, in(s, a), in(s, b)), "add", a, b, size);
    case '-': return add_node(s, tg_sub(t, in(s, a), in(s, b)), "sub", a, b, size);
    case '*': return add_node(s, tg_mul(t, in(s, a), in(s, b)), "mul", a, b, size);
    default: return add_node(s, tg_div(t, in(s, a), in(s, b)), "div", a, b, size);
    }
}

static int term(pg *s)
{
    int a = unary(s);
    for (;;) {
        skip_space(s);
        if (a < 0 || (*s->p != '*' && *s->p != '/'))
            return a;
        char op = *s->p++;
        int b = unary(s);
        if (b < 0)
            return -1;
        a = binary(s, a, op, b);
    }
}

static int expr(pg *s)
{
    int a = term(s);
    for (;;) {
        skip_space(s);
        if (a < 0 || (*s->p != '+' && *s->p != '-'))
            return a;
        char op = *s->p++;
        int b = term(s);
        if (b < 0)
            return -1;
        a = binary(s, a, op, b);
    }
}

/* Statements "name = expr;" and a last expression: the root's node. */
int pg_program(pg *s)
{
    for (;;) {
        skip_space(s);
        const char *start = s->p;
        char name[32];
        if (read_name(s, name, sizeof name) > 0) {
            skip_space(s);
            if (*s->p == '=') {
                s->p++;
                int k = expr(s);
                if (k < 0)
                    return -1;
                skip_space(s);
                if (*s->p != ';')
                    return pg_fail(s, "column %d: expected ';' after the "
                                "statement that sets %s", column(s), name);
                s->p++;
                if (s->n_names == PG_MAX_NAMES)
                    return pg_fail(s, "too many names");
                snprintf(s->names[s->n_names], sizeof s->names[0], "%s", name);
                s->bound[s->n_names++] = k;
                if (s->nodes[k].label[0] == '\0')
                    snprintf(s->nodes[k].label, sizeof s->nodes[k].label,
                             "%s", name);
                continue;
            }
        }
        s->p = start;
        int k = expr(s);
        skip_space(s);
        if (*s->p == ';') {
            s->p++;
            skip_space(s);
        }
        if (k >= 0 && *s->p != '\0')
            return pg_fail(s, "column %d: unexpected '%c'", column(s), *s->p);
        return k;
    }
}

void pg_init(pg *s, const char *src, const char *leaves)
{
    memset(s, 0, sizeof *s);
    s->src = s->p = src ? src : "";
    s->leaves = leaves ? leaves : "";
    s->tape = tg_tape_new();
}

/*
 * playground.c — the engine side of the autograd playground
 * (docs/playground.md). A small parser maps an expression onto tapegrad
 * ops on one tape, and two calls report what the engine computed, as JSON:
 *
 *   pg_run(src, leaves)   the tape of src: every tensor (leaf, constant or
 *                         op output) with its value and, after
 *                         tg_backward, its gradient; and backward's trace
 *                         (tg_tape_set_trace) cut into one step per entry.
 *   pg_plot(src, leaves, lo, hi, n)
 *                         f, f' and f'' of src over x = linspace(lo, hi, n),
 *                         the derivatives by tg_vjp (f'' with create_graph).
 *
 * src is statements separated by ';': "name = expr" binds a name, and the
 * last expression is f. leaves is "a=2, b=-3": the values of the free
 * names. Expressions: numbers, names, + - * / ^ (a number exponent is
 * tg_pow, a tensor one tg_pow_tensor), unary -, parentheses and the calls
 * in the table funcs[] below. Leaves are f64 scalars or small vectors
 * ("z=[1, 2, 3]"; x is the linspace in pg_plot). Errors are the engine's own message
 * (tg_last_error) or the parser's, with the column.
 *
 * Built for wasm32-wasi into the page (playground/meson.build) and natively
 * as the reference the browser test compares the page with (main below).
 */
#include "tapegrad.h"
#include "tapegrad/vjp.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The first error wins: the engine's message, or the parser's. */
static int fail(pg *s, const char *fmt, ...)
{
    if (s->error[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->error, sizeof s->error, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int engine_fail(pg *s)
{
    return fail(s, "%s", tg_last_error());
}

/* A node for tensor y made by op from inputs a (and b); -1 on failure. */
static int add_node(pg *s, tg_tensor *y, const char *op, int a, int b,
                    long long size_before)
{
    if (y == NULL)
        return engine_fail(s);
    if (s->n_nodes == PG_MAX_NODES)
        return fail(s, "expression too long (more than %d tensors)",
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
                    return fail(s, "leaf '%s': its value is not a number",
                                name);
                }
                for (r++;; r = end + 1) {
                    if (*n == PG_MAX_VECTOR)
                        return fail(s, "leaf '%s': more than %d numbers",
                                    name, PG_MAX_VECTOR);
                    v[*n] = strtod(r, &end);
                    if (end == r)
                        return fail(s, "leaf '%s': write a vector as [1, 2, "
                                    "3]", name);
                    ++*n;
                    while (*end == ' ')
                        end++;
                    if (*end == ']')
                        return 0;
                    if (*end != ',')
                        return fail(s, "leaf '%s': write a vector as [1, "
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
    return fail(s, "no value for '%s' (give it one in the leaves box, "
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
            return engine_fail(s);
    }
    if (tg_set_name(t, name) < 0)
        return engine_fail(s);
    int k = add_node(s, t, "leaf", -1, -1, tg_tape_size(s->tape));
    if (k < 0)
        return -1;
    snprintf(s->nodes[k].label, sizeof s->nodes[k].label, "%s", name);
    if (s->n_names == PG_MAX_NAMES)
        return fail(s, "too many names (more than %d)", PG_MAX_NAMES);
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
                return fail(s, "column %d: %s takes two arguments",
                            column(s), name);
            s->p++;
            if ((b = expr(s)) < 0)
                return -1;
            skip_space(s);
        }
        if (*s->p != ')')
            return fail(s, "column %d: expected ')' to close %s(",
                        column(s), name);
        s->p++;
        long long size = tg_tape_size(s->tape);
        tg_tensor *y = funcs[i].f2 ? funcs[i].f2(s->tape, in(s, a), in(s, b))
                                   : funcs[i].f1(s->tape, in(s, a));
        return add_node(s, y, funcs[i].name, a, b, size);
    }
    return fail(s, "column %d: unknown function '%s' (the playground has "
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
            return fail(s, "column %d: expected ')'", column(s));
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
        return fail(s, "column %d: the expression ends too soon", at);
    return fail(s, "column %d: unexpected '%c'", at, *s->p);
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
static int program(pg *s)
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
                    return fail(s, "column %d: expected ';' after the "
                                "statement that sets %s", column(s), name);
                s->p++;
                if (s->n_names == PG_MAX_NAMES)
                    return fail(s, "too many names");
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
            return fail(s, "column %d: unexpected '%c'", column(s), *s->p);
        return k;
    }
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_string(FILE *f, const char *str)
{
    fputc('"', f);
    for (; *str; str++) {
        unsigned char c = (unsigned char)*str;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* Exact: %.17g reads back as the same double; NaN and infinities as
 * strings, which JSON has no numbers for. */
static void json_number(FILE *f, double v)
{
    if (isnan(v))
        fputs("\"NaN\"", f);
    else if (isinf(v))
        fputs(v > 0 ? "\"Infinity\"" : "\"-Infinity\"", f);
    else
        fprintf(f, "%.17g", v);
}

static void json_array(FILE *f, const tg_tensor *x)
{
    const double *d = tg_data_f64(x);
    fputc('[', f);
    for (int64_t i = 0; i < tg_numel(x); i++) {
        if (i)
            fputc(',', f);
        json_number(f, d[i]);
    }
    fputc(']', f);
}

/* A scalar as a number, anything else as an array (row-major). */
static void json_tensor(FILE *f, const tg_tensor *x)
{
    if (tg_ndim(x) == 0)
        json_number(f, tg_data_f64(x)[0]);
    else
        json_array(f, x);
}

static char *json_error(const char *msg)
{
    char *buf = NULL;
    size_t size;
    FILE *f = open_memstream(&buf, &size);
    if (f == NULL)
        return NULL;
    fputs("{\"ok\":false,\"error\":", f);
    json_string(f, msg);
    fputs("}", f);
    fclose(f);
    return buf;
}

static void pg_init(pg *s, const char *src, const char *leaves)
{
    memset(s, 0, sizeof *s);
    s->src = s->p = src ? src : "";
    s->leaves = leaves ? leaves : "";
    s->tape = tg_tape_new();
}

/* The trace of backward, one step per "backward #k" block. */
static void json_steps(FILE *f, const pg *s, const char *trace)
{
    fputs(",\"steps\":[", f);
    int first = 1;
    for (const char *q = trace; q != NULL && *q != '\0';) {
        long long k;
        if (sscanf(q, "backward #%lld", &k) != 1)
            break;
        const char *next = strstr(q + 1, "backward #");
        size_t len = next ? (size_t)(next - q) : strlen(q);
        char block[2048];
        snprintf(block, sizeof block, "%.*s", (int)len, q);
        int node = -1;
        for (int i = 0; i < s->n_nodes; i++)
            if (s->nodes[i].entry == k)
                node = i;
        fprintf(f, "%s{\"entry\":%lld,\"node\":%d,\"trace\":", first ? "" : ",",
                k, node);
        json_string(f, block);
        fputc('}', f);
        first = 0;
        q = next;
    }
    fputc(']', f);
}

/* The string pg_run and pg_plot return; freed by the next call. */
static char *last_result;

static const char *keep(char *result)
{
    free(last_result);
    last_result = result;
    return result ? result : "{\"ok\":false,\"error\":\"out of memory\"}";
}

const char *pg_run(const char *src, const char *leaves);
const char *pg_plot(const char *src, const char *leaves, double lo, double hi,
                    int n);

const char *pg_run(const char *src, const char *leaves)
{
    static pg s;
    pg_init(&s, src, leaves);
    if (s.tape == NULL)
        return keep(json_error("tg_tape_new: out of memory"));
    tg_tape_set_anomaly(s.tape, true);
    int root = program(&s);
    char *trace = NULL;
    size_t trace_size = 0;
    if (root >= 0 && !tg_requires_grad(s.nodes[root].t))
        fail(&s, "f is a constant: it depends on no leaf, so there is "
             "nothing to differentiate");
    else if (root >= 0) {
        FILE *tf = open_memstream(&trace, &trace_size);
        tg_tape_set_trace(s.tape, tf);
        if (tg_backward(s.tape, s.nodes[root].t) < 0)
            engine_fail(&s);
        tg_tape_set_trace(s.tape, NULL);
        if (tf != NULL)
            fclose(tf);
    }
    if (s.error[0] != '\0') {
        free(trace);
        tg_tape_free(s.tape);
        return keep(json_error(s.error));
    }
    char *buf = NULL;
    size_t size;
    FILE *f = open_memstream(&buf, &size);
    if (f == NULL) {
        free(trace);
        tg_tape_free(s.tape);
        return keep(NULL);
    }
    fprintf(f, "{\"ok\":true,\"root\":%d,\"entries\":%lld,\"nodes\":[", root,
            (long long)tg_tape_size(s.tape));
    for (int i = 0; i < s.n_nodes; i++) {
        const pg_node *n = &s.nodes[i];
        fprintf(f, "%s{\"id\":%d,\"op\":", i ? "," : "", i);
        json_string(f, n->op);
        fputs(",\"label\":", f);
        json_string(f, n->label);
        fputs(",\"in\":[", f);
        for (int j = 0; j < n->n_in; j++)
            fprintf(f, "%s%d", j ? "," : "", n->in[j]);
        fprintf(f, "],\"entry\":%lld,\"value\":", n->entry);
        json_tensor(f, n->t);
        fputs(",\"grad\":", f);
        const tg_tensor *g = tg_grad(n->t);
        if (g != NULL && tg_requires_grad(n->t))
            json_tensor(f, g);
        else
            fputs("null", f);
        fputc('}', f);
    }
    fputc(']', f);
    json_steps(f, &s, trace);
    fputc('}', f);
    fclose(f);
    free(trace);
    tg_tape_free(s.tape);
    return keep(buf);
}

const char *pg_plot(const char *src, const char *leaves, double lo, double hi,
                    int n)
{
    static pg s;
    pg_init(&s, src, leaves);
    if (s.tape == NULL)
        return keep(json_error("tg_tape_new: out of memory"));
    s.x = tg_linspace(s.tape, TG_F64, lo, hi, n);
    if (s.x == NULL || tg_set_requires_grad(s.x, true) < 0)
        engine_fail(&s);
    int root = s.error[0] ? -1 : program(&s);
    tg_tensor *f = root >= 0 ? s.nodes[root].t : NULL, *df = NULL,
              *d2f = NULL;
    bool uses_x = false;
    for (int i = 0; i < s.n_nodes; i++)
        uses_x = uses_x || s.nodes[i].t == s.x;
    if (f != NULL && !uses_x)
        fail(&s, "f does not depend on x: nothing to plot over x");
    else if (f != NULL && (tg_ndim(f) != 1 || tg_numel(f) != n))
        fail(&s, "f is not a function of x alone, point by point (it "
             "reduces over x, or x meets a vector leaf): no plot");
    /* f is elementwise in x, so the vector-Jacobian product with ones is
     * f' at every point; again for f''. */
    char d2_error[512] = "";
    if (s.error[0] == '\0') {
        tg_tensor *x = s.x;
        tg_tensor *ones = tg_ones(s.tape, TG_F64, tg_ndim(f), tg_shape(f));
        tg_vjp_options o = tg_vjp_defaults();
        o.create_graph = true;
        if (ones == NULL)
            engine_fail(&s);
        else if (tg_vjp(s.tape, 1, &f, &ones, 1, &x, &df, &o) < 0) {
            /* An op without backward_ops: f' still, without f''. */
            snprintf(d2_error, sizeof d2_error, "%s", tg_last_error());
            if (tg_vjp(s.tape, 1, &f, &ones, 1, &x, &df, NULL) < 0)
                engine_fail(&s);
        } else if (!tg_requires_grad(df))
            d2f = tg_zeros(s.tape, TG_F64, 1, tg_shape(x)); /* f' constant */
        else if (tg_vjp(s.tape, 1, &df, &ones, 1, &x, &d2f, NULL) < 0)
            snprintf(d2_error, sizeof d2_error, "%s", tg_last_error());
    }
    if (s.error[0] != '\0') {
        tg_tape_free(s.tape);
        return keep(json_error(s.error));
    }
    char *buf = NULL;
    size_t size;
    FILE *out = open_memstream(&buf, &size);
    if (out == NULL) {
        tg_tape_free(s.tape);
        return keep(NULL);
    }
    fputs("{\"ok\":true,\"x\":", out);
    json_array(out, s.x);
    fputs(",\"f\":", out);
    json_array(out, f);
    fputs(",\"df\":", out);
    json_array(out, df);
    if (d2f != NULL) {
        fputs(",\"d2f\":", out);
        json_array(out, d2f);
    } else {
        fputs(",\"d2f_error\":", out);
        json_string(out, d2_error);
    }
    fputc('}', out);
    fclose(out);
    tg_tape_free(s.tape);
    return keep(buf);
}

#ifdef __wasm__
/* The page passes strings through the module's memory. */
__attribute__((export_name("pg_alloc"))) void *pg_alloc(size_t n);
__attribute__((export_name("pg_free"))) void pg_free(void *p);
void *pg_alloc(size_t n)
{
    return malloc(n);
}
void pg_free(void *p)
{
    free(p);
}
#else
/* The native reference: playground-ref run SRC LEAVES, or
 * playground-ref plot SRC LEAVES LO HI N, prints what the page gets. */
int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "run") == 0) {
        puts(pg_run(argv[2], argv[3]));
    } else if (argc == 7 && strcmp(argv[1], "plot") == 0) {
        puts(pg_plot(argv[2], argv[3], atof(argv[4]), atof(argv[5]),
                     atoi(argv[6])));
    } else {
        fprintf(stderr, "usage: %s run SRC LEAVES | plot SRC LEAVES LO HI N\n",
                argv[0]);
        return 2;
    }
    keep(NULL);
    return 0;
}
#endif

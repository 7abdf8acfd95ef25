/*
 * playground.c — the engine side of the autograd playground
 * (docs/playground.md). The parser (parse.c) maps an expression onto
 * tapegrad ops on one tape, and two calls report what the engine computed,
 * as JSON:
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
 * in parse.c's table funcs[]. Leaves are f64 scalars or small vectors
 * ("z=[1, 2, 3]"; x is the linspace in pg_plot). Errors are the engine's
 * own message (tg_last_error) or the parser's, with the column.
 *
 * Built for wasm32-wasi into the page (playground/meson.build) and natively
 * as the reference the browser test compares the page with (main below).
 */
#include "parse.h"
#include "tapegrad/vjp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    int root = pg_program(&s);
    char *trace = NULL;
    size_t trace_size = 0;
    if (root >= 0 && !tg_requires_grad(s.nodes[root].t))
        pg_fail(&s, "f is a constant: it depends on no leaf, so there is "
             "nothing to differentiate");
    else if (root >= 0) {
        FILE *tf = open_memstream(&trace, &trace_size);
        tg_tape_set_trace(s.tape, tf);
        if (tg_backward(s.tape, s.nodes[root].t) < 0)
            pg_engine_fail(&s);
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
        pg_engine_fail(&s);
    int root = s.error[0] ? -1 : pg_program(&s);
    tg_tensor *f = root >= 0 ? s.nodes[root].t : NULL, *df = NULL,
              *d2f = NULL;
    bool uses_x = false;
    for (int i = 0; i < s.n_nodes; i++)
        uses_x = uses_x || s.nodes[i].t == s.x;
    if (f != NULL && !uses_x)
        pg_fail(&s, "f does not depend on x: nothing to plot over x");
    else if (f != NULL && (tg_ndim(f) != 1 || tg_numel(f) != n))
        pg_fail(&s, "f is not a function of x alone, point by point (it "
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
            pg_engine_fail(&s);
        else if (tg_vjp(s.tape, 1, &f, &ones, 1, &x, &df, &o) < 0) {
            /* An op without backward_ops: f' still, without f''. */
            snprintf(d2_error, sizeof d2_error, "%s", tg_last_error());
            if (tg_vjp(s.tape, 1, &f, &ones, 1, &x, &df, NULL) < 0)
                pg_engine_fail(&s);
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

/*
 * test_dot_render.c — tg_tape_dot's output is valid Graphviz for any
 * tensor or op name (issue 17, class 10): names with quotes, braces, pipes,
 * angle brackets, backslashes, newlines, control and malformed bytes are
 * drawn, and `dot` accepts the file without an error or a warning. Run as
 * test_dot_render DOT; exits 77 (skipped) without Graphviz.
 */
#include <tapegrad.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tg_tensor *copy_forward(tg_op_ctx *c)
{
    tg_tensor *y = tg_empty_like(c->tape, c->in[0]);
    if (y != NULL)
        memcpy(tg_mut_f64(y), tg_data_f64(c->in[0]),
               (size_t)tg_numel(y) * sizeof(double));
    return y;
}

static int copy_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                         tg_tensor *const *gx)
{
    (void)c, (void)y;
    if (gx[0] != NULL)
        memcpy(tg_mut_f64(gx[0]), tg_data_f64(gy),
               (size_t)tg_numel(gy) * sizeof(double));
    return TG_OK;
}

static const char *const hostile[] = {
    "\"quoted\" \\ back\\",
    "{brace}|pipe|<port>",
    "}{",
    "<",
    "line\nforged -> op0;\r\t",
    "\x01\x7f\xff\xc3 bytes",
    "\\",
    "caf\xc3\xa9 \xe2\x80\xa8 sep",
};
#define N_HOSTILE (int)(sizeof hostile / sizeof hostile[0])

static int fail(const char *why)
{
    fprintf(stderr, "test_dot_render: %s\n", why);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || access(argv[1], X_OK) != 0) {
        printf("skipped: no Graphviz dot\n");
        return 77;
    }
    static const tg_op user_op = {.name = "op \"{x|<y>}\"\n\\",
                                  .arity = 1, .forward = copy_forward,
                                  .backward = copy_backward};
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F64, 1.5);
    tg_set_requires_grad(x, true);
    tg_set_name(x, hostile[0]);
    for (int i = 1; i < N_HOSTILE; i++) {
        x = i % 2 ? tg_apply(t, &user_op, 1, &x, NULL) : tg_relu(t, x);
        if (x == NULL || tg_set_name(x, hostile[i]) != TG_OK)
            return fail(tg_last_error());
    }
    if (tg_backward(t, x) != TG_OK)
        return fail(tg_last_error());

    char path[] = "/tmp/tg_dot_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL)
        return fail("cannot make a temporary file");
    int rc = tg_tape_dot(t, f);
    fclose(f);
    tg_tape_free(t);
    if (rc != TG_OK) {
        unlink(path);
        return fail(tg_last_error());
    }

    /* -Tplain: one "node" line per tensor and op, one "edge" per arrow;
     * anything on stderr (a warning about a label) fails the test. */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' -Tplain '%s' 2>&1", argv[1], path);
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        unlink(path);
        return fail("cannot run dot");
    }
    char line[4096];
    int nodes = 0, edges = 0, other = 0;
    while (fgets(line, sizeof line, p) != NULL) {
        if (strncmp(line, "node ", 5) == 0)
            nodes++;
        else if (strncmp(line, "edge ", 5) == 0)
            edges++;
        else if (strncmp(line, "graph ", 6) != 0 && strcmp(line, "stop\n") != 0) {
            other++;
            fprintf(stderr, "dot says: %s", line);
        }
    }
    int status = pclose(p);
    unlink(path);
    /* N_HOSTILE tensors and N_HOSTILE - 1 ops, two arrows per op. */
    printf("dot: status %d, %d nodes, %d edges, %d other lines\n", status,
           nodes, edges, other);
    if (status != 0 || other != 0 || nodes != 2 * N_HOSTILE - 1 ||
        edges != 2 * (N_HOSTILE - 1))
        return fail("dot did not accept tg_tape_dot's output as drawn");
    return 0;
}

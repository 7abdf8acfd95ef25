/*
 * dot.c — the tape as a Graphviz picture, as micrograd's draw_dot draws
 * its graph: a box per tensor (name, shape, value, gradient), an ellipse
 * per op call, arrows in the direction data flows.
 */
#include "tapegrad/tape.h"

#include "autograd/entry.h"
#include "autograd/inspect.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_struct.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/*
 * Escape text for a double-quoted dot label. The text has been through
 * tg__escape_text (no control bytes, valid UTF-8), so what is left is
 * dot's own syntax: quotes and backslashes always, and in a record label
 * also the field syntax { } | < >. A backslash from tg__escape_text (as in
 * "\\n") is escaped too, so dot shows it rather than starting a new line.
 */
static void put_escaped(FILE *f, const char *s, bool record)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\' ||
            (record && strchr("{}|<>", *s) != NULL))
            fputc('\\', f);
        fputc(*s, f);
    }
}

static void tensor_node(FILE *f, const tg_tensor *x)
{
    char d[TG__DESCRIBED], v[256], g[256];
    tg__describe(x, d, sizeof d);
    tg__summarise(x, v, sizeof v);
    fprintf(f, "  t%p [shape=record, label=\"{", (const void *)x);
    put_escaped(f, d, true);
    fputs(" | value ", f);
    put_escaped(f, v, true);
    if (x->grad != NULL && x->grad_state != TG__GRAD_STALE) {
        tg__summarise(x->grad, g, sizeof g);
        fputs(" | grad ", f);
        put_escaped(f, g, true);
    }
    fprintf(f, "}\"%s];\n", x->requires_grad ? "" : ", style=dashed");
}

int tg_tape_dot(const tg_tape *t, FILE *f)
{
    if (t == NULL || f == NULL)
        return tg_set_error(TG_EINVAL, "tg_tape_dot: tape or file is NULL");
    /* An input of another tape, reset since, may now be any bytes: check
     * every entry before writing anything (as tg_backward does). */
    for (int64_t k = 0; k < t->n_entries; k++) {
        int rc = tg__entry_check_inputs(&t->entries[k], "tg_tape_dot");
        if (rc != TG_OK)
            return rc;
    }
    fputs("digraph tape {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n",
          f);
    for (int64_t k = 0; k < t->n_entries; k++) {
        const tg__entry *e = &t->entries[k];
        /* Leaves have no entry of their own: draw them with their first user. */
        for (int i = 0; i < e->n; i++)
            if (e->in[i]->creator < 0 || e->in[i]->tape != t)
                tensor_node(f, e->in[i]);
        tensor_node(f, e->out);
        char op[TG__NAME_ESCAPED];
        fprintf(f, "  op%lld [label=\"", (long long)k);
        put_escaped(f, tg__escape_name(e->op->name, op), false);
        fputs("\", shape=ellipse];\n", f);
        for (int i = 0; i < e->n; i++)
            fprintf(f, "  t%p -> op%lld;\n", (const void *)e->in[i],
                    (long long)k);
        fprintf(f, "  op%lld -> t%p;\n", (long long)k, (const void *)e->out);
    }
    fputs("}\n", f);
    return ferror(f) ? tg_set_error(TG_EIO, "tg_tape_dot: write failed")
                     : TG_OK;
}

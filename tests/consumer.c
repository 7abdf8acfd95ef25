/*
 * consumer.c — a program an outside user writes: it sees only the
 * installed (or subproject's) headers and library, and checks that they
 * agree with each other and with the project's version, then runs the
 * seed: relu(x).sum().backward() on five points.
 *
 * Built by check_install.py (against `pkg-config --cflags --libs
 * tapegrad` in a DESTDIR) and by tests/subproject/ (through Meson's
 * dependency('tapegrad')). TG_EXPECT_VERSION is the version Meson's
 * project() declares.
 */
#include <tapegrad.h>

#include <stdio.h>
#include <string.h>

#define STR2(x) #x
#define STR(x) STR2(x)

static int check_version(void)
{
    const char *composed = STR(TG_VERSION_MAJOR) "." STR(TG_VERSION_MINOR)
        "." STR(TG_VERSION_PATCH);
    if (strcmp(composed, TG_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: version macros say %s, the string %s\n",
                composed, TG_VERSION_STRING);
        return 1;
    }
    if (strcmp(tg_version(), TG_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: the library is %s, its header %s\n",
                tg_version(), TG_VERSION_STRING);
        return 1;
    }
#ifdef TG_EXPECT_VERSION
    if (strcmp(TG_VERSION_STRING, TG_EXPECT_VERSION) != 0) {
        fprintf(stderr, "consumer: the header says %s, meson.build %s\n",
                TG_VERSION_STRING, TG_EXPECT_VERSION);
        return 1;
    }
#endif
    return 0;
}

int main(void)
{
    if (check_version() != 0)
        return 1;
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_linspace(t, TG_F64, -2.0, 2.0, 5);
    tg_set_requires_grad(x, true);
    int rc = tg_backward(t, tg_sum(t, tg_relu(t, x)));
    const double want[5] = {0, 0, 0, 1, 1};
    const double *g = rc == TG_OK ? tg_data_f64(tg_grad(x)) : NULL;
    for (int i = 0; g != NULL && i < 5; i++)
        if (g[i] != want[i])
            g = NULL;
    if (g == NULL)
        fprintf(stderr, "consumer: wrong gradient (%s)\n", tg_last_error());
    else
        printf("tapegrad %s: d sum(relu(x)) / dx = 0 0 0 1 1\n", tg_version());
    tg_tape_free(t);
    return g == NULL;
}

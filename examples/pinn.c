/*
 * pinn.c — a physics-informed network: a tiny MLP learns the solution of
 *
 *     u'(x) = -u(x) on [0, 2],  u(0) = 1      (exactly u = exp(-x))
 *
 * from the equation alone, with no samples of the solution. The loss is
 *
 *     mean_i (u'(x_i) + u(x_i))^2  +  (u(0) - 1)^2
 *
 * on collocation points x_i, where u' is the derivative of the network
 * with respect to its input, taken inside the loss: tg_vjp with
 * create_graph records du/dx on the step tape, so tg_backward can
 * differentiate the loss, u' included, with respect to the weights. (The
 * network acts on each point separately, so the VJP with a vector of ones
 * gives every u'(x_i) at once.)
 *
 * Network 1-16-16-1 with tanh, f64, PyTorch's initialisation from a
 * seeded generator; Adam, full batch. Prints the loss as it trains, then
 * the max error against exp(-x) on 201 points of [0, 2].
 */
#include <tapegrad.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_COLLOCATION 64
#define N_EVAL 201

typedef struct pinn {
    tg_tape *tape;       /* parameters and optimizer state */
    tg_params *params;
    tg_mlp *net;
    tg_optimizer *opt;
} pinn;

static int pinn_new(pinn *m, uint64_t seed, double lr)
{
    tg_rng rng;
    int64_t widths[] = {1, 16, 16, 1};
    int rc = tg_rng_seed(&rng, seed, 0);
    m->tape = tg_tape_new();
    m->params = tg_params_new(m->tape);
    m->net = tg_mlp_new(m->tape, m->params, &rng, TG_F64, 4, widths,
                        tg_tanh);
    tg_adam_options adam = tg_adam_defaults();
    adam.lr = lr;
    m->opt = m->net != NULL ? tg_adam_new(m->tape, m->params, &adam) : NULL;
    return rc != TG_OK ? rc : m->opt != NULL ? TG_OK : tg_last_status();
}

/* u at n points x (shape (n, 1)) of tape t. */
static tg_tensor *u_at(tg_tape *t, const pinn *m, tg_tensor *x)
{
    return tg_mlp_forward(t, m->net, x);
}

/* The loss on the step tape t: the residual of u' = -u at the collocation
 * points plus the initial condition. */
static tg_tensor *physics_loss(tg_tape *t, const pinn *m)
{
    int64_t shape[2] = {N_COLLOCATION, 1}, one[2] = {1, 1};
    tg_tensor *x = tg_reshape(t, tg_linspace(t, TG_F64, 0.0, 2.0,
                                             N_COLLOCATION), 2, shape);
    if (tg_set_requires_grad(x, true) != TG_OK)
        return NULL;
    tg_tensor *u = u_at(t, m, x);
    tg_tensor *ones = tg_ones(t, TG_F64, 2, shape), *du;
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = true; /* du/dx, recorded: the loss depends on it */
    if (u == NULL || ones == NULL ||
        tg_vjp(t, 1, &u, &ones, 1, &x, &du, &o) != TG_OK)
        return NULL;
    tg_tensor *residual = tg_add(t, du, u);
    tg_tensor *u0 = u_at(t, m, tg_zeros(t, TG_F64, 2, one));
    tg_tensor *initial = tg_add_scalar(t, u0, -1.0);
    return tg_add(t, tg_mean(t, tg_mul(t, residual, residual)),
                  tg_sum(t, tg_mul(t, initial, initial)));
}

/* max over N_EVAL points of [0, 2] of |u(x) - exp(-x)|, with grad off. */
static int max_error(const pinn *m, double *err, double *at)
{
    tg_tape *t = tg_tape_new();
    if (t == NULL)
        return tg_last_status();
    tg_tape_set_grad_enabled(t, false);
    int64_t shape[2] = {N_EVAL, 1};
    tg_tensor *x = tg_reshape(t, tg_linspace(t, TG_F64, 0.0, 2.0, N_EVAL), 2,
                              shape);
    tg_tensor *u = u_at(t, m, x);
    int rc = u != NULL ? TG_OK : tg_last_status();
    *err = 0;
    for (int64_t i = 0; i < N_EVAL && rc == TG_OK; i++) {
        double xi = tg_data_f64(x)[i];
        double e = fabs(tg_data_f64(u)[i] - exp(-xi));
        if (e > *err) {
            *err = e;
            *at = xi;
        }
    }
    tg_tape_free(t);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pinn [--steps K] [--seed S] [--quiet]\n"
            "\n"
            "Trains an MLP 1-16-16-1 (tanh) so that u' = -u on [0, 2] and\n"
            "u(0) = 1, with u' = du/dx from tg_vjp(create_graph) inside the\n"
            "loss, then prints the max error against exp(-x).\n"
            "\n"
            "  --steps K  Adam steps (default 1500)\n"
            "  --seed S   initialisation seed (default 7)\n"
            "  --quiet    print only the last line\n");
}

/* 0 to run, 1 after --help, -1 on a usage error. */
static int parse_args(int argc, char **argv, int *steps, uint64_t *seed,
                      bool *quiet)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(a, "--quiet") == 0) {
            *quiet = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        char *end = NULL;
        errno = 0;
        if (v != NULL && strcmp(a, "--steps") == 0) {
            long k = strtol(v, &end, 10);
            *steps = (int)k;
            if (errno == 0 && end != v && *end == '\0' && k >= 1 &&
                k <= 10000000)
                continue;
        } else if (v != NULL && strcmp(a, "--seed") == 0) {
            *seed = strtoull(v, &end, 10);
            if (errno == 0 && end != v && *end == '\0' && v[0] != '-')
                continue;
        } else {
            fprintf(stderr, "pinn: unknown or incomplete option \"%s\"\n", a);
            usage(stderr);
            return -1;
        }
        fprintf(stderr, "pinn: bad value \"%s\" for %s (--steps: 1 to "
                "10000000; --seed: a whole number >= 0)\n", v, a);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int steps = 1500;
    uint64_t seed = 7;
    bool quiet = false;
    int parsed = parse_args(argc, argv, &steps, &seed, &quiet);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    pinn m = {0};
    tg_tape *step = tg_tape_new();
    int rc = step != NULL ? pinn_new(&m, seed, 1e-2) : tg_last_status();
    double loss = 0, err = 0, at = 0;
    for (int k = 0; k < steps && rc == TG_OK; k++) {
        /* Step decay: 1e-2, then 1e-3 for the last third. */
        if (k == 2 * steps / 3)
            rc = tg_optimizer_set_lr(m.opt, 1e-3);
        tg_tensor *l = rc == TG_OK ? physics_loss(step, &m) : NULL;
        if (l == NULL)
            rc = tg_last_status();
        if (rc == TG_OK)
            rc = tg_params_zero_grad(m.params);
        if (rc == TG_OK)
            rc = tg_backward(step, l);
        if (rc == TG_OK) {
            loss = tg_item(l);
            rc = tg_optimizer_step(m.opt);
        }
        if (rc == TG_OK && !quiet && (k % 100 == 0 || k == steps - 1))
            printf("step %5d  loss %.3e\n", k, loss);
        tg_tape_reset(step);
    }
    if (rc == TG_OK)
        rc = max_error(&m, &err, &at);
    if (rc == TG_OK)
        printf("trained %d steps: loss %.3e, max |u(x) - exp(-x)| on "
               "[0, 2] = %.3e (at x = %.2f)\n", steps, loss, err, at);
    else
        fprintf(stderr, "pinn: %s\n", tg_last_error());
    tg_tape_free(step);
    tg_tape_free(m.tape);
    return rc == TG_OK ? 0 : 1;
}

/*
 * newton.c — Newton's method from Hessian-vector products, against
 * gradient descent, on a small L2-regularised logistic regression.
 *
 *     f(w) = mean_i softplus(-y_i x_i . w) + (lambda / 2) |w|^2
 *
 * with N points x_i in R^D (a bias column and D - 1 features of unequal
 * scales, so that the problem is badly conditioned) and labels y_i = +-1
 * from a noisy linear rule, all drawn from tapegrad's seeded generator.
 *
 * Newton: solve H p = -g by conjugate gradients, where each product H v is
 * one tg_hvp (two reverse passes; the Hessian itself is never formed),
 * then step w += t p with a backtracking line search (t = 1 almost always).
 * Gradient descent: w -= g / L, where L = the largest eigenvalue of the
 * Hessian at w = 0, found by power iteration with tg_hvp. Since sigmoid'
 * <= 1/4, that Hessian bounds every other one, so 1 / L is the classic
 * safe step. Both run from w = 0 until |g| < --tol and print their steps;
 * the last line compares them.
 */
#include <tapegrad.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_POINTS 400
#define DIM 6
#define LAMBDA 1e-3

typedef struct problem {
    double x[N_POINTS][DIM];
    double y[N_POINTS]; /* -1 or +1 */
} problem;

/* The data set: x_i0 = 1 (bias); feature j scaled by scale[j]; y from a
 * fixed rule plus noise, so that the classes overlap (the optimum is
 * finite even without the penalty). */
static int make_problem(problem *p, uint64_t seed)
{
    static const double scale[DIM] = {1.0, 4.0, 0.25, 2.0, 1.0, 0.5};
    static const double rule[DIM] = {0.3, 0.5, -4.0, 1.0, -1.5, 2.0};
    tg_rng rng;
    int rc = tg_rng_seed(&rng, seed, 0);
    for (int i = 0; i < N_POINTS && rc == TG_OK; i++) {
        double s = 0;
        p->x[i][0] = 1.0;
        for (int j = 1; j < DIM; j++)
            p->x[i][j] = scale[j] * tg_rng_normal(&rng);
        for (int j = 0; j < DIM; j++)
            s += rule[j] * p->x[i][j];
        p->y[i] = s + 1.5 * tg_rng_normal(&rng) > 0 ? 1.0 : -1.0;
    }
    return rc;
}

/* f(w) recorded on t, with *w_leaf the leaf holding w (requires grad). */
static tg_tensor *loss(tg_tape *t, const problem *p, const double *w,
                       tg_tensor **w_leaf)
{
    int64_t xs[2] = {N_POINTS, DIM}, ws[2] = {DIM, 1}, ys[2] = {N_POINTS, 1};
    tg_tensor *x = tg_from_data(t, TG_F64, 2, xs, p->x);
    tg_tensor *y = tg_from_data(t, TG_F64, 2, ys, p->y);
    *w_leaf = tg_from_data(t, TG_F64, 2, ws, w);
    if (tg_set_requires_grad(*w_leaf, true) != TG_OK)
        return NULL;
    tg_tensor *margin = tg_mul(t, y, tg_matmul(t, x, *w_leaf));
    tg_tensor *data = tg_mean(t, tg_softplus(t, tg_neg(t, margin), 1.0,
                                             20.0));
    tg_tensor *penalty = tg_mul_scalar(t, tg_sum(t, tg_mul(t, *w_leaf,
                                                           *w_leaf)),
                                       LAMBDA / 2);
    return tg_add(t, data, penalty);
}

/* f(w) and, when g is not NULL, its gradient, on t (reset first). */
static int value_and_grad(tg_tape *t, const problem *p, const double *w,
                          double *f, double *g)
{
    tg_tape_reset(t);
    tg_tensor *leaf, *grad;
    tg_tensor *fx = loss(t, p, w, &leaf);
    if (fx == NULL)
        return tg_last_status();
    *f = tg_item(fx);
    if (g == NULL)
        return TG_OK;
    int rc = tg_vjp(t, 1, &fx, NULL, 1, &leaf, &grad, NULL);
    if (rc == TG_OK)
        memcpy(g, tg_data_f64(grad), DIM * sizeof *g);
    return rc;
}

/* hv = H(w) v by tg_hvp, on t (which holds f(w) and its leaf). */
static int hessian_times(tg_tape *t, tg_tensor *f, tg_tensor *leaf,
                         const double *v, double *hv)
{
    int64_t ws[2] = {DIM, 1};
    tg_tensor *vt = tg_from_data(t, TG_F64, 2, ws, v), *h;
    if (vt == NULL)
        return tg_last_status();
    int rc = tg_hvp(t, f, 1, &leaf, &vt, &h, NULL);
    if (rc == TG_OK)
        memcpy(hv, tg_data_f64(h), DIM * sizeof *hv);
    return rc;
}

static double dot(const double *a, const double *b)
{
    double s = 0;
    for (int j = 0; j < DIM; j++)
        s += a[j] * b[j];
    return s;
}

/*
 * p ~= -H^-1 g by conjugate gradients from p = 0, stopping when the
 * residual is below eta |g| (eta = min(0.5, |g|): the inexact Newton rule
 * that keeps convergence quadratic). Returns the number of products H v
 * in *n_hvp.
 */
static int newton_direction(tg_tape *t, const problem *p, const double *w,
                            const double *g, double *dir, int *n_hvp)
{
    tg_tape_reset(t);
    tg_tensor *leaf;
    tg_tensor *f = loss(t, p, w, &leaf);
    if (f == NULL)
        return tg_last_status();
    double r[DIM], d[DIM], hd[DIM];
    double gnorm = sqrt(dot(g, g));
    double eta = gnorm < 0.5 ? gnorm : 0.5;
    for (int j = 0; j < DIM; j++) {
        dir[j] = 0;
        r[j] = -g[j];   /* r = -g - H p */
        d[j] = r[j];
    }
    double rr = dot(r, r);
    for (int k = 0; k < 2 * DIM && sqrt(rr) > eta * gnorm; k++) {
        int rc = hessian_times(t, f, leaf, d, hd);
        if (rc != TG_OK)
            return rc;
        ++*n_hvp;
        double alpha = rr / dot(d, hd);
        for (int j = 0; j < DIM; j++) {
            dir[j] += alpha * d[j];
            r[j] -= alpha * hd[j];
        }
        double rr_next = dot(r, r);
        for (int j = 0; j < DIM; j++)
            d[j] = r[j] + rr_next / rr * d[j];
        rr = rr_next;
    }
    return TG_OK;
}

static int newton(tg_tape *t, const problem *p, double tol, int max_steps,
                  double *w, int *steps, int *n_hvp)
{
    double g[DIM], dir[DIM] = {0}, f = 0, f_new = 0, trial[DIM] = {0};
    memset(w, 0, DIM * sizeof *w);
    *n_hvp = 0;
    for (*steps = 0;; ++*steps) {
        int rc = value_and_grad(t, p, w, &f, g);
        if (rc != TG_OK)
            return rc;
        printf("newton   step %3d  f = %.15f  |g| = %.3e\n", *steps, f,
               sqrt(dot(g, g)));
        if (sqrt(dot(g, g)) < tol || *steps == max_steps)
            return TG_OK;
        if ((rc = newton_direction(t, p, w, g, dir, n_hvp)) != TG_OK)
            return rc;
        /* Backtracking (Armijo): halve until f falls enough. */
        double step = 1.0;
        for (int k = 0; k < 40; k++, step /= 2) {
            for (int j = 0; j < DIM; j++)
                trial[j] = w[j] + step * dir[j];
            if ((rc = value_and_grad(t, p, trial, &f_new, NULL)) != TG_OK)
                return rc;
            if (f_new <= f + 1e-4 * step * dot(g, dir))
                break;
        }
        memcpy(w, trial, sizeof trial);
    }
}

/* The largest eigenvalue of H(0), by 100 rounds of power iteration. */
static int lipschitz(tg_tape *t, const problem *p, double *L)
{
    double w[DIM] = {0}, v[DIM], hv[DIM];
    tg_tape_reset(t);
    tg_tensor *leaf;
    tg_tensor *f = loss(t, p, w, &leaf);
    if (f == NULL)
        return tg_last_status();
    for (int j = 0; j < DIM; j++)
        v[j] = 1.0;
    *L = 0;
    for (int k = 0; k < 100; k++) {
        double norm = sqrt(dot(v, v));
        for (int j = 0; j < DIM; j++)
            v[j] /= norm;
        int rc = hessian_times(t, f, leaf, v, hv);
        if (rc != TG_OK)
            return rc;
        *L = dot(v, hv);
        memcpy(v, hv, sizeof hv);
    }
    return TG_OK;
}

static int gradient_descent(tg_tape *t, const problem *p, double tol,
                            int max_steps, double lr, double *w, int *steps)
{
    double g[DIM], f;
    memset(w, 0, DIM * sizeof *w);
    for (*steps = 0;; ++*steps) {
        int rc = value_and_grad(t, p, w, &f, g);
        if (rc != TG_OK)
            return rc;
        double gnorm = sqrt(dot(g, g));
        bool done = gnorm < tol || *steps == max_steps;
        if (done || *steps < 5 || (*steps & (*steps - 1)) == 0)
            printf("gd       step %5d  f = %.15f  |g| = %.3e\n", *steps, f,
                   gnorm);
        if (done)
            return TG_OK;
        for (int j = 0; j < DIM; j++)
            w[j] -= lr * g[j];
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: newton [--tol T] [--seed S] [--max-steps K]\n"
            "\n"
            "Fits an L2-regularised logistic regression (%d points, %d\n"
            "weights, seeded data) twice from w = 0: by Newton's method, with\n"
            "conjugate gradients on Hessian-vector products (tg_hvp), and by\n"
            "gradient descent with step 1/L. Each stops when |gradient| < T\n"
            "and prints its steps; the last line compares them.\n"
            "\n"
            "  --tol T        gradient norm to reach (default 1e-8)\n"
            "  --seed S       data seed (default 12)\n"
            "  --max-steps K  give up after K steps (default 1000000)\n",
            N_POINTS, DIM);
}

/* 0 to run, 1 after --help, -1 on a usage error. */
static int parse_args(int argc, char **argv, double *tol, uint64_t *seed,
                      int *max_steps)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        char *end = NULL;
        errno = 0;
        if (v != NULL && strcmp(a, "--tol") == 0) {
            *tol = strtod(v, &end);
            if (errno == 0 && end != v && *end == '\0' && *tol > 0 &&
                *tol < 1)
                continue;
        } else if (v != NULL && strcmp(a, "--seed") == 0) {
            *seed = strtoull(v, &end, 10);
            if (errno == 0 && end != v && *end == '\0' && v[0] != '-')
                continue;
        } else if (v != NULL && strcmp(a, "--max-steps") == 0) {
            long k = strtol(v, &end, 10);
            *max_steps = (int)k;
            if (errno == 0 && end != v && *end == '\0' && k >= 1 &&
                k <= 100000000)
                continue;
        } else {
            fprintf(stderr, "newton: unknown or incomplete option \"%s\"\n",
                    a);
            usage(stderr);
            return -1;
        }
        fprintf(stderr, "newton: bad value \"%s\" for %s (--tol: 0 < T < 1; "
                "--seed: a whole number >= 0; --max-steps: 1 to "
                "100000000)\n", v, a);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    double tol = 1e-8;
    uint64_t seed = 12;
    int max_steps = 1000000;
    int parsed = parse_args(argc, argv, &tol, &seed, &max_steps);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    static problem p;
    tg_tape *t = tg_tape_new();
    double w_newton[DIM], w_gd[DIM], L = 0, f_newton = 0, f_gd = 0;
    int newton_steps = 0, n_hvp = 0, gd_steps = 0;
    int rc = t != NULL ? make_problem(&p, seed) : TG_ENOMEM;
    if (rc == TG_OK)
        rc = newton(t, &p, tol, max_steps, w_newton, &newton_steps, &n_hvp);
    if (rc == TG_OK)
        rc = lipschitz(t, &p, &L);
    if (rc == TG_OK) {
        printf("gd       step size 1/L, L = %.6g (largest eigenvalue of the "
               "Hessian at w = 0)\n", L);
        rc = gradient_descent(t, &p, tol, max_steps, 1.0 / L, w_gd,
                              &gd_steps);
    }
    if (rc == TG_OK)
        rc = value_and_grad(t, &p, w_newton, &f_newton, NULL);
    if (rc == TG_OK)
        rc = value_and_grad(t, &p, w_gd, &f_gd, NULL);
    if (rc != TG_OK) {
        fprintf(stderr, "newton: %s\n", tg_last_error());
        tg_tape_free(t);
        return 1;
    }
    double dist = 0;
    for (int j = 0; j < DIM; j++)
        dist += (w_newton[j] - w_gd[j]) * (w_newton[j] - w_gd[j]);
    printf("w (newton) =");
    for (int j = 0; j < DIM; j++)
        printf(" %.9f", w_newton[j]);
    printf("\n");
    printf("summary: newton %d steps (%d Hessian-vector products), gradient "
           "descent %d steps, to |g| < %g; f = %.15f and %.15f; "
           "|w_newton - w_gd| = %.3e\n", newton_steps, n_hvp, gd_steps, tol,
           f_newton, f_gd, sqrt(dist));
    tg_tape_free(t);
    return 0;
}

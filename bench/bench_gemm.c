/*
 * bench_gemm.c — GFLOP/s of the matrix multiply at the shapes of a small
 * MLP (batch 64, layers 784->256 and 256->10): each layer's forward
 * X W^T and its two gradients dY^T X and dY W, in f32 and f64.
 *
 * For each shape it times the plain reference loop, tapegrad's gemm at
 * every instruction set the machine has (portable C, AVX2, AVX-512), and
 * OpenBLAS when its shared library can be loaded (it is optional: nothing
 * is linked against it, unless tapegrad was built with -Dblas=enabled,
 * where tapegrad's gemm is CBLAS and gets one row). OpenBLAS runs on one
 * thread; its kernel choice follows OPENBLAS_CORETYPE if that is set.
 * Results are checked against the reference loop, so a fast wrong kernel
 * shows up here too.
 *
 *     bench_gemm [seconds per measurement, default 0.2] [name prefix]
 *
 * With a prefix (say W7), only the shapes whose names start with it run.
 * The W7 shapes run in f32 only, the precision W7 trains in; a W7 sdpa
 * row is one head's product, which attention.c makes 6 times per head
 * and step (W7: 128 heads per block).
 */
#include "tensor/gemm.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One product: C (m x n) = op(A) op(B), as matmul and its gradients call. */
typedef struct shape {
    const char *name;
    bool ta, tb;
    int64_t m, n, k;
} shape;

static const shape shapes[] = {
    {"L1 fwd   X W^T   64x784 @ (256x784)^T", false, true, 64, 256, 784},
    {"L1 dW    dY^T X  (64x256)^T @ 64x784", true, false, 256, 784, 64},
    {"L1 dX    dY W    64x256 @ 256x784", false, false, 64, 784, 256},
    {"L2 fwd   X W^T   64x256 @ (10x256)^T", false, true, 64, 10, 256},
    {"L2 dW    dY^T X  (64x10)^T @ 64x256", true, false, 10, 256, 64},
    {"L2 dX    dY W    64x10 @ 10x256", false, false, 64, 256, 10},
    /* W7's MLP (512 positions, 64 -> 256 -> 64) and its q, k, v
     * projection (64 -> 192), f32 only (see main). */
    {"W7 fc1 fwd X W^T 512x64 @ (256x64)^T", false, true, 512, 256, 64},
    {"W7 fc1 dW dY^T X (512x256)^T @ 512x64", true, false, 256, 64, 512},
    {"W7 fc1 dX dY W   512x256 @ 256x64", false, false, 512, 64, 256},
    {"W7 fc2 fwd X W^T 512x256 @ (64x256)^T", false, true, 512, 64, 256},
    {"W7 fc2 dW dY^T X (512x64)^T @ 512x256", true, false, 64, 256, 512},
    {"W7 fc2 dX dY W   512x64 @ 64x256", false, false, 512, 256, 64},
    {"W7 qkv fwd X W^T 512x64 @ (192x64)^T", false, true, 512, 192, 64},
    /* one head of W7's attention (16 positions, head size 16): scores
     * q k^T, p v, and the backward's p^T g and ds^T q. */
    {"W7 sdpa q k^T    16x16 @ (16x16)^T", false, true, 16, 16, 16},
    {"W7 sdpa p v      16x16 @ 16x16", false, false, 16, 16, 16},
    {"W7 sdpa p^T g    (16x16)^T @ 16x16", true, false, 16, 16, 16},
};

/* OpenBLAS's cblas entry points, found at run time. */
typedef void sgemm_fn(int order, int ta, int tb, int m, int n, int k,
                      float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, float *C, int ldc);
typedef void dgemm_fn(int order, int ta, int tb, int m, int n, int k,
                      double alpha, const double *A, int lda,
                      const double *B, int ldb, double beta, double *C,
                      int ldc);
static sgemm_fn *ob_sgemm;
static dgemm_fn *ob_dgemm;
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* dlsym's object pointer as a function pointer, without a cast ISO C lacks. */
static void *symbol(void *lib, const char *name)
{
    return lib ? dlsym(lib, name) : NULL;
}

/* Load OpenBLAS on one thread if it is installed; say which kernels. */
static void load_openblas(void)
{
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    void *lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
        lib = dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
    void *s = symbol(lib, "cblas_sgemm"), *d = symbol(lib, "cblas_dgemm");
    void *core = symbol(lib, "openblas_get_corename");
    if (s == NULL || d == NULL) {
        printf("OpenBLAS: not found (optional)\n");
        return;
    }
    memcpy(&ob_sgemm, &s, sizeof s);
    memcpy(&ob_dgemm, &d, sizeof d);
    const char *(*corename)(void) = NULL;
    if (core != NULL)
        memcpy(&corename, &core, sizeof core);
    /* Also when tapegrad itself is linked to OpenBLAS (-Dblas=enabled):
     * the library is then loaded before main and has read the variable. */
    void *set_threads = symbol(lib, "openblas_set_num_threads");
    if (set_threads != NULL) {
        void (*set)(int);
        memcpy(&set, &set_threads, sizeof set_threads);
        set(1);
    }
    const char *env = getenv("OPENBLAS_CORETYPE");
    printf("OpenBLAS: core %s (OPENBLAS_CORETYPE=%s), 1 thread\n",
           corename ? corename() : "?", env ? env : "unset");
}

/* The reference: the straightforward triple loop the kernel replaced. */
#define REFERENCE(T, suffix)                                                  \
    static void ref_##suffix(const shape *s, const T *A, int64_t lda,        \
                             const T *B, int64_t ldb, T *C, int64_t ldc)     \
    {                                                                         \
        for (int64_t i = 0; i < s->m; i++)                                    \
            for (int64_t j = 0; j < s->n; j++) {                              \
                T acc = 0;                                                    \
                for (int64_t p = 0; p < s->k; p++)                            \
                    acc += (s->ta ? A[p * lda + i] : A[i * lda + p]) *        \
                           (s->tb ? B[j * ldb + p] : B[p * ldb + j]);         \
                C[i * ldc + j] = acc;                                         \
            }                                                                 \
    }
REFERENCE(float, f32)
REFERENCE(double, f64)

enum { REF = -2, OPENBLAS = -1 }; /* other methods: an ISA level */

/* Run one method once on the shape. */
static void run(int method, bool f64, const shape *s, const void *A,
                int64_t lda, const void *B, int64_t ldb, void *C)
{
    int ta = s->ta ? CBLAS_TRANS : CBLAS_NO_TRANS;
    int tb = s->tb ? CBLAS_TRANS : CBLAS_NO_TRANS;
    if (method == REF && f64)
        ref_f64(s, A, lda, B, ldb, C, s->n);
    else if (method == REF)
        ref_f32(s, A, lda, B, ldb, C, s->n);
    else if (method == OPENBLAS && f64)
        ob_dgemm(CBLAS_ROW_MAJOR, ta, tb, (int)s->m, (int)s->n, (int)s->k, 1,
                 A, (int)lda, B, (int)ldb, 0, C, (int)s->n);
    else if (method == OPENBLAS)
        ob_sgemm(CBLAS_ROW_MAJOR, ta, tb, (int)s->m, (int)s->n, (int)s->k, 1,
                 A, (int)lda, B, (int)ldb, 0, C, (int)s->n);
    else if (f64)
        tg__gemm_f64(s->ta, s->tb, s->m, s->n, s->k, A, lda, B, ldb, 0, C,
                     s->n);
    else
        tg__gemm_f32(s->ta, s->tb, s->m, s->n, s->k, A, lda, B, ldb, 0, C,
                     s->n);
}

/*
 * Best GFLOP/s over batches of about 2 ms run for `budget` seconds: the
 * machine may be shared, and the best batch is the one least disturbed.
 */
static double measure(int method, bool f64, const shape *s, const void *A,
                      int64_t lda, const void *B, int64_t ldb, void *C,
                      double budget)
{
    double flops = 2.0 * (double)s->m * (double)s->n * (double)s->k;
    long reps = 1;
    double t0 = seconds();
    run(method, f64, s, A, lda, B, ldb, C);
    double once = seconds() - t0;
    if (once < 2e-3)
        reps = (long)(2e-3 / (once > 1e-9 ? once : 1e-9)) + 1;
    double best = 0, start = seconds();
    do {
        t0 = seconds();
        for (long r = 0; r < reps; r++)
            run(method, f64, s, A, lda, B, ldb, C);
        double rate = flops * (double)reps / (seconds() - t0) * 1e-9;
        best = rate > best ? rate : best;
    } while (seconds() - start < budget);
    return best;
}

/* Largest |got - want| relative to the largest |want|. */
static double max_error(bool f64, const void *got, const void *want,
                        int64_t count)
{
    double err = 0, scale = 0;
    for (int64_t i = 0; i < count; i++) {
        double g = f64 ? ((const double *)got)[i] : ((const float *)got)[i];
        double w = f64 ? ((const double *)want)[i] : ((const float *)want)[i];
        err = fmax(err, fabs(g - w));
        scale = fmax(scale, fabs(w));
    }
    return scale > 0 ? err / scale : err;
}

static void fill(bool f64, void *x, int64_t count)
{
    for (int64_t i = 0; i < count; i++) {
        double v = (double)rand() / RAND_MAX - 0.5;
        if (f64)
            ((double *)x)[i] = v;
        else
            ((float *)x)[i] = (float)v;
    }
}

/* Time every method on one shape and print a line for each. */
static void bench_shape(bool f64, const shape *s, double budget)
{
    size_t es = f64 ? sizeof(double) : sizeof(float);
    int64_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    void *A = malloc((size_t)(s->m * s->k) * es);
    void *B = malloc((size_t)(s->k * s->n) * es);
    void *want = malloc((size_t)(s->m * s->n) * es);
    void *C = malloc((size_t)(s->m * s->n) * es);
    fill(f64, A, s->m * s->k);
    fill(f64, B, s->k * s->n);
    run(REF, f64, s, A, lda, B, ldb, want);
    printf("%s %s  m=%lld n=%lld k=%lld\n", f64 ? "f64" : "f32", s->name,
           (long long)s->m, (long long)s->n, (long long)s->k);
    int top = tg__gemm_limit_isa(2);
    char last[128] = "";
    for (int method = REF; method <= top; method++) {
        if (method == OPENBLAS && ob_sgemm == NULL)
            continue;
        if (method >= 0)
            tg__gemm_limit_isa(method);
        /* tapegrad's rows are named by its backend; a -Dblas=enabled
         * build runs CBLAS at every level, so one row is enough. */
        const char *name = method == REF        ? "reference loop"
                           : method == OPENBLAS ? "OpenBLAS (dlopen)"
                                                : tg__gemm_backend();
        if (strcmp(name, last) == 0)
            continue;
        snprintf(last, sizeof last, "%s", name);
        double g = measure(method, f64, s, A, lda, B, ldb, C,
                           method == REF ? budget / 4 : budget);
        printf("  %-20s %7.1f GFLOP/s   max rel. error %.1e\n", name, g,
               max_error(f64, C, want, s->m * s->n));
    }
    tg__gemm_limit_isa(2);
    free(A);
    free(B);
    free(want);
    free(C);
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? atof(argv[1]) : 0.2;
    if (!(budget > 0))
        budget = 0.2;
    const char *prefix = argc > 2 ? argv[2] : "";
    load_openblas();
    for (int f64 = 0; f64 <= 1; f64++)
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            const char *name = shapes[i].name;
            if (strncmp(name, prefix, strlen(prefix)) != 0 ||
                (f64 && strncmp(name, "W7", 2) == 0))
                continue;
            bench_shape(f64, &shapes[i], budget);
        }
    return 0;
}

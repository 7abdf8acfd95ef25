/*
 * npy_interop.c — NumPy itself reads what tapegrad wrote, and tapegrad
 * reads what NumPy wrote.
 *
 *     npy_interop PYTHON npy_interop.py
 *
 * writes c_*.npy and c_model.npz into a temporary folder, runs the Python
 * script on it (which checks those files with NumPy and writes py_* files
 * with it), then reads the py_* files and checks their values. Exits 0 if
 * every value matched, 77 (a skipped test) if the script found no NumPy,
 * 1 otherwise. The C side is the test's own process, so it runs under
 * valgrind with the rest of the suite; Python is its child, which is not.
 *
 * Values: ramp(n)[i] = (i - n/2) / 4 (exact in both dtypes), as in
 * fixtures/npy/make_npy_fixtures.py.
 */
#include <tapegrad.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static tg_tensor *ramp(tg_tape *t, tg_dtype dt, int ndim,
                       const int64_t *shape)
{
    tg_tensor *x = tg_empty(t, dt, ndim, shape);
    int64_t n = tg_numel(x);
    for (int64_t i = 0; i < n; i++) {
        double v = ((double)i - (double)n / 2) / 4;
        if (dt == TG_F32)
            tg_mut_f32(x)[i] = (float)v;
        else
            tg_mut_f64(x)[i] = v;
    }
    return x;
}

/* Report a failed call and count it. */
static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "npy_interop: %s: %s\n", what, tg_last_error());
        failures++;
    }
}

static void write_files(tg_tape *t, const char *dir)
{
    char path[1024];
    int64_t s234[] = {2, 3, 4}, s5[] = {5}, s23[] = {2, 3}, s3[] = {3};
    float specials[6] = {-0.0f, INFINITY, -INFINITY, NAN, 0x1p-149f, FLT_MAX};
    int64_t s6[] = {6};
    struct { const char *name; tg_tensor *x; } files[] = {
        {"c_f4_2x3x4.npy", ramp(t, TG_F32, 3, s234)},
        {"c_f8_5.npy", ramp(t, TG_F64, 1, s5)},
        {"c_f8_scalar.npy", tg_scalar(t, TG_F64, 3.141592653589793)},
        {"c_f4_specials.npy", tg_from_data(t, TG_F32, 1, s6, specials)},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        check(tg_npy_save(path, files[i].x) == TG_OK, files[i].name);
    }
    const char *names[] = {"w", "b", "step", "\xc3\xa9t\xc3\xa9"};
    const tg_tensor *arrays[] = {ramp(t, TG_F32, 2, s23),
                                 ramp(t, TG_F64, 1, s3),
                                 tg_scalar(t, TG_F64, 7.0),
                                 tg_scalar(t, TG_F32, 0.25)};
    snprintf(path, sizeof path, "%s/c_model.npz", dir);
    check(tg_npz_save(path, 4, names, arrays) == TG_OK, "c_model.npz");
}

/* Whether x is ramp of that dtype and shape. */
static int is_ramp(const tg_tensor *x, tg_dtype dt, int ndim,
                   const int64_t *shape)
{
    if (x == NULL || tg_dtype_of(x) != dt || tg_ndim(x) != ndim)
        return 0;
    for (int d = 0; d < ndim; d++)
        if (tg_shape(x)[d] != shape[d])
            return 0;
    int64_t n = tg_numel(x);
    for (int64_t i = 0; i < n; i++) {
        double v = ((double)i - (double)n / 2) / 4;
        if ((dt == TG_F32 ? tg_data_f32(x)[i] : tg_data_f64(x)[i]) != v)
            return 0;
    }
    return 1;
}

static void check_files(tg_tape *t, const char *dir)
{
    char path[1024];
    int64_t s234[] = {2, 3, 4}, s5[] = {5}, s23[] = {2, 3}, s32[] = {3, 2};
    snprintf(path, sizeof path, "%s/py_f4_2x3x4.npy", dir);
    check(is_ramp(tg_npy_load(t, path), TG_F32, 3, s234), "py_f4_2x3x4.npy");
    snprintf(path, sizeof path, "%s/py_f8_5.npy", dir);
    check(is_ramp(tg_npy_load(t, path), TG_F64, 1, s5), "py_f8_5.npy");
    snprintf(path, sizeof path, "%s/py_f4_v2.npy", dir);
    check(is_ramp(tg_npy_load(t, path), TG_F32, 2, s32), "py_f4_v2.npy");
    snprintf(path, sizeof path, "%s/py_f8_scalar.npy", dir);
    check(tg_item(tg_npy_load(t, path)) == -1.5, "py_f8_scalar.npy");
    snprintf(path, sizeof path, "%s/py_model.npz", dir);
    const tg_npz *z = tg_npz_load(t, path);
    check(z != NULL && z->n == 2, "py_model.npz");
    check(is_ramp(tg_npz_get(z, "weight"), TG_F32, 2, s23), "weight");
    check(is_ramp(tg_npz_get(z, "bias"), TG_F64, 1, s5), "bias");
    check(is_ramp(tg_npz_load_entry(t, path, "bias"), TG_F64, 1, s5),
          "bias alone");
}

/* Run python script dir and return its exit status (-1 if it did not
 * run or exit). */
static int run_python(const char *python, const char *script,
                      const char *dir)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execl(python, python, script, dir, (char *)NULL);
        perror("npy_interop: exec");
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* Remove the files either side wrote, then the folder. */
static void remove_dir(const char *dir)
{
    static const char *const names[] = {
        "c_f4_2x3x4.npy", "c_f8_5.npy", "c_f8_scalar.npy",
        "c_f4_specials.npy", "c_model.npz", "py_f4_2x3x4.npy",
        "py_f8_5.npy", "py_f4_v2.npy", "py_f8_scalar.npy", "py_model.npz"};
    char path[1024];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    if (rmdir(dir) != 0)
        fprintf(stderr, "npy_interop: %s was left behind\n", dir);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: npy_interop PYTHON npy_interop.py\n");
        return 2;
    }
    const char *base = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tg_npy_interop_XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("npy_interop: mkdtemp");
        return 1;
    }
    tg_tape *t = tg_tape_new();
    write_files(t, dir);
    int rc = failures ? 1 : run_python(argv[1], argv[2], dir);
    if (rc == 0)
        check_files(t, dir);
    else if (rc != 77)
        fprintf(stderr, "npy_interop: the Python side failed (%d)\n", rc);
    tg_tape_free(t);
    remove_dir(dir);
    if (rc == 77)
        return 77;
    return rc == 0 && failures == 0 ? 0 : 1;
}

/*
 * fashion_data.h — Fashion-MNIST read from its gzip'd IDX files, shared by
 * examples/fashion_mnist.c and the benchmark's W5 (compiled into both).
 *
 * Zalando's Fashion-MNIST: 28x28 grey images of clothes in 10 classes,
 * 60,000 for training ("train") and 10,000 for testing ("t10k"). Debian
 * ships it as the package dataset-fashion-mnist, in FASHION_DEFAULT_DIR:
 *
 *     train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
 *     t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz
 *
 * Each file is decompressed with zlib into memory, then parsed by
 * tapegrad's IDX reader (tapegrad/idx.h), which checks the magic numbers,
 * the dimensions and the lengths. zlib is a dependency of these programs
 * only; the library itself has none.
 *
 * Both programs also measure a classifier the same way: fashion_evaluate
 * (an MLP), or fashion_evaluate_net (any network, e.g. fashion_cnn.c's).
 */
#ifndef FASHION_DATA_H
#define FASHION_DATA_H

#include <tapegrad.h>

/* Where Debian's package puts it; -DFASHION_DEFAULT_DIR=... to build for
 * another place. */
#ifndef FASHION_DEFAULT_DIR
#define FASHION_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#endif
#define FASHION_PACKAGE "dataset-fashion-mnist"
#define FASHION_PIXELS 784   /* 28 x 28 */
#define FASHION_CLASSES 10

/* One split of the data set. Everything belongs to the tape it was loaded
 * onto. */
typedef struct fashion_set {
    int64_t n;               /* how many images */
    const float *images;     /* n x FASHION_PIXELS, row-major, in [0, 1] */
    const int64_t *labels;   /* n labels, each in 0..FASHION_CLASSES-1 */
} fashion_set;

/*
 * Load split ("train" or "t10k") from the folder dir onto tape t, pixels
 * scaled by 1/255 to f32 in [0, 1]. Returns TG_OK, or a negative status
 * with a one-line tg_last_error(): TG_ENOTFOUND for a missing file (the
 * message names the file and the package to install), TG_EIO for a gzip
 * stream that does not decompress, TG_EFORMAT for what the IDX parser
 * refuses (its message, after the file's path) or for images that are not
 * 28x28, labels outside 0..9 or counts that differ, TG_ENOMEM.
 */
int fashion_load(tg_tape *t, const char *dir, const char *split,
                 fashion_set *s);

/*
 * fashion_load, but only the first limit images (all for 0) are
 * decompressed and parsed: a quick run need not inflate all 47 MB. The
 * header's count is taken as limit, so the rest of the file is not
 * checked.
 */
int fashion_load_first(tg_tape *t, const char *dir, const char *split,
                       int64_t limit, fashion_set *s);

/*
 * Copy the samples idx[0..n) of s into x (n x FASHION_PIXELS floats) and
 * their labels into y (n values): one mini-batch, in the order of idx.
 */
void fashion_gather(const fashion_set *s, const int64_t *idx, int64_t n,
                    float *x, int64_t *y);

/*
 * How many of the n rows of logits (n x FASHION_CLASSES, f32) have their
 * largest value at the row's label (the first largest on ties, as
 * torch.argmax).
 */
int64_t fashion_correct(const tg_tensor *logits, const int64_t *labels,
                        int64_t n);

/* A network's forward pass on x, a batch of images as (b, 784). */
typedef tg_tensor *(*fashion_forward_fn)(tg_tape *t, const void *net,
                                         tg_tensor *x);

/*
 * The mean cross-entropy and the accuracy (0 to 1) of forward(net) over
 * the s->n samples of s, computed in batches of 1000 on tape t with grad
 * disabled (nothing is recorded; t is reset after each batch and its grad
 * mode restored). Returns TG_OK or the status of the failing call.
 */
int fashion_evaluate_net(tg_tape *t, fashion_forward_fn forward,
                         const void *net, const fashion_set *s, double *loss,
                         double *accuracy);

/* fashion_evaluate_net for an MLP (tg_mlp_forward). */
int fashion_evaluate(tg_tape *t, const tg_mlp *net, const fashion_set *s,
                     double *loss, double *accuracy);

#endif /* FASHION_DATA_H */

/*
 * tapegrad/random.h — a seeded random number generator of tapegrad's own,
 * so that the same seed gives the same numbers on every platform and with
 * every C library: initial weights, shuffled batches and dropout masks are
 * then reproducible bit for bit.
 *
 *     tg_rng rng;
 *     tg_rng_seed(&rng, 42, 54);                       // seed, stream
 *     int64_t shape[] = {784, 128};
 *     tg_tensor *w = tg_rand_normal(t, &rng, TG_F32, 2, shape, 0.0, 0.05);
 *     int64_t order[60000];
 *     for (int64_t i = 0; i < 60000; i++) order[i] = i;
 *     tg_rng_shuffle(&rng, 60000, order);              // an epoch's order
 *
 * The generator is PCG32 (M. E. O'Neill, "PCG: A Family of Simple Fast
 * Space-Efficient Statistically Good Algorithms for Random Number
 * Generation", 2014): 64 bits of state, 32-bit outputs (XSH RR), and a
 * stream number selecting one of 2^63 independent sequences. Seeded with
 * (42, 54) it gives 0xa15c02b7 0x7b47f409 0xba1d3330 ..., the sequence of
 * the reference pcg32-demo.
 *
 * A tg_rng is a plain struct that the caller owns (on the stack, in a
 * struct, anywhere); there is no global state, and two generators never
 * interfere. Copying the struct forks the sequence. It must be seeded with
 * tg_rng_seed before use: the functions below report TG_ESTATE for a
 * generator that never was (a zero-filled struct).
 *
 * Portability: every result is computed with integer arithmetic and IEEE
 * operations that are exactly rounded (+ - * / sqrt) plus a logarithm of
 * tapegrad's own, never the C library's log, sin or cos, so each value is
 * the same bit for bit on every platform.
 */
#ifndef TAPEGRAD_RANDOM_H
#define TAPEGRAD_RANDOM_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A PCG32 generator. The fields are private; the struct is public so that
 * it can live on the stack. */
typedef struct tg_rng {
    uint64_t state;      /* the LCG state */
    uint64_t inc;        /* the stream's increment, always odd once seeded */
    double spare;        /* the second normal of the last polar pair */
    bool has_spare;      /* whether spare is still unused */
} tg_rng;

/*
 * Seed rng: the same (seed, stream) always gives the same sequence, and
 * different streams give independent sequences for the same seed. This is
 * pcg32_srandom_r of the reference implementation. Returns TG_OK, or
 * TG_EINVAL for a NULL rng.
 */
TG_API int tg_rng_seed(tg_rng *rng, uint64_t seed, uint64_t stream);

/* The next 32 random bits. 0 (and an error) for a NULL or unseeded rng:
 * since 0 is also a draw, tell them apart by tg_last_status(), after
 * tg_clear_error() (the failure sets it, a draw leaves it alone):
 *
 *     tg_rng rng = {0};                 // never seeded
 *     tg_clear_error();
 *     uint32_t v = tg_rng_u32(&rng);
 *     if (tg_last_status() != TG_OK)    // TG_ESTATE: "tg_rng_u32: ..."
 *         printf("no draw (%u): %s\n", (unsigned)v, tg_last_error());
 */
TG_API uint32_t tg_rng_u32(tg_rng *rng);

/*
 * A uniform integer in [0, bound), without the bias of u32 % bound
 * (Lemire's multiply-and-reject method: the high half of a draw times
 * bound, drawing again in the rare case that would favour some values).
 * A bound below 2^32 takes one u32 draw (rarely more); a larger one takes
 * the same method on 64 bits, two u32 draws at a time, the first giving
 * the high bits. 0 (and an error) for bound 0 or a NULL/unseeded rng;
 * tell it from a draw of 0 by tg_last_status(), as for tg_rng_u32.
 */
TG_API uint64_t tg_rng_bounded(tg_rng *rng, uint64_t bound);

/*
 * A uniform double in [0, 1): 53 random bits (from two u32 draws, the
 * first giving the high bits) times 2^-53, so every multiple of 2^-53 in
 * [0, 1) is equally likely. NaN (and an error) for a NULL/unseeded rng.
 */
TG_API double tg_rng_uniform(tg_rng *rng);

/*
 * A standard normal (mean 0, variance 1) by Marsaglia's polar method: draw
 * (u, v) uniform in (-1, 1)^2 until 0 < s = u^2 + v^2 < 1, then u*f and
 * v*f with f = sqrt(-2 ln(s) / s) are two independent normals. The second
 * is kept in rng and returned by the next call (tg_rng_seed discards it).
 * NaN (and an error) for a NULL/unseeded rng.
 */
TG_API double tg_rng_normal(tg_rng *rng);

/*
 * Shuffle idx[0..n) in place so that each of the n! orders is equally
 * likely (Fisher-Yates from the end: idx[i] swaps with idx[j], j drawn by
 * tg_rng_bounded(rng, i + 1), for i = n-1 down to 1). To get
 * a random permutation of 0..n-1, fill idx with 0..n-1 first. Returns
 * TG_OK, or TG_EINVAL for n < 0 or NULL arguments (idx may be NULL when n
 * is 0), TG_ESTATE for an unseeded rng.
 */
TG_API int tg_rng_shuffle(tg_rng *rng, int64_t n, int64_t *idx);

/*
 * A new tensor on t of the given dtype and shape, filled with values
 * uniform in [lo, hi): lo + (hi - lo) * u, in row-major order. For TG_F64,
 * u is tg_rng_uniform; for TG_F32, u is 24 random bits (one u32 draw per
 * element) times 2^-24, and a value that rounds up to hi is replaced by the
 * float just below hi. Errors: TG_EINVAL for NULL arguments, a bad shape,
 * non-finite lo or hi, lo >= hi, or for TG_F32 an lo or hi that rounds
 * to infinity in f32; TG_ESTATE for an unseeded rng; TG_ENOMEM.
 */
TG_API tg_tensor *tg_rand_uniform(tg_tape *t, tg_rng *rng, tg_dtype dt,
                                  int ndim, const int64_t *shape, double lo,
                                  double hi);

/*
 * A new tensor on t filled with normal values mean + std * tg_rng_normal,
 * in row-major order (rounded to dt). Errors: TG_EINVAL for NULL
 * arguments, a bad shape, a non-finite mean or std, std < 0, or for
 * TG_F32 a mean or std that rounds to infinity in f32; TG_ESTATE for an
 * unseeded rng; TG_ENOMEM.
 */
TG_API tg_tensor *tg_rand_normal(tg_tape *t, tg_rng *rng, tg_dtype dt, int ndim,
                                 const int64_t *shape, double mean, double std);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_RANDOM_H */

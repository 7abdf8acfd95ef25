/*
 * pool.h — the thread pool (src/tensor/pool.c): a loop cut into parts
 * run on several threads.
 *
 * TG__THREADS is 1 when the library is built with its thread pool (the
 * meson option threads); without it everything runs on the caller's
 * thread.
 */
#ifndef TG_TENSOR_POOL_H
#define TG_TENSOR_POOL_H

#include <stdatomic.h>
#include <stdint.h>

#ifndef TG__THREADS
#define TG__THREADS 0
#endif
#define TG__MAX_THREADS 64

typedef void (*tg__range_fn)(void *ctx, int64_t begin, int64_t end);

/*
 * fn(ctx, begin, end) over consecutive parts that cover [0, n), run on up
 * to tg_num_threads() threads (the caller's among them); returns when all
 * parts are done. Every part but the last starts at a multiple of align
 * and is about min_part long or more, so a range shorter than 2 min_part
 * is one call on the calling thread. Parts must write disjoint memory, and
 * what each element gets must not depend on where the range was cut: then
 * results are the same, bit for bit, for any number of threads.
 */
void tg__parallel_for_split(int64_t n, int64_t align, int64_t min_part,
                            tg__range_fn fn, void *ctx);
static inline void tg__parallel_for(int64_t n, int64_t align,
                                    int64_t min_part, tg__range_fn fn,
                                    void *ctx)
{
    if (n < 2 * min_part) /* one part: no need to ask the pool (inline:
                             most elementwise calls are this small) */
        fn(ctx, 0, n);
    else
        tg__parallel_for_split(n, align, min_part, fn, ctx);
}

/*
 * Elementwise loops are cut into parts of at least this many elements:
 * below that, splitting costs more than it saves. Not a constant:
 * tg_set_num_threads(n > 1) measures what a split call costs beyond its
 * work (posting it, the workers reading data the caller just wrote,
 * waiting for them; every split call measures it again) and the cost of
 * one element of a plain streaming loop (y = a x + b, the cheapest kind
 * of elementwise op, over data in the level-2 cache); a part must take
 * at least twice the split's cost: in elements, rounded up to a power of
 * two, between 2^10 and 2^20 (2^16 until then and with one thread).
 */
extern _Atomic int64_t tg__elementwise_part_value; /* pool.c's */
static inline int64_t tg__elementwise_part(void)
{
    /* inline: every elementwise call reads it, most on one thread */
    return atomic_load_explicit(&tg__elementwise_part_value,
                                memory_order_relaxed);
}
#define TG__ELEMENTWISE_PART (tg__elementwise_part())

/* In nanoseconds: the least time a part must take now (twice the
 * estimated cost of a split call), and one element of the streaming loop
 * (0 before any calibration; for gemm's part size, tests and the bench). */
void tg__pool_calibration(double *part_ns, double *element_ns);

/* How many parallel_for calls since tg_set_num_threads ran on the calling
 * thread alone because the workers had recently been late (the adaptive
 * fallback in pool.c); for tests and the bench. */
int64_t tg__pool_fallbacks(void);

#endif /* TG_TENSOR_POOL_H */

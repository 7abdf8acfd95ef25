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

/* Elementwise loops are cut into parts of at least this many elements:
 * below that, waking a thread costs more than it saves. */
#define TG__ELEMENTWISE_PART ((int64_t)1 << 16)

#endif /* TG_TENSOR_POOL_H */

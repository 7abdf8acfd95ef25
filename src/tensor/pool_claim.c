/*
 * pool_claim.c — rows claimed while the parts run (tg__parallel_claim,
 * pool.h says what it promises).
 *
 * Each thread that takes part owns a share of the rows, cut as
 * tg__parallel_for cuts its parts, kept as one 64-bit word: the first
 * unclaimed chunk in the low half, one past the last in the high half.
 * The owner takes chunks from the front, a thread whose own share is
 * empty takes them from the back of another's: both are one
 * compare-and-swap of that word, so a chunk is taken once, and the owner
 * and a thief can only meet in the middle. Each share sits on a cache
 * line of its own, so while every thread works through its own share no
 * line moves between the cores; only the last few chunks, the ones taken
 * from the back, do. That is the point of it: the faster thread ends up
 * doing a chunk or two of the slower one's share, and the call ends when
 * both are done, not when the slower half is.
 *
 * A share whose owner never ran (a worker not scheduled in time) is
 * simply taken from the back, chunk by chunk, by the others.
 */
#include "tapegrad/base.h"

#include "tensor/pool.h"

#include <stdint.h>

/* Chunks are counted in 32 bits, two to a word. */
#define MOST_CHUNKS ((int64_t)1 << 31)

struct tg__claims {
    tg__claim_fn fn;
    void *ctx;
    int64_t n, chunk;
    int shares;
    struct {
        _Alignas(64) _Atomic uint64_t range; /* low: next, high: end */
    } share[TG__MAX_THREADS];
};

static uint64_t range_of(int64_t lo, int64_t hi)
{
    return (uint64_t)lo | (uint64_t)hi << 32;
}

/* Share i of `shares` over `units` chunks begins here: pool.c's cut
 * (part_start with align 1), so each thread owns the samples it would
 * have had from tg__parallel_for. */
static int64_t share_start(int64_t units, int shares, int i)
{
    return units * i / shares;
}

/* One chunk from the front (thief false) or the back of share i;
 * -1 when it is empty. */
static int64_t take(tg__claims *all, int i, bool thief)
{
    _Atomic uint64_t *word = &all->share[i].range;
    uint64_t r = atomic_load_explicit(word, memory_order_relaxed);
    for (;;) {
        int64_t lo = (int64_t)(r & 0xffffffffu), hi = (int64_t)(r >> 32);
        if (lo >= hi)
            return -1;
        uint64_t left = thief ? range_of(lo, hi - 1) : range_of(lo + 1, hi);
        /* Relaxed: the rows' data is ordered by the split call itself
         * (posted before the parts start, joined after they end); the
         * word only has to hand each chunk out once. */
        if (atomic_compare_exchange_weak_explicit(word, &r, left,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed))
            return thief ? hi - 1 : lo;
    }
}

bool tg__claim_next(tg__claimer *me, int64_t *begin, int64_t *end)
{
    tg__claims *all = me->all;
    int64_t c = take(all, me->own, false);
    /* Own share empty: the others', each from its back. */
    for (int k = 1; c < 0 && k < all->shares; k++)
        c = take(all, (me->own + k) % all->shares, true);
    if (c < 0)
        return false;
    *begin = c * all->chunk;
    *end = *begin + all->chunk < all->n ? *begin + all->chunk : all->n;
    return true;
}

/* A part of the split call: shares [begin, end), normally one. The
 * thread works from the first; the shares of the others in the range
 * (when the pool ran the call on fewer threads) it takes as a thief. */
static void claim_part(void *ctx, int64_t begin, int64_t end)
{
    (void)end;
    tg__claims *all = ctx;
    tg__claimer me = {all, (int)begin};
    all->fn(all->ctx, &me);
}

void tg__parallel_claim(int64_t n, int64_t chunk, int64_t min_part,
                        tg__claim_fn fn, void *ctx)
{
    if (n <= 0)
        return;
    if (chunk < 1)
        chunk = 1;
    while ((n + chunk - 1) / chunk >= MOST_CHUNKS)
        chunk *= 2;
    if (min_part < 1)
        min_part = 1;
    int64_t units = (n + chunk - 1) / chunk;
    int64_t most = n / min_part; /* shares of at least min_part rows */
    int threads = tg_num_threads();
    int shares = most < threads ? (int)(most > 1 ? most : 1) : threads;
    if (shares > units)
        shares = (int)units;
    tg__claims all;
    all.fn = fn;
    all.ctx = ctx;
    all.n = n;
    all.chunk = chunk;
    all.shares = shares;
    for (int i = 0; i < shares; i++)
        atomic_init(&all.share[i].range,
                    range_of(share_start(units, shares, i),
                             share_start(units, shares, i + 1)));
    if (shares == 1) {
        claim_part(&all, 0, 1);
        return;
    }
    tg__parallel_for_split(shares, 1, 1, claim_part, &all);
}

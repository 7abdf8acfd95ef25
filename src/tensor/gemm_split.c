/*
 * gemm_split.c — a matrix product on several threads (gemm.c's kernels do
 * each thread's block).
 *
 * A product big enough is cut into blocks of C's rows (or columns), one
 * per thread, each an ordinary single-thread product of A's rows (or B's
 * columns) for that block. Every element of C is still one dot product
 * over all of k in the same order, so the result does not depend on the
 * thread count. The cut goes across the dimension that makes the threads
 * pack less twice: blocks of rows each pack all of B, blocks of columns
 * all of A.
 */
#include "tapegrad/base.h"
#include "tensor/gemm.h"
#include "tensor/gemm_split.h"
#include "tensor/pool.h"

/*
 * The fewest multiply-adds a part may have: the least time of a part
 * (twice the cost of a split call, measured by the pool,
 * tg__pool_calibration) at GEMM_MAX_MACS_PER_NS, more than the kernel
 * does on one core (52-57 on the machines measured, f32 AVX-512), so that
 * a part always takes longer than that; at least 2^14, and at most 2^20,
 * the fixed size it had before (which also holds before any calibration).
 * W4's 64x10 layer (164K multiply-adds a product) is no longer split on
 * the Xeon once the cost seen in W4's calls (about 2 us) is reached:
 * split, its three products took 14.8 us against 12.6 alone.
 */
#define GEMM_MAX_MACS_PER_NS 64
#define GEMM_MIN_PART_FLOOR ((int64_t)1 << 14)
#define GEMM_MIN_PART_CAP ((int64_t)1 << 20)

static int64_t gemm_min_part_macs(void)
{
    double part_ns, element;
    tg__pool_calibration(&part_ns, &element);
    double macs = part_ns * GEMM_MAX_MACS_PER_NS;
    if (!(part_ns > 0) || macs >= (double)GEMM_MIN_PART_CAP)
        return GEMM_MIN_PART_CAP;
    return macs > (double)GEMM_MIN_PART_FLOOR ? (int64_t)macs
                                              : GEMM_MIN_PART_FLOOR;
}

static int64_t units_of(const tg__gemm_job *j)
{
    return j->by_rows ? j->m : j->n;
}

/* Rows [begin, end) of C, or columns when the job is cut by columns. */
static void gemm_part(void *ctx, int64_t begin, int64_t end)
{
    const tg__gemm_job *j = ctx;
    if (end > units_of(j)) /* the padded range's end (tg__gemm_run) */
        end = units_of(j);
    if (begin >= end)
        return;
    int64_t m = j->by_rows ? end - begin : j->m;
    int64_t n = j->by_rows ? j->n : end - begin;
    /* Where the block starts in A (by rows) or B (by columns), and in C. */
    int64_t at = j->by_rows ? (j->ta ? begin : begin * j->lda)
                            : (j->tb ? begin * j->ldb : begin);
    int64_t c_at = j->by_rows ? begin * j->ldc : begin;
    if (j->f64)
        tg__gemm_f64_isa(j->isa, j->ta, j->tb, m, n, j->k,
                         (const double *)j->A + (j->by_rows ? at : 0), j->lda,
                         (const double *)j->B + (j->by_rows ? 0 : at), j->ldb,
                         j->beta, (double *)j->C + c_at, j->ldc);
    else
        tg__gemm_f32_isa(j->isa, j->ta, j->tb, m, n, j->k,
                         (const float *)j->A + (j->by_rows ? at : 0), j->lda,
                         (const float *)j->B + (j->by_rows ? 0 : at), j->ldb,
                         (float)j->beta, (float *)j->C + c_at, j->ldc);
    if (j->then != NULL) /* this block is done: its pass, on this thread */
        j->then(j->then_ctx, j->by_rows, begin, end);
}

/* Rows of C in one register tile of the kernel for this instruction set
 * (GK_MR above): a block of rows that starts at a multiple of it ends in
 * no partial tile but the matrix's last. */
static int64_t tile_rows(int isa)
{
    return isa == ISA_AVX512 ? 8 : isa == ISA_AVX2 ? 6 : 4;
}

/*
 * Where block i of `parts` starts, in units (rows or columns) of `align`:
 * every block but the last gets the same whole number of units, rounded
 * up, and the last what is left. The pool's own cut (units * i / parts)
 * gives an uneven count's extra unit to the later parts, which run on the
 * workers; but part 0 runs on the caller, which starts first, while a
 * worker starts a hand-off later. W6's fc1 weight gradient (120 rows, 15
 * tiles of 8) was cut 56 / 64 rows, and the worker's parts of W6's
 * products took 26 us on average against the caller's 24.5, the calls
 * 28.5; cut 64 / 56, 23.8 against 25 and the calls 26.7.
 */
static int64_t block_start(int64_t units, int64_t align, int parts, int i)
{
    int64_t tiles = (units + align - 1) / align;
    int64_t at = (tiles + parts - 1) / parts * i * align;
    return at < units ? at : units;
}

int64_t tg__gemm_block_start(int64_t rows, int parts, int i)
{
    return block_start(rows, tile_rows(tg__gemm_isa()), parts, i);
}

int64_t tg__gemm_split_rows(void)
{
    return tile_rows(tg__gemm_isa());
}

/*
 * Cut by rows or by columns? Each thread packs its own rows of A and, by
 * rows, every column of B that it needs: all of them. So blocks of rows
 * pack B once per thread, blocks of columns pack A once per thread. But
 * the kernel reads a row-major B (no transpose) in place, without
 * packing it; then blocks of rows duplicate nothing and are taken when
 * there are rows enough for a whole tile per thread. Blocks of rows have
 * a second merit: each is one contiguous range of C, the same range that
 * the elementwise pass which usually follows (the optimizer's update of a
 * weight gradient, a bias add) gives the same thread, so that thread
 * finds its part of C in its own cache. W4's weight gradient (256 x 784,
 * k 64) took 104 us on 2 threads by columns (1.66x of one thread), and
 * its update ran at 1.45x, reading halves of C that the other core wrote.
 */
static bool cut_by_rows(const tg__gemm_job *j, int threads)
{
    if (!j->tb && j->m >= threads * tile_rows(j->isa) * 4)
        return true;
    return j->m >= j->n;
}

/* The part size of a job, in rows (by_rows) or columns, for `threads`;
 * sets the job's instruction set and cut. */
static int64_t plan(tg__gemm_job *j, int threads, int64_t min_macs)
{
    j->isa = tg__gemm_isa(); /* the caller's, also on the workers */
    j->by_rows = cut_by_rows(j, threads);
    int64_t per_unit = (j->by_rows ? j->n : j->m) * j->k;
    return (min_macs + per_unit - 1) / per_unit;
}

/* Run the job, on several threads when it is big enough (gemm_split.h). */
void tg__gemm_run(tg__gemm_job *j)
{
    int threads = tg_num_threads();
    int64_t min_macs = threads > 1 ? gemm_min_part_macs()
                                   : GEMM_MIN_PART_CAP;
    int64_t min_part = plan(j, threads, min_macs);
    /* Blocks of whole register tiles: rows of the kernel's tile, or 32
     * columns (a 2-vector AVX-512 f32 tile). */
    int64_t units = units_of(j), align = j->by_rows ? tile_rows(j->isa) : 32;
    /* Split (or not) as the units alone decide; if split, the pool's cut
     * of a range padded to `threads` equal shares is block_start's. */
    int64_t tiles = (units + align - 1) / align;
    int64_t padded = (tiles + threads - 1) / threads * threads * align;
    tg__parallel_for(units < 2 * min_part ? units : padded, align, min_part,
                     gemm_part, j);
}

/* Part i of a pair: job i, whole (its then with it). */
static void pair_part(void *ctx, int64_t begin, int64_t end)
{
    tg__gemm_job *jobs = ctx;
    for (int64_t i = begin; i < end; i++)
        gemm_part(&jobs[i], 0, units_of(&jobs[i]));
}

/*
 * Two products (gemm_split.h), side by side when both are small: each
 * between half a part's least work (at GEMM_MAX_MACS_PER_NS, faster than
 * the kernel ever runs, so each takes at least one split cost) and
 * PAIR_MOST_PARTS parts. Two products of time w then take w plus one
 * split cost, where cutting each in two takes w plus two, and not
 * splitting 2w. Larger products are cut one after the other, by rows
 * where they can (cut_by_rows): the optimizer's update then finds each
 * thread's block of a weight gradient where that thread wrote it. Linear's
 * backward for small layers: W4's 10-output layer (dx and dW 164K
 * multiply-adds each), W6's 84-output layer (645K each). Each product is
 * computed whole by one thread, as on one thread, so the results are the
 * same.
 */
#define PAIR_MOST_PARTS 4

void tg__gemm_run_pair(tg__gemm_job *a, tg__gemm_job *b)
{
    int threads = tg_num_threads();
    if (threads > 1) {
        int64_t min_macs = gemm_min_part_macs();
        int64_t ma = a->m * a->n * a->k, mb = b->m * b->n * b->k;
        if (ma >= min_macs / 2 && mb >= min_macs / 2 &&
            ma < PAIR_MOST_PARTS * min_macs &&
            mb < PAIR_MOST_PARTS * min_macs) {
            tg__gemm_job jobs[2] = {*a, *b};
            for (int i = 0; i < 2; i++)
                plan(&jobs[i], 1, min_macs); /* one thread's own cut */
            tg__parallel_for_split(2, 1, 1, pair_part, jobs);
            return;
        }
    }
    tg__gemm_run(a);
    tg__gemm_run(b);
}

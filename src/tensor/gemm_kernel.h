/*
 * gemm_kernel.h — the blocked matrix multiply, written once and compiled
 * once per element type and instruction set. gemm.c defines the GK_
 * parameters below and includes this file, which undefines them at its end
 * (a C "template"); the compiler then turns the same loops into AVX-512,
 * AVX2 or plain C code.
 *
 *   GK_T          element type, float or double
 *   GK_V          the vector the register tile is made of (GK_T itself in
 *                 the portable instance)
 *   GK_VLEN       elements per GK_V
 *   GK_MR, GK_NV  register tile: GK_MR rows of C by GK_NV vectors
 *   GK_KC, GK_MC  cache blocks: depth of one pass over K, rows of A packed
 *   GK_ATTR       function attributes (the instruction set to compile for)
 *   GK_SPLAT(x)   a GK_V with x in every lane
 *   GK_FMA(a,b,c) a*b + c lane by lane, fused where the ISA has it
 *   GK_NAME(x)    this instance's name for x
 *   GK_TV, GK_TILE optional: a 256-bit vector of GK_TILE elements, for
 *                 transposing GK_TILE-square tiles with shuffles in packing
 *
 * How it works (the GotoBLAS/BLIS scheme, for row-major C):
 *
 * C is computed in register tiles of GK_MR rows by GK_NR columns. The
 * micro-kernel keeps such a tile of C in GK_MR*GK_NV vector registers and
 * adds to it one outer product per step p of the inner dimension: a column
 * of GK_MR values of A (each broadcast to a whole vector) times a row of
 * GK_NR values of B (GK_NV vector loads). That is GK_MR*GK_NV fused
 * multiply-adds for GK_NV + GK_MR loads, so the loads hide behind the
 * arithmetic and the tile never leaves the registers during a pass.
 *
 * For those loads to be unit-stride whatever the transpose flags are, the
 * operands are first copied ("packed") into small buffers on the stack:
 * A's block of GK_MC rows by GK_KC columns as micro-panels of GK_MR rows
 * stored column by column, and each GK_KC by GK_NR panel of B row by row.
 * Packing is where op(A) and op(B) are transposed, so the caller never
 * copies. A row-major, untransposed B is already in the micro-kernel's
 * order and is read in place, except at a ragged right edge that is
 * not exactly a half-width kernel's (GK_NV2 vectors); so is a
 * row-major A when C is a single panel wide (its packed copy would be
 * read only once). Packed edges are padded with zeros, so a kernel always
 * computes a whole tile and stores only the part that exists; half-height
 * and half-width kernels take ragged edges that would leave most of a
 * full tile unused (a 64 x 10 product, say).
 *
 * The packing buffers are fixed-size arrays on the stack (under 128 KiB
 * for every instance), so a call never allocates and cannot fail.
 *
 * Loop nest, outermost first: passes over K (GK_KC deep; C accumulates
 * across passes), blocks of GK_MC rows of A (packed once per pass), panels
 * of GK_NR columns of B (packed once per block, then reused by every
 * micro-panel of A from L1), micro-panels of GK_MR rows.
 */

#define GK_NR (GK_NV * GK_VLEN)

/* pack_a fills whole micro-panels: a block of GK_MC rows must hold them. */
_Static_assert(GK_MC % GK_MR == 0, "GK_MC must be a multiple of GK_MR");

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)
#define GK_UNROLL _Pragma("GCC unroll 32")
#else
#define GK_UNROLL
#endif

/* One vector from or to memory of any alignment. */
GK_ATTR static inline GK_V GK_NAME(load)(const GK_T *p)
{
    GK_V v;
    memcpy(&v, p, sizeof v);
    return v;
}

GK_ATTR static inline void GK_NAME(store)(GK_T *p, GK_V v)
{
    memcpy(p, &v, sizeof v);
}

#if defined(GK_TV) && GK_TILE == 8
/* Transpose the 8 by 8 block at src (rows ls apart) into dst (ld apart). */
GK_ATTR static inline void GK_NAME(tile)(const GK_T *src, int64_t ls,
                                         GK_T *dst, int64_t ld)
{
    GK_TV r[8], t[8], s[8];
    for (int i = 0; i < 8; i++)
        memcpy(&r[i], src + i * ls, sizeof r[i]);
    /* Interleave pairs of rows, then pairs of pairs, then the halves. */
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14,
                                           7, 15);
    }
    for (int i = 0; i < 8; i += 4)
        for (int h = 0; h < 2; h++) {
            s[i + 2 * h] = __builtin_shufflevector(t[i + h], t[i + h + 2], 0,
                                                   1, 8, 9, 4, 5, 12, 13);
            s[i + 2 * h + 1] = __builtin_shufflevector(t[i + h], t[i + h + 2],
                                                       2, 3, 10, 11, 6, 7, 14,
                                                       15);
        }
    for (int i = 0; i < 4; i++) {
        GK_TV lo = __builtin_shufflevector(s[i], s[i + 4], 0, 1, 2, 3, 8, 9,
                                           10, 11);
        GK_TV hi = __builtin_shufflevector(s[i], s[i + 4], 4, 5, 6, 7, 12, 13,
                                           14, 15);
        memcpy(dst + i * ld, &lo, sizeof lo);
        memcpy(dst + (i + 4) * ld, &hi, sizeof hi);
    }
}
#elif defined(GK_TV) && GK_TILE == 4
/* Transpose the 4 by 4 block at src (rows ls apart) into dst (ld apart). */
GK_ATTR static inline void GK_NAME(tile)(const GK_T *src, int64_t ls,
                                         GK_T *dst, int64_t ld)
{
    GK_TV r[4], t[4];
    for (int i = 0; i < 4; i++)
        memcpy(&r[i], src + i * ls, sizeof r[i]);
    for (int i = 0; i < 4; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 4, 2, 6);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 1, 5, 3, 7);
    }
    for (int i = 0; i < 2; i++) {
        GK_TV lo = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 4, 5);
        GK_TV hi = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 6, 7);
        memcpy(dst + i * ld, &lo, sizeof lo);
        memcpy(dst + (i + 2) * ld, &hi, sizeof hi);
    }
}
#endif

/*
 * dst[c * ld + r] = src[r * ls + c] for r < rows, c < cols: the transpose
 * that packing does when op() transposes, in GK_TILE square tiles where
 * the instruction set has shuffles, element by element elsewhere.
 */
GK_ATTR static void GK_NAME(transpose)(const GK_T *src, int64_t ls, int rows,
                                       int64_t cols, GK_T *restrict dst,
                                       int64_t ld)
{
    int r0 = 0;
#if defined(GK_TV)
    for (; r0 + GK_TILE <= rows; r0 += GK_TILE) {
        int64_t c0 = 0;
        for (; c0 + GK_TILE <= cols; c0 += GK_TILE)
            GK_NAME(tile)(src + r0 * ls + c0, ls, dst + c0 * ld + r0, ld);
        for (; c0 < cols; c0++)
            for (int r = r0; r < r0 + GK_TILE; r++)
                dst[c0 * ld + r] = src[r * ls + c0];
    }
#endif
    for (; r0 < rows; r0++)
        for (int64_t c = 0; c < cols; c++)
            dst[c * ld + r0] = src[r0 * ls + c];
}

/*
 * Copy rows i0..i0+mc and columns p0..p0+kc of op(A) into dst as
 * micro-panels of GK_MR rows, each stored column by column (kc groups of
 * GK_MR values). Rows past mc in the last micro-panel are zeros.
 */
GK_ATTR static void GK_NAME(pack_a)(bool ta, const GK_T *A, int64_t lda,
                                    int64_t i0, int64_t p0, int64_t mc,
                                    int64_t kc, GK_T *restrict dst)
{
    for (int64_t ir = 0; ir < mc; ir += GK_MR, dst += GK_MR * kc) {
        int mr = mc - ir < GK_MR ? (int)(mc - ir) : GK_MR;
        if (ta) {
            /* op(A)(i, p) = A[p][i]: each column is a contiguous run, a
             * whole one copied as such (one vector move where GK_MR
             * values fill one). */
            const GK_T *src = A + p0 * lda + i0 + ir;
            if (mr == GK_MR)
                for (int64_t p = 0; p < kc; p++, src += lda)
                    memcpy(dst + p * GK_MR, src, GK_MR * sizeof *src);
            else
                for (int64_t p = 0; p < kc; p++, src += lda)
                    for (int i = 0; i < GK_MR; i++)
                        dst[p * GK_MR + i] = i < mr ? src[i] : 0;
            continue;
        }
        /* op(A)(i, p) = A[i][p]: transpose mr rows of A. */
        GK_NAME(transpose)(A + (i0 + ir) * lda + p0, lda, mr, kc, dst, GK_MR);
        for (int64_t p = 0; mr < GK_MR && p < kc; p++)
            for (int i = mr; i < GK_MR; i++)
                dst[p * GK_MR + i] = 0;
    }
}

/*
 * Copy rows p0..p0+kc and columns j0..j0+nr of op(B) into dst, row by row
 * with GK_NR values per row; columns past nr are zeros.
 */
GK_ATTR static void GK_NAME(pack_b)(bool tb, const GK_T *B, int64_t ldb,
                                    int64_t p0, int64_t j0, int64_t kc,
                                    int nr, GK_T *restrict dst)
{
    if (!tb) {
        /* op(B)(p, j) = B[p][j]: copy runs of nr values, then zeros. */
        const GK_T *src = B + p0 * ldb + j0;
        for (int64_t p = 0; p < kc; p++, src += ldb) {
            memcpy(dst + p * GK_NR, src, (size_t)nr * sizeof *src);
            memset(dst + p * GK_NR + nr, 0, (size_t)(GK_NR - nr) * sizeof *src);
        }
        return;
    }
    /* op(B)(p, j) = B[j][p]: transpose nr rows of B. */
    GK_NAME(transpose)(B + j0 * ldb + p0, ldb, nr, kc, dst, GK_NR);
    for (int64_t p = 0; nr < GK_NR && p < kc; p++)
        memset(dst + p * GK_NR + nr, 0, (size_t)(GK_NR - nr) * sizeof *dst);
}

/*
 * The micro-kernel: the rows by nv*GK_VLEN tile at c gets (add ? c : 0) +
 * a * b, where a is a packed micro-panel (kc columns of GK_MR values, of
 * which the first rows are used) and b holds kc rows of at least
 * nv*GK_VLEN values, ldb apart. Only the top-left mr by nr part of the
 * tile exists in C and is stored. rows and nv are constants where it is
 * called, so each call site becomes its own fully unrolled kernel: the
 * full tile, and smaller ones for ragged bottom and right edges that
 * would otherwise waste most of a full tile's arithmetic.
 */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
GK_ATTR static inline void GK_NAME(kernel)(int rows, int nv, int64_t ars,
                                           int64_t acs, int64_t kc,
                                           const GK_T *restrict a,
                                           const GK_T *restrict b, int64_t ldb,
                                           GK_T *restrict c, int64_t ldc,
                                           bool add, int mr, int nr)
{
    GK_V acc[GK_MR][GK_NV];
    GK_UNROLL for (int i = 0; i < rows; i++)
        GK_UNROLL for (int v = 0; v < nv; v++)
            acc[i][v] = GK_SPLAT(0);
    for (int64_t p = 0; p < kc; p++, a += acs, b += ldb) {
        GK_V bv[GK_NV];
        GK_UNROLL for (int v = 0; v < nv; v++)
            bv[v] = GK_NAME(load)(b + v * GK_VLEN);
        GK_UNROLL for (int i = 0; i < rows; i++) {
            GK_V ai = GK_SPLAT(a[i * ars]);
            GK_UNROLL for (int v = 0; v < nv; v++)
                acc[i][v] = GK_FMA(ai, bv[v], acc[i][v]);
        }
    }
    if (mr == rows && nr == nv * GK_VLEN) {
        GK_UNROLL for (int i = 0; i < rows; i++)
            GK_UNROLL for (int v = 0; v < nv; v++) {
                GK_T *cv = c + i * ldc + v * GK_VLEN;
                GK_NAME(store)(cv, add ? GK_NAME(load)(cv) + acc[i][v]
                                       : acc[i][v]);
            }
        return;
    }
    GK_T tile[GK_MR][GK_NR];
    GK_UNROLL for (int i = 0; i < rows; i++)
        GK_UNROLL for (int v = 0; v < nv; v++)
            GK_NAME(store)(&tile[i][v * GK_VLEN], acc[i][v]);
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++)
            c[i * ldc + j] = add ? c[i * ldc + j] + tile[i][j] : tile[i][j];
}

/* Half tiles, in rows and in vectors (at least one of each). */
#define GK_MR2 (GK_MR > 1 ? GK_MR / 2 : 1)
#define GK_NV2 (GK_NV > 1 ? GK_NV / 2 : 1)

/*
 * Multiply the micro-panel a (element (i, p) at a[i * ars + p * acs]) into
 * the mr by nr tile at c with the smallest kernel that covers it.
 */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
GK_ATTR static inline void GK_NAME(tile_product)(int64_t ars, int64_t acs,
                                                 int64_t kc, const GK_T *a,
                                                 const GK_T *b, int64_t ldb,
                                                 GK_T *c, int64_t ldc,
                                                 bool add, int mr, int nr)
{
    bool short_rows = mr <= GK_MR2, narrow = nr <= GK_NV2 * GK_VLEN;
    if (!short_rows && !narrow)
        GK_NAME(kernel)(GK_MR, GK_NV, ars, acs, kc, a, b, ldb, c, ldc, add,
                        mr, nr);
    else if (!short_rows)
        GK_NAME(kernel)(GK_MR, GK_NV2, ars, acs, kc, a, b, ldb, c, ldc, add,
                        mr, nr);
    else if (!narrow)
        GK_NAME(kernel)(GK_MR2, GK_NV, ars, acs, kc, a, b, ldb, c, ldc, add,
                        mr, nr);
    else
        GK_NAME(kernel)(GK_MR2, GK_NV2, ars, acs, kc, a, b, ldb, c, ldc, add,
                        mr, nr);
}

/*
 * C = op(A) op(B) + beta C for m, n, k >= 1 and beta 0 or 1 (see
 * gemm.h). The first pass over K stores into C (beta 0) or adds to it;
 * later passes add.
 */
GK_ATTR static void GK_NAME(gemm)(bool ta, bool tb, int64_t m, int64_t n,
                                  int64_t k, const GK_T *A, int64_t lda,
                                  const GK_T *B, int64_t ldb, GK_T beta,
                                  GK_T *C, int64_t ldc)
{
    _Alignas(64) GK_T abuf[GK_MC * GK_KC];
    _Alignas(64) GK_T bbuf[GK_KC * GK_NR];
    /* Equal passes over K, so that no pass is a sliver. */
    int64_t passes = (k + GK_KC - 1) / GK_KC;
    int64_t kstep = (k + passes - 1) / passes;
    /*
     * Blocks of A as tall as abuf holds at this depth: GK_MC rows at the
     * full GK_KC, more for a shallow product (256 rows at depth 64). Each
     * block packs the panels of B again (a transposed B, as in X W^T, is
     * transposed again), so fewer blocks pack B fewer times; each element
     * of C is the same dot product whatever the blocks.
     */
    int64_t mc_max = GK_MC * GK_KC / (kstep < GK_KC ? kstep : GK_KC);
    mc_max -= mc_max % GK_MR;
    for (int64_t p0 = 0; p0 < k; p0 += kstep) {
        int64_t kc = k - p0 < kstep ? k - p0 : kstep;
        bool add = beta != 0 || p0 > 0;
        for (int64_t i0 = 0; i0 < m; i0 += mc_max) {
            int64_t mc = m - i0 < mc_max ? m - i0 : mc_max;
            /*
             * With one panel of columns, packed rows of A would be used
             * once: read whole micro-panels of a row-major A in place and
             * pack only a ragged last one.
             */
            int64_t direct = !ta && n <= GK_NR ? mc / GK_MR * GK_MR : 0;
            GK_NAME(pack_a)(ta, A, lda, i0 + direct, p0, mc - direct, kc,
                            abuf);
            for (int64_t j0 = 0; j0 < n; j0 += GK_NR) {
                int nr = n - j0 < GK_NR ? (int)(n - j0) : GK_NR;
                const GK_T *bp = bbuf;
                int64_t ldbp = GK_NR;
                /* A row-major B is read in place where the kernel reads
                 * exactly nr columns: a whole panel, or a half-width one
                 * (one head of W7's attention is 16 wide). */
                if (!tb && (nr == GK_NR || nr == GK_NV2 * GK_VLEN)) {
                    bp = B + p0 * ldb + j0;
                    ldbp = ldb;
                } else {
                    GK_NAME(pack_b)(tb, B, ldb, p0, j0, kc, nr, bbuf);
                }
                GK_T *cb = C + i0 * ldc + j0;
                for (int64_t ir = 0; ir < direct; ir += GK_MR)
                    GK_NAME(tile_product)(lda, 1, kc, A + (i0 + ir) * lda + p0,
                                          bp, ldbp, cb + ir * ldc, ldc, add,
                                          GK_MR, nr);
                for (int64_t ir = direct; ir < mc; ir += GK_MR) {
                    int mr = mc - ir < GK_MR ? (int)(mc - ir) : GK_MR;
                    GK_NAME(tile_product)(1, GK_MR, kc,
                                          abuf + (ir - direct) * kc, bp, ldbp,
                                          cb + ir * ldc, ldc, add, mr, nr);
                }
            }
        }
    }
}

#undef GK_NR
#undef GK_MR2
#undef GK_NV2
#undef GK_UNROLL
#undef GK_T
#undef GK_V
#undef GK_VLEN
#undef GK_MR
#undef GK_NV
#undef GK_KC
#undef GK_MC
#undef GK_ATTR
#undef GK_SPLAT
#undef GK_FMA
#undef GK_NAME
#undef GK_TV
#undef GK_TILE

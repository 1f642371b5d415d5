// The GEMM driver: cache blocking, packing and edge tiles around the micro-kernels of the
// instruction-set level selected at start-up (see cpu.c).
//
// Loop nest (one thread; Swift splits C across threads and calls this per part):
//   for each block of MB rows:               packed A slice [MB, KC] in L3 (B packed once per slice)
//     for each K slice of KC:
//       pack op(A)[rows, slice] into mr-row panels
//       for each block of NC columns:        packed B block [KC, NC] stays in L2
//         pack op(B)[slice, columns] into nr-column panels
//         for each A panel:                  one A panel [KC, mr] stays in L1
//           for each B panel: micro-kernel  B panels stream from L2
// Each element of A and B is packed (and widened from f16/bf16) once per block, never copied whole.
#include "gemm_internal.h"
#include <stdlib.h>
#include <string.h>

enum {
    KC_MAX = 384,                // K slice: A panel mr*KC*4 bytes sits in L1 (48 KiB)
    B_BLOCK_BYTES = 1 << 20,     // packed B block: half of a 2 MiB L2
    // Packed A slice. Each A panel is read once per B block and then reused from L1 across the
    // whole block, so the slice may live in L3: a large slice means B is packed fewer times
    // (once per slice of A rows). 4 MiB holds a 2048-token batch at KC = 384.
    A_SLICE_BYTES = 4 << 20,
};

static const gemm_level *current_level(void) {
    switch (peft_cpu_level()) {
#if defined(__x86_64__)
    case 3: return gemm_level_avx512();
    case 2: return gemm_level_avx2();
#endif
#if defined(__aarch64__)
    case 1: return gemm_level_neon();
#endif
    default: return gemm_level_portable();
    }
}

/// A per-thread scratch buffer that only grows, 64-byte aligned.
typedef struct { float *data; size_t capacity; } scratch;
static _Thread_local scratch a_scratch, b_scratch;

static float *reserve(scratch *s, size_t count) {
    if (count > s->capacity) {
        free(s->data);
        size_t bytes = (count * sizeof(float) + 63) & ~(size_t)63;
        s->data = aligned_alloc(64, bytes);
        s->capacity = s->data ? count : 0;
    }
    return s->data;
}

/// Splits `total` into the fewest parts of at most `limit`, each a multiple of `unit`.
static long balanced_block(long total, long limit, long unit) {
    long parts = (total + limit - 1) / limit;
    long size = (total + parts - 1) / parts;
    return (size + unit - 1) / unit * unit;
}

static void scale_c(long m, long n, float beta, float *c, long ldc) {
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
}

/// A tile cut by the matrix edge: the kernel writes a full tile to `tile`, then the valid part
/// is merged into C.
static void edge_tile(const gemm_level *level, long kc, const float *ap, const float *bp,
                      float *c, long ldc, long rows, long cols, float alpha, float beta) {
    float tile[32 * 64] __attribute__((aligned(64)));
    level->kernel(kc, ap, bp, tile, level->nr, alpha, 0);
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++) {
            float value = tile[i * level->nr + j];
            c[i * ldc + j] = beta == 0 ? value : value + beta * c[i * ldc + j];
        }
}

static void blocked(const gemm_level *level, long m, long n, long k, float alpha,
                    const gemm_operand *a, const gemm_operand *b, float beta, float *c, long ldc) {
    const long mr = level->mr, nr = level->nr;
    const long kc_block = balanced_block(k, KC_MAX, 8);
    const long nc_block = balanced_block(n, B_BLOCK_BYTES / 4 / kc_block, nr);
    const long mb_block = balanced_block(m, A_SLICE_BYTES / 4 / kc_block, mr);
    float *a_pack = reserve(&a_scratch, (size_t)mb_block * kc_block);
    float *b_pack = reserve(&b_scratch, (size_t)nc_block * kc_block);
    if (!a_pack || !b_pack) abort();
    // op(B)^T is B with the transpose flag flipped: packing its rows gives B's column panels.
    gemm_operand bt = *b;
    bt.trans = !b->trans;

    for (long ib = 0; ib < m; ib += mb_block) {
        const long mb = m - ib < mb_block ? m - ib : mb_block;
        for (long pc = 0; pc < k; pc += kc_block) {
            const long kc = k - pc < kc_block ? k - pc : kc_block;
            const float beta_slice = pc == 0 ? beta : 1;
            level->pack(a, ib, mb, pc, kc, (int)mr, a_pack);
            for (long jc = 0; jc < n; jc += nc_block) {
                const long nc = n - jc < nc_block ? n - jc : nc_block;
                level->pack(&bt, jc, nc, pc, kc, (int)nr, b_pack);
                for (long ir = 0; ir < mb; ir += mr) {
                    const float *ap = a_pack + ir * kc;
                    const long rows = mb - ir < mr ? mb - ir : mr;
                    float *c_row = c + (ib + ir) * ldc + jc;
                    for (long jr = 0; jr < nc; jr += nr) {
                        const float *bp = b_pack + jr * kc;
                        const long cols = nc - jr < nr ? nc - jr : nr;
                        if (rows == mr && cols == nr)
                            level->kernel(kc, ap, bp, c_row + jr, ldc, alpha, beta_slice);
                        else
                            edge_tile(level, kc, ap, bp, c_row + jr, ldc, rows, cols, alpha, beta_slice);
                    }
                }
            }
        }
    }
}

/// B^T[n, k] widened to float32, rows padded with zeros to a multiple of 8.
static float *transposed_b(const gemm_operand *b, long n, long k, long *ldbt) {
    const long ld = (k + 15) & ~15L, rows = (n + 7) & ~7L;
    float *bt = reserve(&b_scratch, (size_t)rows * ld);
    if (!bt) abort();
    memset(bt, 0, sizeof(float) * (size_t)rows * ld);
    gemm_operand flipped = *b;
    flipped.trans = !b->trans;
    // Packing rows of op(B)^T one at a time (width 1) writes them contiguously.
    for (long j = 0; j < n; j++) gemm_pack_generic(&flipped, j, 1, 0, k, 1, bt + j * ld);
    *ldbt = ld;
    return bt;
}

void peft_gemm(int trans_a, int trans_b, long m, long n, long k, float alpha,
               const void *a, peft_dtype a_type, long lda,
               const void *b, peft_dtype b_type, long ldb,
               float beta, float *c, long ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0) { scale_c(m, n, beta, c, ldc); return; }
    const gemm_level *level = current_level();
    const gemm_operand a_op = {a, a_type, lda, trans_a != 0};
    const gemm_operand b_op = {b, b_type, ldb, trans_b != 0};
    if (level->narrow && n <= level->narrow_max_n && !trans_a && k >= 16) {
        long ldbt;
        const float *bt = transposed_b(&b_op, n, k, &ldbt);
        level->narrow(m, n, k, alpha, &a_op, bt, ldbt, beta, c, ldc);
        return;
    }
    blocked(level, m, n, k, alpha, &a_op, &b_op, beta, c, ldc);
}

void peft_gemm_tile(long *rows, long *columns) {
    const gemm_level *level = current_level();
    *rows = level->mr;
    *columns = level->nr;
}

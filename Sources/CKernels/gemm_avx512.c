// AVX-512 GEMM: a 14x32 register tile (28 zmm accumulators), vectorised packing that
// widens f16/bf16 on the way, and a dot-product kernel for narrow outputs (LoRA's rank-r side).
// Compiled for AVX-512 per function, so the package needs no global -mavx512f flag; the
// dispatcher only calls in here when the CPU has it.
#if defined(__x86_64__)
#include "gemm_internal.h"
#include "simd_x86.h"

#pragma clang attribute push(__attribute__((target(AVX512_TARGET))), apply_to = function)

enum { MR = 14, NR = 32 };

static void kernel_14x32(long kc, const float *a, const float *b, float *c, long ldc,
                         float alpha, float beta) {
    __m512 acc[MR][2];
    UNROLL for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    UNROLL for (int i = 0; i < MR; i++) { // the tile's 14 rows of 128 bytes, while the FMAs run
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 31), _MM_HINT_T0);
    }
    // Unrolled by 4 so loop control and pointer updates stay off the FMA ports' critical path.
    _Pragma("unroll 4") for (long p = 0; p < kc; p++, a += MR, b += NR) {
        const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        UNROLL for (int i = 0; i < MR; i++) {
            const __m512 ai = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    UNROLL for (int i = 0; i < MR; i++) {
        float *row = c + i * ldc;
        if (beta == 0) {
            _mm512_storeu_ps(row, _mm512_mul_ps(va, acc[i][0]));
            _mm512_storeu_ps(row + 16, _mm512_mul_ps(va, acc[i][1]));
        } else {
            _mm512_storeu_ps(row, _mm512_fmadd_ps(va, acc[i][0], _mm512_mul_ps(vb, _mm512_loadu_ps(row))));
            _mm512_storeu_ps(row + 16, _mm512_fmadd_ps(va, acc[i][1], _mm512_mul_ps(vb, _mm512_loadu_ps(row + 16))));
        }
    }
}

/// In-register transpose: on return r[c] holds column c of the 16x16 input rows.
static inline void transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
    UNROLL for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    UNROLL for (int i = 0; i < 4; i++) {
        const __m512d t0 = _mm512_castps_pd(t[4 * i]), t1 = _mm512_castps_pd(t[4 * i + 1]);
        const __m512d t2 = _mm512_castps_pd(t[4 * i + 2]), t3 = _mm512_castps_pd(t[4 * i + 3]);
        u[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    // u[4g + q], 128-bit lane L: rows 4g..4g+3 of column 4L + q.
    UNROLL for (int q = 0; q < 4; q++) {
        const __m512 v0 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x88);
        const __m512 v1 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xdd);
        const __m512 w0 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x88);
        const __m512 w1 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xdd);
        r[0 + q] = _mm512_shuffle_f32x4(v0, w0, 0x88);
        r[4 + q] = _mm512_shuffle_f32x4(v1, w1, 0x88);
        r[8 + q] = _mm512_shuffle_f32x4(v0, w0, 0xdd);
        r[12 + q] = _mm512_shuffle_f32x4(v1, w1, 0xdd);
    }
}

/// Rows of op(X) are contiguous in storage (X transposed): each panel column is a short copy.
/// Storage rows are walked in order (all panels of one storage row, then the next), so reads
/// stream through memory instead of striding down the matrix once per panel.
static inline __attribute__((always_inline)) void
pack_contiguous(const gemm_operand *x, long r0, long rows, long c0, long cols, int width,
                float *dst, const peft_dtype type) {
    const long size = type == PEFT_DTYPE_F32 ? 4 : 2;
    const char *base = (const char *)x->data;
    for (long col = 0; col < cols; col++) {
        const char *src_row = base + ((c0 + col) * x->ld + r0) * size;
        for (long panel = 0; panel < rows; panel += width) {
            const long valid = rows - panel < width ? rows - panel : width;
            const char *src = src_row + panel * size;
            float *out = dst + panel * cols + col * width;
            for (long i = 0; i < width; i += 16) {
                const long left = valid - i, room = width - i;
                const __m512 v = LOAD16_WIDENED(type, src + i * size, LANES16(left > 0 ? left : 0));
                _mm512_mask_storeu_ps(out + i, LANES16(room), v);
            }
        }
    }
}

/// Columns of op(X) are contiguous in storage: 16x16 blocks go through transpose16.
static inline __attribute__((always_inline)) void
pack_transposing(const gemm_operand *x, long r0, long rows, long c0, long cols, int width,
                 float *dst, const peft_dtype type) {
    const long size = type == PEFT_DTYPE_F32 ? 4 : 2;
    const char *base = (const char *)x->data;
    for (long panel = 0; panel < rows; panel += width) {
        const long valid = rows - panel < width ? rows - panel : width;
        float *out = dst + panel * cols;
        for (long group = 0; group < width; group += 16) {
            const long group_rows = valid - group, lanes = width - group;
            for (long col = 0; col < cols; col += 16) {
                const long chunk = cols - col < 16 ? cols - col : 16;
                __m512 r[16];
                UNROLL for (int i = 0; i < 16; i++) {
                    if (i < group_rows) {
                        const char *src = base + ((r0 + panel + group + i) * x->ld + c0 + col) * size;
                        r[i] = LOAD16_WIDENED(type, src, LANES16(chunk));
                    } else {
                        r[i] = _mm512_setzero_ps();
                    }
                }
                transpose16(r);
                UNROLL for (int j = 0; j < 16; j++)
                    if (j < chunk) _mm512_mask_storeu_ps(out + (col + j) * width + group, LANES16(lanes), r[j]);
            }
        }
    }
}

static void pack(const gemm_operand *x, long r0, long rows, long c0, long cols, int width,
                 float *dst) {
    switch (x->type) {
    case PEFT_DTYPE_F16:
        if (x->trans) pack_contiguous(x, r0, rows, c0, cols, width, dst, PEFT_DTYPE_F16);
        else pack_transposing(x, r0, rows, c0, cols, width, dst, PEFT_DTYPE_F16);
        break;
    case PEFT_DTYPE_BF16:
        if (x->trans) pack_contiguous(x, r0, rows, c0, cols, width, dst, PEFT_DTYPE_BF16);
        else pack_transposing(x, r0, rows, c0, cols, width, dst, PEFT_DTYPE_BF16);
        break;
    default:
        if (x->trans) pack_contiguous(x, r0, rows, c0, cols, width, dst, PEFT_DTYPE_F32);
        else pack_transposing(x, r0, rows, c0, cols, width, dst, PEFT_DTYPE_F32);
        break;
    }
}

/// Eight dot-product accumulators (one per column) -> the eight sums, in column order.
static inline __m256 reduce8(const __m512 acc[8]) {
    __m512 x[4], y[2];
    UNROLL for (int i = 0; i < 4; i++) // lanes 0-1: column 2i, lanes 2-3: column 2i+1
        x[i] = _mm512_add_ps(_mm512_shuffle_f32x4(acc[2 * i], acc[2 * i + 1], 0x44),
                             _mm512_shuffle_f32x4(acc[2 * i], acc[2 * i + 1], 0xee));
    UNROLL for (int i = 0; i < 2; i++) // lane L: column 4i + L
        y[i] = _mm512_add_ps(_mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], 0x88),
                             _mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], 0xdd));
    // lane L: (y0 partial pairs, y1 partial pairs) -> elements 0/1: column L / column 4 + L.
    __m512 s = _mm512_add_ps(_mm512_unpacklo_ps(y[0], y[1]), _mm512_unpackhi_ps(y[0], y[1]));
    s = _mm512_add_ps(s, _mm512_shuffle_ps(s, s, 0x4e));
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_castps512_ps256(_mm512_permutexvar_ps(order, s));
}

/// One step of `narrow_tile` over 16 elements of K (fewer where `mask` says so). A streams from
/// memory once, so the rows two tiles ahead are prefetched as this tile goes.
#define NARROW_STEP(mask)                                                                         \
    do {                                                                                          \
        __m512 av[2];                                                                             \
        UNROLL for (int i = 0; i < ROWS; i++) {                                                   \
            av[i] = LOAD16_WIDENED(type, a + i * lda_bytes + p * size, mask);                     \
            _mm_prefetch(a + (i + 2 * ROWS) * lda_bytes + p * size, _MM_HINT_T0);                 \
        }                                                                                         \
        UNROLL for (int j = 0; j < 8; j++) {                                                             \
            const __m512 bv = _mm512_load_ps(bt + j * ldbt + p);                                  \
            UNROLL for (int i = 0; i < ROWS; i++) acc[i][j] = _mm512_fmadd_ps(av[i], bv, acc[i][j]);     \
        }                                                                                         \
    } while (0)

/// ROWS (1 or 2) rows of C against 8 columns of B^T: ROWS*8 accumulators run along K.
static inline __attribute__((always_inline)) void
narrow_tile(long k, const char *a, long lda_bytes, const float *bt, long ldbt, float *c,
            long ldc, long cols, float alpha, float beta, const int ROWS, const peft_dtype type) {
    const long size = type == PEFT_DTYPE_F32 ? 4 : 2;
    __m512 acc[2][8];
    UNROLL for (int i = 0; i < ROWS; i++)
        UNROLL for (int j = 0; j < 8; j++) acc[i][j] = _mm512_setzero_ps();
    long p = 0;
    for (; p + 16 <= k; p += 16) NARROW_STEP(0xffff);
    if (p < k) NARROW_STEP(LANES16(k - p));
    const __mmask8 store = (__mmask8)(cols >= 8 ? 0xff : (1u << cols) - 1);
    UNROLL for (int i = 0; i < ROWS; i++) {
        __m256 sums = _mm256_mul_ps(_mm256_set1_ps(alpha), reduce8(acc[i]));
        if (beta != 0)
            sums = _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_maskz_loadu_ps(store, c + i * ldc), sums);
        _mm256_mask_storeu_ps(c + i * ldc, store, sums);
    }
}

static inline __attribute__((always_inline)) void
narrow_typed(long m, long n, long k, float alpha, const gemm_operand *a, const float *bt,
             long ldbt, float beta, float *c, long ldc, const peft_dtype type) {
    const long size = type == PEFT_DTYPE_F32 ? 4 : 2, lda_bytes = a->ld * size;
    const char *base = (const char *)a->data;
    long i = 0;
    for (; i + 2 <= m; i += 2)
        for (long j = 0; j < n; j += 8)
            narrow_tile(k, base + i * lda_bytes, lda_bytes, bt + j * ldbt, ldbt, c + i * ldc + j,
                        ldc, n - j, alpha, beta, 2, type);
    for (; i < m; i++)
        for (long j = 0; j < n; j += 8)
            narrow_tile(k, base + i * lda_bytes, lda_bytes, bt + j * ldbt, ldbt, c + i * ldc + j,
                        ldc, n - j, alpha, beta, 1, type);
}

static void narrow(long m, long n, long k, float alpha, const gemm_operand *a, const float *bt,
                   long ldbt, float beta, float *c, long ldc) {
    switch (a->type) {
    case PEFT_DTYPE_F16: narrow_typed(m, n, k, alpha, a, bt, ldbt, beta, c, ldc, PEFT_DTYPE_F16); break;
    case PEFT_DTYPE_BF16: narrow_typed(m, n, k, alpha, a, bt, ldbt, beta, c, ldc, PEFT_DTYPE_BF16); break;
    default: narrow_typed(m, n, k, alpha, a, bt, ldbt, beta, c, ldc, PEFT_DTYPE_F32); break;
    }
}

#pragma clang attribute pop

static const gemm_level avx512 = {
    .mr = MR, .nr = NR, .kernel = kernel_14x32, .pack = pack,
    .narrow = narrow, .narrow_max_n = 16,
};

const gemm_level *gemm_level_avx512(void) { return &avx512; }
#endif

// AVX2+FMA GEMM: a 6x16 register tile (12 ymm accumulators, 2 for B, 1 broadcast), a
// packer that copies contiguous panel columns with 8-wide (F16C-widening) loads, and a
// dot-product kernel for narrow outputs (LoRA's rank-r side).
#if defined(__x86_64__)
#include "gemm_internal.h"
#include "simd_x86.h"

#pragma clang attribute push(__attribute__((target(AVX2_TARGET))), apply_to = function)

enum { MR = 6, NR = 16 };

static void kernel_6x16(long kc, const float *a, const float *b, float *c, long ldc,
                        float alpha, float beta) {
    __m256 acc[MR][2];
    UNROLL for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (long p = 0; p < kc; p++, a += MR, b += NR) {
        const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        UNROLL for (int i = 0; i < MR; i++) {
            const __m256 ai = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    UNROLL for (int i = 0; i < MR; i++) {
        float *row = c + i * ldc;
        if (beta == 0) {
            _mm256_storeu_ps(row, _mm256_mul_ps(va, acc[i][0]));
            _mm256_storeu_ps(row + 8, _mm256_mul_ps(va, acc[i][1]));
        } else {
            _mm256_storeu_ps(row, _mm256_fmadd_ps(va, acc[i][0], _mm256_mul_ps(vb, _mm256_loadu_ps(row))));
            _mm256_storeu_ps(row + 8, _mm256_fmadd_ps(va, acc[i][1], _mm256_mul_ps(vb, _mm256_loadu_ps(row + 8))));
        }
    }
}

/// Eight elements of storage type `type` widened to float32.
static inline __m256 load8(const void *src, peft_dtype type) {
    switch (type) {
    case PEFT_DTYPE_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)src));
    case PEFT_DTYPE_BF16:
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)src)), 16));
    default: return _mm256_loadu_ps((const float *)src);
    }
}

/// Full panels whose rows are contiguous in storage (and whose width is a multiple of 8) use
/// 8-wide widening copies; edges and transposing layouts go through the scalar packer.
static void pack(const gemm_operand *x, long r0, long rows, long c0, long cols, int width,
                 float *dst) {
    const long full = x->trans && width % 8 == 0 ? rows / width * width : 0;
    const long size = x->type == PEFT_DTYPE_F32 ? 4 : 2;
    const char *base = (const char *)x->data;
    for (long panel = 0; panel < full; panel += width)
        for (long col = 0; col < cols; col++) {
            const char *src = base + ((c0 + col) * x->ld + r0 + panel) * size;
            float *out = dst + panel * cols + col * width;
            for (int i = 0; i < width; i += 8) _mm256_storeu_ps(out + i, load8(src + i * size, x->type));
        }
    if (full < rows) gemm_pack_generic(x, r0 + full, rows - full, c0, cols, width, dst + full * cols);
}

/// One element of storage type `type` as float32.
static inline float widen_one(const char *base, long index, peft_dtype type) {
    switch (type) {
    case PEFT_DTYPE_F16: return _cvtsh_ss(((const uint16_t *)(const void *)base)[index]);
    case PEFT_DTYPE_BF16: return _mm_cvtss_f32(_mm_castsi128_ps(
        _mm_cvtsi32_si128((int)((uint32_t)((const uint16_t *)(const void *)base)[index] << 16))));
    default: return ((const float *)(const void *)base)[index];
    }
}

/// Two rows of C against 4 columns of B^T: 8 ymm accumulators run along K, reduced with
/// horizontal adds; the K tail (k % 8) is added in scalar.
static inline __attribute__((always_inline)) void
narrow_tile(long k, const char *a, long lda_bytes, const float *bt, long ldbt, float *c, long ldc,
            long cols, float alpha, float beta, const int ROWS, const peft_dtype type) {
    const long size = type == PEFT_DTYPE_F32 ? 4 : 2, full = k / 8 * 8;
    __m256 acc[2][4];
    UNROLL for (int i = 0; i < ROWS; i++)
        UNROLL for (int j = 0; j < 4; j++) acc[i][j] = _mm256_setzero_ps();
    for (long p = 0; p < full; p += 8) {
        __m256 av[2];
        UNROLL for (int i = 0; i < ROWS; i++) av[i] = load8(a + i * lda_bytes + p * size, type);
        UNROLL for (int j = 0; j < 4; j++) {
            const __m256 bv = _mm256_load_ps(bt + j * ldbt + p);
            UNROLL for (int i = 0; i < ROWS; i++) acc[i][j] = _mm256_fmadd_ps(av[i], bv, acc[i][j]);
        }
    }
    UNROLL for (int i = 0; i < ROWS; i++) {
        const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(acc[i][0], acc[i][1]), _mm256_hadd_ps(acc[i][2], acc[i][3]));
        float sums[4];
        _mm_storeu_ps(sums, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
        for (long p = full; p < k; p++) {
            const float x = widen_one(a + i * lda_bytes, p, type);
            UNROLL for (int j = 0; j < 4; j++) sums[j] += x * bt[j * ldbt + p];
        }
        for (long j = 0; j < cols && j < 4; j++) {
            float *out = c + i * ldc + j;
            *out = alpha * sums[j] + (beta == 0 ? 0 : beta * *out);
        }
    }
}

static inline __attribute__((always_inline)) void
narrow_typed(long m, long n, long k, float alpha, const gemm_operand *a, const float *bt,
             long ldbt, float beta, float *c, long ldc, const peft_dtype type) {
    const long size = type == PEFT_DTYPE_F32 ? 4 : 2, lda_bytes = a->ld * size;
    const char *base = (const char *)a->data;
    long i = 0;
    for (; i + 2 <= m; i += 2)
        for (long j = 0; j < n; j += 4)
            narrow_tile(k, base + i * lda_bytes, lda_bytes, bt + j * ldbt, ldbt, c + i * ldc + j,
                        ldc, n - j, alpha, beta, 2, type);
    for (; i < m; i++)
        for (long j = 0; j < n; j += 4)
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

static const gemm_level avx2 = {
    .mr = MR, .nr = NR, .kernel = kernel_6x16, .pack = pack, .narrow = narrow, .narrow_max_n = 8,
};

const gemm_level *gemm_level_avx2(void) { return &avx2; }
#endif

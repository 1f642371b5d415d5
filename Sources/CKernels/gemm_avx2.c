// AVX2+FMA GEMM: a 6x16 register tile (12 ymm accumulators, 2 for B, 1 broadcast) and a
// packer that copies contiguous panel columns with 8-wide (F16C-widening) loads.
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

#pragma clang attribute pop

static const gemm_level avx2 = {.mr = MR, .nr = NR, .kernel = kernel_6x16, .pack = pack};

const gemm_level *gemm_level_avx2(void) { return &avx2; }
#endif

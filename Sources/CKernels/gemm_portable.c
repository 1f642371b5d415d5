// Plain C micro-kernel for machines without a SIMD level of their own. The compiler
// vectorises the column loop with whatever the baseline target offers.
#include "gemm_internal.h"

enum { MR = 4, NR = 8 };

static void kernel_4x8(long kc, const float *a, const float *b, float *c, long ldc,
                       float alpha, float beta) {
    float acc[MR][NR] = {{0}};
    for (long p = 0; p < kc; p++, a += MR, b += NR)
        UNROLL for (int i = 0; i < MR; i++)
            UNROLL for (int j = 0; j < NR; j++) acc[i][j] += a[i] * b[j];
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int j = 0; j < NR; j++)
            c[i * ldc + j] = alpha * acc[i][j] + (beta == 0 ? 0 : beta * c[i * ldc + j]);
}

static const gemm_level portable = {
    .mr = MR, .nr = NR, .kernel = kernel_4x8, .pack = gemm_pack_generic,
};

const gemm_level *gemm_level_portable(void) { return &portable; }

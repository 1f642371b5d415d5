// NEON GEMM for AArch64: an 8x12 register tile (24 q-register accumulators, 3 for B, 2 for A)
// using lane-indexed FMA, so A needs no broadcast loads.
#if defined(__aarch64__)
#include "gemm_internal.h"
#include <arm_neon.h>

enum { MR = 8, NR = 12 };

static void kernel_8x12(long kc, const float *a, const float *b, float *c, long ldc,
                        float alpha, float beta) {
    float32x4_t acc[MR][3];
    UNROLL for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = acc[i][2] = vdupq_n_f32(0);
    for (long p = 0; p < kc; p++, a += MR, b += NR) {
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
        const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
#define ROW(i, vec, lane)                                                                         \
        acc[i][0] = vfmaq_laneq_f32(acc[i][0], b0, vec, lane);                                    \
        acc[i][1] = vfmaq_laneq_f32(acc[i][1], b1, vec, lane);                                    \
        acc[i][2] = vfmaq_laneq_f32(acc[i][2], b2, vec, lane);
        ROW(0, a0, 0) ROW(1, a0, 1) ROW(2, a0, 2) ROW(3, a0, 3)
        ROW(4, a1, 0) ROW(5, a1, 1) ROW(6, a1, 2) ROW(7, a1, 3)
#undef ROW
    }
    UNROLL for (int i = 0; i < MR; i++) {
        float *row = c + i * ldc;
        UNROLL for (int v = 0; v < 3; v++) {
            float32x4_t result = vmulq_n_f32(acc[i][v], alpha);
            if (beta != 0) result = vfmaq_n_f32(result, vld1q_f32(row + 4 * v), beta);
            vst1q_f32(row + 4 * v, result);
        }
    }
}

static const gemm_level neon = {.mr = MR, .nr = NR, .kernel = kernel_8x12, .pack = gemm_pack_generic};

const gemm_level *gemm_level_neon(void) { return &neon; }
#endif

#include "ckernels.h"
#include <math.h>

// Portable reference path. Fast SIMD paths are selected by peft_cpu_level().
static inline float load_element(const void *base, peft_dtype type, long index) {
    switch (type) {
    case PEFT_DTYPE_F16: { float f; peft_f16_to_f32((const uint16_t *)base + index, &f, 1); return f; }
    case PEFT_DTYPE_BF16: { float f; peft_bf16_to_f32((const uint16_t *)base + index, &f, 1); return f; }
    default: return ((const float *)base)[index];
    }
}

void peft_gemm(int trans_a, int trans_b, long m, long n, long k, float alpha,
               const void *a, peft_dtype a_type, long lda,
               const void *b, peft_dtype b_type, long ldb,
               float beta, float *c, long ldc) {
    for (long i = 0; i < m; i++) {
        for (long j = 0; j < n; j++) {
            float sum = 0;
            for (long p = 0; p < k; p++) {
                float x = load_element(a, a_type, trans_a ? p * lda + i : i * lda + p);
                float y = load_element(b, b_type, trans_b ? j * ldb + p : p * ldb + j);
                sum += x * y;
            }
            float *out = &c[i * ldc + j];
            *out = alpha * sum + (beta == 0 ? 0 : beta * *out);
        }
    }
}

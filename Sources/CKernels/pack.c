// Scalar packing for any layout and storage type: the fallback of every level.
#include "gemm_internal.h"
#include <string.h>

float gemm_widen_f16(uint16_t h) {
    float f;
    peft_f16_to_f32(&h, &f, 1);
    return f;
}

static inline float widen_bf16(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// op(X)[r, c] lives at X[r * rs + c * cs]; the panel loop is written once per storage type so
// the type test stays out of the inner loop.
#define PACK_LOOP(TYPE, WIDEN)                                                                  \
    do {                                                                                        \
        const TYPE *base = (const TYPE *)x->data;                                               \
        for (long panel = 0; panel < rows; panel += width) {                                    \
            const long valid = rows - panel < width ? rows - panel : width;                     \
            for (long col = 0; col < cols; col++) {                                             \
                const TYPE *src = base + (r0 + panel) * rs + (c0 + col) * cs;                   \
                float *out = dst + panel * cols + col * width;                                  \
                long i = 0;                                                                     \
                for (; i < valid; i++) out[i] = WIDEN(src[i * rs]);                             \
                for (; i < width; i++) out[i] = 0;                                              \
            }                                                                                   \
        }                                                                                       \
    } while (0)

#define IDENTITY(v) (v)

void gemm_pack_generic(const gemm_operand *x, long r0, long rows, long c0, long cols,
                       int width, float *dst) {
    const long rs = x->trans ? 1 : x->ld, cs = x->trans ? x->ld : 1;
    switch (x->type) {
    case PEFT_DTYPE_F16: PACK_LOOP(uint16_t, gemm_widen_f16); break;
    case PEFT_DTYPE_BF16: PACK_LOOP(uint16_t, widen_bf16); break;
    default: PACK_LOOP(float, IDENTITY); break;
    }
}

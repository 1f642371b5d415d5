// Per-level conversion loops; convert.c dispatches between them.
#ifndef SWIFTPEFT_CONVERT_LEVELS_H
#define SWIFTPEFT_CONVERT_LEVELS_H
#include "ckernels.h"
#include <string.h>

/// bfloat16 is the top half of a float32: widening is a shift. Written as plain loops that the
/// compiler vectorises for whichever target the including function is compiled for.
#define CONVERT_BF16_TO_F32_LOOP(src, dst, count)                                                 \
    do {                                                                                          \
        uint32_t *out = (uint32_t *)(void *)(dst);                                                \
        for (long i = 0; i < (count); i++) out[i] = (uint32_t)(src)[i] << 16;                     \
    } while (0)

/// Round to nearest even; NaN stays a (quiet) NaN.
#define CONVERT_F32_TO_BF16_LOOP(src, dst, count)                                                 \
    do {                                                                                          \
        const uint32_t *in = (const uint32_t *)(const void *)(src);                               \
        for (long i = 0; i < (count); i++) {                                                      \
            const uint32_t x = in[i];                                                             \
            const uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;                      \
            (dst)[i] = (uint16_t)((x & 0x7fffffffu) > 0x7f800000u ? (x >> 16) | 0x40u : rounded); \
        }                                                                                         \
    } while (0)

#if defined(__x86_64__)
void convert_f16_to_f32_f16c(const uint16_t *src, float *dst, long count);
void convert_f32_to_f16_f16c(const float *src, uint16_t *dst, long count);
void convert_bf16_to_f32_avx512(const uint16_t *src, float *dst, long count);
void convert_f32_to_bf16_avx512(const float *src, uint16_t *dst, long count);
void convert_bf16_to_f32_avx2(const uint16_t *src, float *dst, long count);
void convert_f32_to_bf16_avx2(const float *src, uint16_t *dst, long count);
#endif
#if defined(__aarch64__)
void convert_f16_to_f32_neon(const uint16_t *src, float *dst, long count);
void convert_f32_to_f16_neon(const float *src, uint16_t *dst, long count);
#endif

#endif

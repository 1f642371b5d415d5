// float16 / bfloat16 <-> float32 conversions: scalar reference routines here, F16C / AVX-512 /
// NEON loops in convert_simd.c, dispatched by level.
#include "convert_levels.h"
#include <string.h>

static inline float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1f;
    uint32_t mantissa = h & 0x3ff;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { // subnormal: normalise
            exponent = 127 - 15 + 1;
            while ((mantissa & 0x400) == 0) { mantissa <<= 1; exponent--; }
            mantissa &= 0x3ff;
            bits = sign | (exponent << 23) | (mantissa << 13);
        }
    } else if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t exponent = (int32_t)((x >> 23) & 0xff);
    uint32_t mantissa = x & 0x7fffff;
    if (exponent == 0xff) return (uint16_t)(sign | 0x7c00 | (mantissa ? 0x200 : 0));
    int32_t e = exponent - 127 + 15;
    if (e >= 0x1f) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        mantissa |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mantissa >> shift;
        uint32_t rem = mantissa & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (mantissa >> 13);
    uint32_t rem = mantissa & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
    return (uint16_t)half;
}

static void f16_to_f32_portable(const uint16_t *src, float *dst, long count) {
    for (long i = 0; i < count; i++) dst[i] = f16_to_f32(src[i]);
}

static void f32_to_f16_portable(const float *src, uint16_t *dst, long count) {
    for (long i = 0; i < count; i++) dst[i] = f32_to_f16(src[i]);
}

void peft_f16_to_f32(const uint16_t *src, float *dst, long count) {
    switch (peft_cpu_level()) {
#if defined(__x86_64__)
    case 3: case 2: convert_f16_to_f32_f16c(src, dst, count); return;
#elif defined(__aarch64__)
    case 1: convert_f16_to_f32_neon(src, dst, count); return;
#endif
    default: f16_to_f32_portable(src, dst, count); return;
    }
}

void peft_f32_to_f16(const float *src, uint16_t *dst, long count) {
    switch (peft_cpu_level()) {
#if defined(__x86_64__)
    case 3: case 2: convert_f32_to_f16_f16c(src, dst, count); return;
#elif defined(__aarch64__)
    case 1: convert_f32_to_f16_neon(src, dst, count); return;
#endif
    default: f32_to_f16_portable(src, dst, count); return;
    }
}

void peft_bf16_to_f32(const uint16_t *src, float *dst, long count) {
    switch (peft_cpu_level()) {
#if defined(__x86_64__)
    case 3: convert_bf16_to_f32_avx512(src, dst, count); return;
    case 2: convert_bf16_to_f32_avx2(src, dst, count); return;
#endif
    default: CONVERT_BF16_TO_F32_LOOP(src, dst, count); return;
    }
}

void peft_f32_to_bf16(const float *src, uint16_t *dst, long count) {
    switch (peft_cpu_level()) {
#if defined(__x86_64__)
    case 3: convert_f32_to_bf16_avx512(src, dst, count); return;
    case 2: convert_f32_to_bf16_avx2(src, dst, count); return;
#endif
    default: CONVERT_F32_TO_BF16_LOOP(src, dst, count); return;
    }
}

// Vector conversion loops: F16C (8 lanes, both AVX levels), AVX-512 / AVX2 builds of the
// bfloat16 loops, and NEON's native half-precision conversions.
#include "convert_levels.h"

#if defined(__x86_64__)
#include "simd_x86.h"

__attribute__((target(AVX2_TARGET))) void convert_f16_to_f32_f16c(const uint16_t *src, float *dst, long count) {
    long i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    if (i < count) {
        uint16_t in[8] = {0};
        float out[8];
        memcpy(in, src + i, sizeof(uint16_t) * (size_t)(count - i));
        _mm256_storeu_ps(out, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)in)));
        memcpy(dst + i, out, sizeof(float) * (size_t)(count - i));
    }
}

__attribute__((target(AVX2_TARGET))) void convert_f32_to_f16_f16c(const float *src, uint16_t *dst, long count) {
    long i = 0;
    for (; i + 8 <= count; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    if (i < count) {
        float in[8] = {0};
        uint16_t out[8];
        memcpy(in, src + i, sizeof(float) * (size_t)(count - i));
        _mm_storeu_si128((__m128i *)out, _mm256_cvtps_ph(_mm256_loadu_ps(in), _MM_FROUND_TO_NEAREST_INT));
        memcpy(dst + i, out, sizeof(uint16_t) * (size_t)(count - i));
    }
}

__attribute__((target(AVX512_TARGET))) void convert_bf16_to_f32_avx512(const uint16_t *src, float *dst, long count) {
    CONVERT_BF16_TO_F32_LOOP(src, dst, count);
}
__attribute__((target(AVX512_TARGET))) void convert_f32_to_bf16_avx512(const float *src, uint16_t *dst, long count) {
    CONVERT_F32_TO_BF16_LOOP(src, dst, count);
}
__attribute__((target(AVX2_TARGET))) void convert_bf16_to_f32_avx2(const uint16_t *src, float *dst, long count) {
    CONVERT_BF16_TO_F32_LOOP(src, dst, count);
}
__attribute__((target(AVX2_TARGET))) void convert_f32_to_bf16_avx2(const float *src, uint16_t *dst, long count) {
    CONVERT_F32_TO_BF16_LOOP(src, dst, count);
}
#endif

#if defined(__aarch64__)
#include <arm_neon.h>

void convert_f16_to_f32_neon(const uint16_t *src, float *dst, long count) {
    long i = 0;
    for (; i + 4 <= count; i += 4) vst1q_f32(dst + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(src + i))));
    for (; i < count; i++) {
        const float16x4_t h = vreinterpret_f16_u16(vdup_n_u16(src[i]));
        dst[i] = vgetq_lane_f32(vcvt_f32_f16(h), 0);
    }
}

void convert_f32_to_f16_neon(const float *src, uint16_t *dst, long count) {
    long i = 0;
    for (; i + 4 <= count; i += 4) vst1_u16(dst + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(src + i))));
    for (; i < count; i++) {
        const float16x4_t h = vcvt_f16_f32(vdupq_n_f32(src[i]));
        dst[i] = vget_lane_u16(vreinterpret_u16_f16(h), 0);
    }
}
#endif

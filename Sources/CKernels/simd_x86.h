// Helpers shared by the AVX-512 files: masked, widening loads of 16 elements.
// Include only from files compiled under the AVX-512 target pragma.
#ifndef SWIFTPEFT_SIMD_X86_H
#define SWIFTPEFT_SIMD_X86_H
#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512_TARGET "avx512f,avx512vl,avx512bw,avx512dq,fma,f16c,avx2"
#define AVX2_TARGET "avx2,fma,f16c"

/// Mask of the first `count` (0...16) lanes.
#define LANES16(count) ((__mmask16)((count) >= 16 ? 0xffff : ((1u << (count)) - 1)))

/// Loads up to 16 elements of storage type `type` as float32; lanes past `mask` are zero.
#define LOAD16_WIDENED(type, pointer, mask)                                                       \
    ((type) == PEFT_DTYPE_F32 ? _mm512_maskz_loadu_ps((mask), (const float *)(pointer))           \
     : (type) == PEFT_DTYPE_F16                                                                   \
         ? _mm512_cvtph_ps(_mm256_maskz_loadu_epi16((mask), (const uint16_t *)(pointer)))         \
         : _mm512_castsi512_ps(_mm512_slli_epi32(                                                 \
               _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16((mask), (const uint16_t *)(pointer))), 16)))

#endif
#endif

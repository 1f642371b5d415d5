// Per-level entry points of the vector maths; vmath.c dispatches between them.
#ifndef SWIFTPEFT_VMATH_LEVELS_H
#define SWIFTPEFT_VMATH_LEVELS_H

#define VMATH_DECLARE(level)                                                                      \
    void peft_vexp_##level(const float *src, float *dst, long count);                             \
    void peft_vtanh_##level(const float *src, float *dst, long count);                            \
    void peft_verf_##level(const float *src, float *dst, long count);                             \
    float peft_vmax_##level(const float *src, long count);                                        \
    float peft_vexp_shifted_sum_##level(const float *src, float *dst, long count, float shift);  \
    float peft_vsum_##level(const float *src, long count);                                        \
    float peft_vdot_##level(const float *a, const float *b, long count);

VMATH_DECLARE(portable)
#if defined(__x86_64__)
VMATH_DECLARE(avx512)
VMATH_DECLARE(avx2)
#endif
#if defined(__aarch64__)
VMATH_DECLARE(neon)
#endif

#endif

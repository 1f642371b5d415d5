// The vector maths of vmath_impl.h compiled for AVX2+FMA.
#if defined(__x86_64__)
#include "simd_x86.h"
#include "vmath_levels.h"

#pragma clang attribute push(__attribute__((target(AVX2_TARGET))), apply_to = function)
#define VMATH_WIDTH 8
#define VMATH_FMA 1
#define VMATH_NAME(f) peft_v##f##_avx2
#include "vmath_impl.h"
#pragma clang attribute pop
#endif

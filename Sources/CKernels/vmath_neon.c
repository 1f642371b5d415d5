// The vector maths of vmath_impl.h compiled for NEON (always present on AArch64).
#if defined(__aarch64__)
#include "vmath_levels.h"

#define VMATH_WIDTH 4
#define VMATH_FMA 1
#define VMATH_NAME(f) peft_v##f##_neon
#include "vmath_impl.h"
#endif

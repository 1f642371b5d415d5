// Elementwise exp, tanh and erf and the row reductions: the portable build of vmath_impl.h
// and the dispatch to the level selected at start-up.
#include "ckernels.h"
#include "vmath_levels.h"

#define VMATH_WIDTH 4
#define VMATH_FMA 0
#define VMATH_NAME(f) peft_v##f##_portable
#include "vmath_impl.h"

#if defined(__x86_64__)
#define VMATH_DISPATCH(f, src, dst, count)                                                        \
    switch (peft_cpu_level()) {                                                                   \
    case 3: peft_v##f##_avx512(src, dst, count); return;                                          \
    case 2: peft_v##f##_avx2(src, dst, count); return;                                            \
    default: peft_v##f##_portable(src, dst, count); return;                                       \
    }
#elif defined(__aarch64__)
#define VMATH_DISPATCH(f, src, dst, count) peft_v##f##_neon(src, dst, count)
#else
#define VMATH_DISPATCH(f, src, dst, count) peft_v##f##_portable(src, dst, count)
#endif

/// The same dispatch for the functions that return a value.
#if defined(__x86_64__)
#define VMATH_RETURN(f, ...)                                                                      \
    switch (peft_cpu_level()) {                                                                   \
    case 3: return peft_v##f##_avx512(__VA_ARGS__);                                               \
    case 2: return peft_v##f##_avx2(__VA_ARGS__);                                                 \
    default: return peft_v##f##_portable(__VA_ARGS__);                                            \
    }
#elif defined(__aarch64__)
#define VMATH_RETURN(f, ...) return peft_v##f##_neon(__VA_ARGS__)
#else
#define VMATH_RETURN(f, ...) return peft_v##f##_portable(__VA_ARGS__)
#endif

void peft_vexp(const float *src, float *dst, long count) { VMATH_DISPATCH(exp, src, dst, count); }
void peft_vtanh(const float *src, float *dst, long count) { VMATH_DISPATCH(tanh, src, dst, count); }
void peft_verf(const float *src, float *dst, long count) { VMATH_DISPATCH(erf, src, dst, count); }
float peft_vmax(const float *src, long count) { VMATH_RETURN(max, src, count); }
float peft_vexp_shifted_sum(const float *src, float *dst, long count, float shift) {
    VMATH_RETURN(exp_shifted_sum, src, dst, count, shift);
}
float peft_vsum(const float *src, long count) { VMATH_RETURN(sum, src, count); }
float peft_vdot(const float *a, const float *b, long count) { VMATH_RETURN(dot, a, b, count); }

// exp, tanh and erf, and the row reductions of softmax and normalization (max, exp-sum, sum,
// dot), written once over clang vector types, compiled once per instruction-set level. The
// including file defines VMATH_WIDTH (lanes), VMATH_FMA (1 when fused multiply-add is native)
// and VMATH_NAME(f) (a per-level function name), and wraps the include in its target pragma.
//
// Accuracy (tested against libm in VectorMathTests): about 2 ulp over the whole float range.
//   exp:  x = n ln2 + r, |r| <= ln2/2; Cephes' degree-7 polynomial for e^r; 2^n applied in two
//         halves so subnormal results and the overflow edge come out right.
//   tanh: odd polynomial (Cephes) below 0.625, 1 - 2 / (e^2|x| + 1) above.
//   erf:  x P(x^2) below 1; 1 - e^(-x^2) Q(1/x) above, with Q fitted (relative error 2e-7)
//         to erfc(x) e^(x^2) on [1, 4.5]; +-1 beyond.
#include <stdint.h>
#include <string.h>

typedef float vfloat __attribute__((ext_vector_type(VMATH_WIDTH)));
typedef int32_t vint __attribute__((ext_vector_type(VMATH_WIDTH)));

#if VMATH_FMA
#define VFMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#else
#define VFMA(a, b, c) ((a) * (b) + (c))
#endif

static inline vfloat vselect(vint mask, vfloat yes, vfloat no) {
    return (vfloat)((mask & (vint)yes) | (~mask & (vint)no));
}

static inline vfloat vabs(vfloat x) { return (vfloat)((vint)x & 0x7fffffff); }

static inline vfloat vcopysign(vfloat magnitude, vfloat sign) {
    return (vfloat)(((vint)magnitude & 0x7fffffff) | ((vint)sign & (int32_t)0x80000000));
}

static inline vfloat vexp_core(vfloat x) {
    x = vselect(x > 89.0f, (vfloat)89.0f, x);
    x = vselect(x < -104.0f, (vfloat)-104.0f, x);
    // Round x log2(e) to an integer n with the 1.5 * 2^23 trick (|n| <= 150 here).
    const vfloat magic = 12582912.0f;
    const vfloat shifted = VFMA(x, (vfloat)1.44269504088896341f, magic);
    const vfloat n = shifted - magic;
    const vint ni = (vint)shifted - (vint)magic;
    vfloat r = VFMA(n, (vfloat)-0.693359375f, x);
    r = VFMA(n, (vfloat)2.12194440e-4f, r);
    vfloat p = 1.9875691500e-4f;
    p = VFMA(p, r, (vfloat)1.3981999507e-3f);
    p = VFMA(p, r, (vfloat)8.3334519073e-3f);
    p = VFMA(p, r, (vfloat)4.1665795894e-2f);
    p = VFMA(p, r, (vfloat)1.6666665459e-1f);
    p = VFMA(p, r, (vfloat)5.0000001201e-1f);
    p = VFMA(p, r * r, r + 1.0f);
    // 2^n as 2^half * 2^(n - half): both factors stay normal for n in [-150, 128].
    const vint half = ni >> 1;
    const vfloat scale_a = (vfloat)((half + 127) << 23), scale_b = (vfloat)((ni - half + 127) << 23);
    return p * scale_a * scale_b;
}

static inline vfloat vtanh_core(vfloat x) {
    const vfloat a = vabs(x);
    const vfloat z = x * x;
    vfloat p = -5.70498872745e-3f;
    p = VFMA(p, z, (vfloat)2.06390887954e-2f);
    p = VFMA(p, z, (vfloat)-5.37397155531e-2f);
    p = VFMA(p, z, (vfloat)1.33314422036e-1f);
    p = VFMA(p, z, (vfloat)-3.33332819422e-1f);
    const vfloat small = VFMA(p * z, x, x);
    const vfloat large = 1.0f - 2.0f / (vexp_core(a + a) + 1.0f);
    return vselect(a < 0.625f, small, vcopysign(large, x));
}

static inline vfloat verf_core(vfloat x) {
    const vfloat a = vabs(x);
    const vfloat z = x * x;
    vfloat p = 7.816719880793244e-05f;
    p = VFMA(p, z, (vfloat)-0.0007998295477591455f);
    p = VFMA(p, z, (vfloat)0.005186870694160461f);
    p = VFMA(p, z, (vfloat)-0.026852965354919434f);
    p = VFMA(p, z, (vfloat)0.11283561587333679f);
    p = VFMA(p, z, (vfloat)-0.376126229763031f);
    p = VFMA(p, z, (vfloat)1.1283791065216064f);
    const vfloat small = p * x;
    const vfloat t = 1.0f / vselect(a < 1.0f, (vfloat)1.0f, a) - 0.6111111044883728f;
    vfloat q = 0.038434941321611404f;
    q = VFMA(q, t, (vfloat)-0.011519480496644974f);
    q = VFMA(q, t, (vfloat)-0.029819151386618614f);
    q = VFMA(q, t, (vfloat)0.047506432980298996f);
    q = VFMA(q, t, (vfloat)-0.050369709730148315f);
    q = VFMA(q, t, (vfloat)0.026631226763129234f);
    q = VFMA(q, t, (vfloat)0.04236621782183647f);
    q = VFMA(q, t, (vfloat)-0.1741885393857956f);
    q = VFMA(q, t, (vfloat)0.38709771633148193f);
    q = VFMA(q, t, (vfloat)0.30061012506484985f);
    const vfloat clamped = vselect(a > 4.5f, (vfloat)4.5f, a);
    vfloat large = 1.0f - vexp_core(-(clamped * clamped)) * q;
    large = vselect(a > 4.5f, (vfloat)1.0f, large);
    // NaN fails every comparison above and lands in `large`; keep it NaN.
    large = vselect(a != a, a, large);
    return vselect(a < 1.0f, small, vcopysign(large, x));
}

/// Applies `core` to `count` floats, whole vectors first, then the padded tail.
#define VMATH_APPLY(core, src, dst, count)                                                        \
    do {                                                                                          \
        long i = 0;                                                                               \
        for (; i + VMATH_WIDTH <= (count); i += VMATH_WIDTH) {                                    \
            vfloat v;                                                                             \
            memcpy(&v, (src) + i, sizeof v);                                                      \
            v = core(v);                                                                          \
            memcpy((dst) + i, &v, sizeof v);                                                      \
        }                                                                                         \
        if (i < (count)) {                                                                        \
            float lanes[VMATH_WIDTH] = {0};                                                       \
            memcpy(lanes, (src) + i, sizeof(float) * (size_t)((count) - i));                      \
            vfloat v;                                                                             \
            memcpy(&v, lanes, sizeof v);                                                          \
            v = core(v);                                                                          \
            memcpy(lanes, &v, sizeof v);                                                          \
            memcpy((dst) + i, lanes, sizeof(float) * (size_t)((count) - i));                      \
        }                                                                                         \
    } while (0)

void VMATH_NAME(exp)(const float *src, float *dst, long count) { VMATH_APPLY(vexp_core, src, dst, count); }
void VMATH_NAME(tanh)(const float *src, float *dst, long count) { VMATH_APPLY(vtanh_core, src, dst, count); }
void VMATH_NAME(erf)(const float *src, float *dst, long count) { VMATH_APPLY(verf_core, src, dst, count); }

/// The largest of `count` floats (-inf when empty; NaN is skipped, as fmax does).
float VMATH_NAME(max)(const float *src, long count) {
    vfloat best = -__builtin_inff();
    long i = 0;
    for (; i + VMATH_WIDTH <= count; i += VMATH_WIDTH) {
        vfloat v;
        memcpy(&v, src + i, sizeof v);
        best = __builtin_elementwise_max(best, v);
    }
    float result = __builtin_reduce_max(best);
    for (; i < count; i++) result = __builtin_fmaxf(result, src[i]);
    return result;
}

/// Horizontal sum of four vector accumulators.
static inline float vreduce_add4(const vfloat sums[4]) {
    float partial[VMATH_WIDTH], total = 0;
    const vfloat sum = (sums[0] + sums[1]) + (sums[2] + sums[3]);
    memcpy(partial, &sum, sizeof sum);
    for (int j = 0; j < VMATH_WIDTH; j++) total += partial[j];
    return total;
}

/// Runs `step(i, accumulator)` over the whole vectors of `count` elements, rotating over four
/// accumulators `sums` so the additions are not one dependency chain; leaves `i` at the first
/// element past them.
#define VMATH_FOUR_WAY(count, step)                                                               \
    vfloat sums[4] = {0, 0, 0, 0};                                                                \
    long i = 0;                                                                                   \
    for (; i + 4 * VMATH_WIDTH <= (count); i += 4 * VMATH_WIDTH) {                                \
        step(i, sums[0]);                                                                         \
        step(i + VMATH_WIDTH, sums[1]);                                                           \
        step(i + 2 * VMATH_WIDTH, sums[2]);                                                       \
        step(i + 3 * VMATH_WIDTH, sums[3]);                                                       \
    }                                                                                             \
    for (; i + VMATH_WIDTH <= (count); i += VMATH_WIDTH) step(i, sums[0])

#define DOT_STEP(at, sum)                                                                         \
    do {                                                                                          \
        vfloat x, y;                                                                              \
        memcpy(&x, a + (at), sizeof x);                                                           \
        memcpy(&y, b + (at), sizeof y);                                                           \
        sum = VFMA(x, y, sum);                                                                    \
    } while (0)

/// Σ a[i]·b[i] over `count` floats.
float VMATH_NAME(dot)(const float *a, const float *b, long count) {
    VMATH_FOUR_WAY(count, DOT_STEP);
    float total = vreduce_add4(sums);
    for (; i < count; i++) total += a[i] * b[i];
    return total;
}

#define SUM_STEP(at, sum)                                                                         \
    do {                                                                                          \
        vfloat x;                                                                                 \
        memcpy(&x, src + (at), sizeof x);                                                         \
        sum += x;                                                                                 \
    } while (0)

/// Σ src[i] over `count` floats.
float VMATH_NAME(sum)(const float *src, long count) {
    VMATH_FOUR_WAY(count, SUM_STEP);
    float total = vreduce_add4(sums);
    for (; i < count; i++) total += src[i];
    return total;
}

#define EXP_SHIFTED_STEP(at, sum)                                                                 \
    do {                                                                                          \
        vfloat v;                                                                                 \
        memcpy(&v, src + (at), sizeof v);                                                         \
        v = vexp_core(v - shift);                                                                 \
        memcpy(dst + (at), &v, sizeof v);                                                         \
        sum += v;                                                                                 \
    } while (0)

/// dst = exp(src - shift) over `count` floats (dst may equal src); returns their sum.
float VMATH_NAME(exp_shifted_sum)(const float *src, float *dst, long count, float shift) {
    VMATH_FOUR_WAY(count, EXP_SHIFTED_STEP);
    float total = vreduce_add4(sums);
    if (i < count) {
        float lanes[VMATH_WIDTH];
        for (int j = 0; j < VMATH_WIDTH; j++) lanes[j] = i + j < count ? src[i + j] : shift;
        vfloat v;
        memcpy(&v, lanes, sizeof v);
        v = vexp_core(v - shift);
        memcpy(lanes, &v, sizeof v);
        for (long j = 0; i + j < count; j++) {
            dst[i + j] = lanes[j];
            total += lanes[j];
        }
    }
    return total;
}

#undef VMATH_FOUR_WAY
#undef DOT_STEP
#undef SUM_STEP
#undef EXP_SHIFTED_STEP

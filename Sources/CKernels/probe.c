// Peak FMA throughput of one core: independent accumulator chains that never touch memory.
// Enough chains (latency 4 x 2 FMA units = 8 in flight, 12 used) keep every FMA unit busy.
#include "ckernels.h"
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

enum { CHAINS = 12, STEPS = 100000 };

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Hides a value from the optimiser so the chains are neither folded nor shortened.
#if defined(__x86_64__)
#define KEEP(value) __asm__ volatile("" : "+x"(value))
#elif defined(__aarch64__)
#define KEEP(value) __asm__ volatile("" : "+w"(value))
#else
#define KEEP(value) __asm__ volatile("" : "+m"(value))
#endif

// Each `probe_*` runs STEPS rounds of CHAINS vector FMAs and returns the floats per FMA.
#define FMA_ROUNDS(VEC, ZERO, SET1, FMA, LANES)                                                  \
    VEC acc[CHAINS];                                                                            \
    for (int i = 0; i < CHAINS; i++) acc[i] = ZERO;                                             \
    const VEC x = SET1(0.999999f), y = SET1(1e-7f);                                             \
    for (long r = 0; r < STEPS; r++)                                                            \
        for (int i = 0; i < CHAINS; i++) {                                                      \
            acc[i] = FMA(acc[i], x, y);                                                         \
            KEEP(acc[i]);                                                                       \
        }                                                                                       \
    float sink = 0;                                                                             \
    for (int i = 0; i < CHAINS; i++) sink += ((float *)&acc[i])[0];                             \
    *out = sink;                                                                                \
    return LANES;

#if defined(__x86_64__)
__attribute__((target("avx512f,fma"))) static int probe_avx512(float *out) {
    FMA_ROUNDS(__m512, _mm512_setzero_ps(), _mm512_set1_ps, _mm512_fmadd_ps, 16)
}
__attribute__((target("avx2,fma"))) static int probe_avx2(float *out) {
    FMA_ROUNDS(__m256, _mm256_setzero_ps(), _mm256_set1_ps, _mm256_fmadd_ps, 8)
}
#endif
#if defined(__aarch64__)
static inline float32x4_t neon_fma(float32x4_t a, float32x4_t b, float32x4_t c) { return vfmaq_f32(c, a, b); }
static int probe_neon(float *out) {
    FMA_ROUNDS(float32x4_t, vdupq_n_f32(0), vdupq_n_f32, neon_fma, 4)
}
#endif

static int probe_scalar(float *out) {
    float acc[CHAINS] = {0};
    for (long r = 0; r < STEPS; r++)
        for (int i = 0; i < CHAINS; i++) {
            acc[i] = acc[i] * 0.999999f + 1e-7f;
            KEEP(acc[i]);
        }
    float sink = 0;
    for (int i = 0; i < CHAINS; i++) sink += acc[i];
    *out = sink;
    return 1;
}

static int probe_once(float *sink) {
    switch (peft_cpu_level()) {
#if defined(__x86_64__)
    case 3: return probe_avx512(sink);
    case 2: return probe_avx2(sink);
#endif
#if defined(__aarch64__)
    case 1: return probe_neon(sink);
#endif
    default: return probe_scalar(sink);
    }
}

double peft_fma_probe_gflops(double seconds) {
    float sink;
    probe_once(&sink); // warm up the vector units (AVX-512 frequency licence)
    long rounds = 0;
    int lanes = 1;
    const double start = now_seconds();
    double elapsed;
    do {
        lanes = probe_once(&sink);
        rounds++;
        elapsed = now_seconds() - start;
    } while (elapsed < seconds);
    return (double)rounds * STEPS * CHAINS * lanes * 2 / elapsed / 1e9;
}

// Start-up selection of the instruction-set level from the CPU's features.
#include "ckernels.h"

static int detected_level = -1;
// Per thread, so a test forcing a level does not change the kernels under a concurrent test;
// Parallel hands the caller's setting to its workers.
static _Thread_local int forced_level = -1;

static int detect(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
        && __builtin_cpu_supports("f16c");
    if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return 3;
    return avx2 ? 2 : 0;
#elif defined(__aarch64__)
    return 1;
#else
    return 0;
#endif
}

int peft_cpu_level(void) {
    int detected = __atomic_load_n(&detected_level, __ATOMIC_RELAXED);
    if (detected < 0) {
        detected = detect();
        __atomic_store_n(&detected_level, detected, __ATOMIC_RELAXED);
    }
    const int forced = forced_level;
    if (forced < 0 || forced >= detected) return detected;
    // A lower level that this architecture does not compile (NEON on x86, AVX on ARM)
    // falls back to the portable path.
#if defined(__x86_64__)
    return forced == 1 ? 0 : forced;
#else
    return 0;
#endif
}

const char *peft_cpu_level_name(void) {
    switch (peft_cpu_level()) {
    case 3: return "avx512";
    case 2: return "avx2+fma";
    case 1: return "neon";
    default: return "portable";
    }
}

void peft_set_cpu_level(int level) { forced_level = level; }

int peft_forced_cpu_level(void) { return forced_level; }

#include "ckernels.h"

static int detected_level = -1;
static int forced_level = -1;

static int detect(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 3;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 2;
    return 0;
#elif defined(__aarch64__)
    return 1;
#else
    return 0;
#endif
}

int peft_cpu_level(void) {
    if (detected_level < 0) detected_level = detect();
    if (forced_level >= 0 && forced_level < detected_level) return forced_level;
    return detected_level;
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

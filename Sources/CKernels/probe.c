#include "ckernels.h"
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double peft_fma_probe_gflops(double seconds) {
    float acc[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    const float x = 0.999999f, y = 1e-7f;
    long iterations = 0;
    double start = now_seconds(), elapsed;
    do {
        for (int r = 0; r < 1000000; r++)
            for (int j = 0; j < 8; j++) acc[j] = acc[j] * x + y;
        iterations += 1000000;
        elapsed = now_seconds() - start;
    } while (elapsed < seconds);
    volatile float sink = acc[0] + acc[7];
    (void)sink;
    return (double)iterations * 8 * 2 / elapsed / 1e9;
}

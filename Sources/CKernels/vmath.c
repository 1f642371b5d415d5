#include "ckernels.h"
#include <math.h>

void peft_vexp(const float *src, float *dst, long count) {
    for (long i = 0; i < count; i++) dst[i] = expf(src[i]);
}

void peft_vtanh(const float *src, float *dst, long count) {
    for (long i = 0; i < count; i++) dst[i] = tanhf(src[i]);
}

void peft_verf(const float *src, float *dst, long count) {
    for (long i = 0; i < count; i++) dst[i] = erff(src[i]);
}

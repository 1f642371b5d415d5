// Shared declarations of the GEMM driver and the per-instruction-set micro-kernels.
// Not part of the public header: only CKernels' own files include it.
#ifndef SWIFTPEFT_GEMM_INTERNAL_H
#define SWIFTPEFT_GEMM_INTERNAL_H

#include "ckernels.h"

/// Fully unrolls the loop that follows (constant trip count). Kernels rely on it so that their
/// accumulator arrays live in registers even at -O2, where clang unrolls less on its own.
#define UNROLL _Pragma("unroll")

/// One GEMM operand as the kernels read it: op(X)[r, c] is X[r*ld + c], or X[c*ld + r] when
/// transposed, in storage type `type`.
typedef struct {
    const void *data;
    peft_dtype type;
    long ld;
    int trans;
} gemm_operand;

/// A register tile: C[mr, nr] = alpha * Apanel[kc, mr]^T · Bpanel[kc, nr] + beta * C.
/// Apanel holds mr floats per k step, Bpanel nr floats per k step. beta == 0 never reads C.
typedef void (*gemm_micro_kernel)(long kc, const float *a, const float *b,
                                  float *c, long ldc, float alpha, float beta);

/// Packs op(X)[r0 ..< r0+rows, c0 ..< c0+cols] so that each run of `width` consecutive
/// *rows* of op(X) becomes one panel, column-major inside the panel
/// (dst[panel][c][r % width]); rows past the end are zero. Used both for A (width = mr,
/// packing op(A)) and B (width = nr, packing op(B)^T).
typedef void (*gemm_pack)(const gemm_operand *x, long r0, long rows, long c0, long cols,
                          int width, float *dst);

/// For narrow outputs (n at most `narrow_max_n`): C = alpha * op(A) · B + beta * C computed
/// as dot products along K, reading A in place (it must not be transposed). `bt` is
/// B^T[n, k] widened to float32 with leading dimension `ldbt`, rows past n zero up to a
/// multiple of 8.
typedef void (*gemm_narrow_kernel)(long m, long n, long k, float alpha, const gemm_operand *a,
                                   const float *bt, long ldbt, float beta, float *c, long ldc);

/// Everything the driver needs from one instruction-set level.
typedef struct {
    int mr, nr;
    gemm_micro_kernel kernel;
    gemm_pack pack;
    gemm_narrow_kernel narrow;
    long narrow_max_n;
} gemm_level;

const gemm_level *gemm_level_portable(void);
#if defined(__x86_64__)
const gemm_level *gemm_level_avx2(void);
const gemm_level *gemm_level_avx512(void);
#endif
#if defined(__aarch64__)
const gemm_level *gemm_level_neon(void);
#endif

/// The scalar packer every level falls back on for layouts it has no fast path for.
void gemm_pack_generic(const gemm_operand *x, long r0, long rows, long c0, long cols,
                       int width, float *dst);

/// Portable scalar widening of one element.
float gemm_widen_f16(uint16_t h);

#endif

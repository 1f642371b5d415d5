// SwiftPEFT's innermost loops: SIMD micro-kernels chosen at start-up from the CPU's features.
// Everything above this header is Swift. Matrices are row-major with explicit leading dimensions.
#ifndef SWIFTPEFT_CKERNELS_H
#define SWIFTPEFT_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Storage element types a kernel can read. Narrow types are widened to float32 inside the kernel.
typedef enum {
    PEFT_DTYPE_F32 = 0,
    PEFT_DTYPE_F16 = 1,
    PEFT_DTYPE_BF16 = 2,
} peft_dtype;

/// The instruction set the dispatcher selected: 3 AVX-512, 2 AVX2+FMA, 1 NEON, 0 portable.
int peft_cpu_level(void);
/// A readable name for `peft_cpu_level()`, e.g. "avx512".
const char *peft_cpu_level_name(void);
/// Forces a lower level (for tests and benchmarks); values above what the CPU has are clamped,
/// a level this architecture does not compile (NEON on x86, AVX on ARM) means portable, and a
/// negative value restores the start-up selection. The setting belongs to the calling thread
/// (TensorCore's Parallel carries it to its workers), so concurrent callers don't disturb
/// each other.
void peft_set_cpu_level(int level);
/// The calling thread's forced level, or -1 when it uses the start-up selection.
int peft_forced_cpu_level(void);

/// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, single-threaded.
/// op(X) is X or X^T (trans != 0). A row-major X with trans == 0 is addressed X[i*ld + j].
/// A and B may be float32, float16 or bfloat16 (widened while packing); C is float32.
/// With beta == 0, C is not read (it may hold NaN). Packing buffers are per thread, so
/// concurrent calls on disjoint parts of C are safe.
void peft_gemm(int trans_a, int trans_b, long m, long n, long k, float alpha,
               const void *a, peft_dtype a_type, long lda,
               const void *b, peft_dtype b_type, long ldb,
               float beta, float *c, long ldc);

/// The register tile of the selected level's micro-kernel: splitting C into blocks whose
/// rows are a multiple of `rows` (columns of `columns`) avoids edge tiles inside a block.
void peft_gemm_tile(long *rows, long *columns);

/// Widening conversions of `count` elements.
void peft_f16_to_f32(const uint16_t *src, float *dst, long count);
void peft_bf16_to_f32(const uint16_t *src, float *dst, long count);
/// Narrowing conversions (round to nearest even).
void peft_f32_to_f16(const float *src, uint16_t *dst, long count);
void peft_f32_to_bf16(const float *src, uint16_t *dst, long count);

/// Vectorised elementwise maths over `count` floats; `dst` may equal `src`. Within 2 ulp of
/// libm over the whole float range (subnormal results included); NaN in gives NaN out,
/// exp(-inf) = 0, tanh(+-inf) = +-1, erf(+-inf) = +-1.
void peft_vexp(const float *src, float *dst, long count);
void peft_vtanh(const float *src, float *dst, long count);
void peft_verf(const float *src, float *dst, long count);
/// The passes of a softmax row: the largest of `count` floats (-inf when empty, NaN skipped),
/// and dst = exp(src - shift) (dst may equal src) returning the sum of dst.
float peft_vmax(const float *src, long count);
float peft_vexp_shifted_sum(const float *src, float *dst, long count, float shift);
/// Row reductions on several vector accumulators (so the additions run in a different order
/// than a sequential loop): Σ src[i] and Σ a[i]·b[i].
float peft_vsum(const float *src, long count);
float peft_vdot(const float *a, const float *b, long count);

/// Peak single-core FMA throughput in GFLOP/s, measured for about `seconds` of the calling
/// thread's CPU time (so other processes on the core do not lower it) by a register-resident
/// loop of 12 independent FMA chains at the selected level's vector width.
double peft_fma_probe_gflops(double seconds);

/// Runs body(context, i) for every i in 0..<count on `threads` threads of a persistent pool
/// (the caller is one of them); thread t starts with index t, the rest are claimed in order.
/// Workers run with the caller's forced CPU level. Returns 0, having run nothing, when the pool
/// is busy with another caller's job (a concurrent or nested call) or cannot start a thread.
int peft_parallel_for(long count, long threads, void (*body)(void *context, long index), void *context);

#ifdef __cplusplus
}
#endif
#endif

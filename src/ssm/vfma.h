/* Fused multiply-add a * b + c, rounded once, lane by lane on a GCC
 * vector, for the bodies instantiated once per instruction set (rfft_body.h,
 * deep_gemm_body.h): SSM_VFMA(ISA, REAL) names it for ISA avx512, avx2 or
 * base and REAL float or double.  The vector instructions (AVX-512 and
 * AVX2 + FMA; the including file is compiled for them by #pragma GCC
 * target) and libm's fmaf / fma on each lane of the baseline's 16-byte
 * vectors round identically, so every instantiation gives the same bits.
 * Contractions are written out where they are wanted: ISO C mode
 * (-std=c11) makes GCC contract nothing by itself, so the arithmetic does
 * not depend on what the compiler chooses for one target or another. */
#ifndef SSM_VFMA_H
#define SSM_VFMA_H

#include <math.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define SSM_VFMA_avx512_float(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define SSM_VFMA_avx512_double(a, b, c) _mm512_fmadd_pd((a), (b), (c))
#define SSM_VFMA_avx2_float(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define SSM_VFMA_avx2_double(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#endif

typedef float ssm_vfma_f32x4 __attribute__((vector_size(16), may_alias));
typedef double ssm_vfma_f64x2 __attribute__((vector_size(16), may_alias));

static inline ssm_vfma_f32x4 ssm_vfma_base_f32(ssm_vfma_f32x4 a, ssm_vfma_f32x4 b, ssm_vfma_f32x4 c)
{
    ssm_vfma_f32x4 r;
    for (int i = 0; i < 4; ++i)
        r[i] = fmaf(a[i], b[i], c[i]);
    return r;
}

static inline ssm_vfma_f64x2 ssm_vfma_base_f64(ssm_vfma_f64x2 a, ssm_vfma_f64x2 b, ssm_vfma_f64x2 c)
{
    ssm_vfma_f64x2 r;
    for (int i = 0; i < 2; ++i)
        r[i] = fma(a[i], b[i], c[i]);
    return r;
}

#define SSM_VFMA_base_float(a, b, c) ssm_vfma_base_f32((a), (b), (c))
#define SSM_VFMA_base_double(a, b, c) ssm_vfma_base_f64((a), (b), (c))

#define SSM_VFMA_(isa, real) SSM_VFMA_##isa##_##real
#define SSM_VFMA(isa, real) SSM_VFMA_(isa, real)

#endif

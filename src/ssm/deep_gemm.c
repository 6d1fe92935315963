#include "config.h"

#include "deep_gemm.h"

#include "rfft.h"
#include "vfma.h"

/* One instantiation per precision and instruction set, picked as the lane
 * FFTs pick theirs (rfft.c). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#pragma GCC push_options
#pragma GCC target("avx512f,fma")
#define REAL float
#define SUF f32
#define ISA avx512
#define CW 16
#define NV 4
#include "deep_gemm_body.h"
#define REAL double
#define SUF f64
#define ISA avx512
#define CW 8
#define NV 4
#include "deep_gemm_body.h"
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define REAL float
#define SUF f32
#define ISA avx2
#define CW 8
#define NV 2
#include "deep_gemm_body.h"
#define REAL double
#define SUF f64
#define ISA avx2
#define CW 4
#define NV 2
#include "deep_gemm_body.h"
#pragma GCC pop_options
#endif

/* the baseline (SSE2 on x86-64) */
#define REAL float
#define SUF f32
#define ISA base
#define CW 4
#define NV 2
#include "deep_gemm_body.h"
#define REAL double
#define SUF f64
#define ISA base
#define CW 2
#define NV 2
#include "deep_gemm_body.h"

void ssm_deep_gemm_f32(size_t M, size_t N, size_t K, const float *A, size_t a_row, size_t a_col, const float *B,
                       size_t ldb, float *C, size_t ldc, int accumulate)
{
    SSM_ISA_DISPATCH(gemm_run_f32, M, N, K, A, a_row, a_col, B, ldb, C, ldc, accumulate);
}

void ssm_deep_gemm_f64(size_t M, size_t N, size_t K, const double *A, size_t a_row, size_t a_col, const double *B,
                       size_t ldb, double *C, size_t ldc, int accumulate)
{
    SSM_ISA_DISPATCH(gemm_run_f64, M, N, K, A, a_row, a_col, B, ldb, C, ldc, accumulate);
}

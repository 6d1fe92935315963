/* The small matrix products of the deep S4D model's pointwise layer,
 *   C[i][j] = sum_k A(i, k) B[k][j]        (accumulate: C[i][j] += ...)
 * with A(i, k) = A[i a_row + k a_col], so A or its transpose is read in
 * place, and B row-major.  Every C entry is one sum over k in increasing
 * order, each step a fused multiply-add s = fma(B, A, s), started from 0
 * or from C: the same bits whatever the blocking, the instruction set
 * (the one ssm_rfft_force_isa selects) or the matrix sizes, and the same
 * bits as the plain triple loop of fma the tests compare against.
 *
 * Why not OpenBLAS: at the model's shapes (K = H or 2H = 64..128, or K = T
 * with N = H) its AVX2 kernels (OPENBLAS_CORETYPE=Haswell, which the tests
 * set) reached about half of what AVX-512 register tiles reach on the AMD
 * Zen 5 this was measured on, its results depend on the core type it runs,
 * and each call packs both operands and zeroes C first. */
#ifndef SSM_DEEP_GEMM_H
#define SSM_DEEP_GEMM_H

#include <stddef.h>

void ssm_deep_gemm_f32(size_t M, size_t N, size_t K, const float *A, size_t a_row, size_t a_col, const float *B,
                       size_t ldb, float *C, size_t ldc, int accumulate);
void ssm_deep_gemm_f64(size_t M, size_t N, size_t K, const double *A, size_t a_row, size_t a_col, const double *B,
                       size_t ldb, double *C, size_t ldc, int accumulate);

#endif

/* Real FFTs computed for a block of signals at once, one signal per SIMD
 * lane: every operation of a scalar FFT is applied to a vector holding
 * the same sample of 16 (float) or 8 (double) signals, so the transform
 * vectorizes completely, needs no shuffles, and rounds exactly as the
 * scalar algorithm would for each lane (the same IEEE operations, the
 * complex products and the radix-3 and -5 butterflies' scaled sums as
 * fused multiply-adds, vfma.h).  The deep S4D model transforms each channel
 * group of a [time][channel] activation array this way.
 *
 * Layout: a block of n real samples is n rows of LANES values
 * (row t = sample t of every lane).  A spectrum is n/2 + 1 complex rows,
 * each LANES real parts followed by LANES imaginary parts.
 *
 * Algorithm: the real transform of length n is a complex transform of
 * length M = n/2 (even samples as real, odd samples as imaginary parts)
 * followed by the usual split step; the complex transform is a Stockham
 * autosort FFT (natural order in and out) with radices 4, 2, 3 and 5, so
 * n/2 must have no prime factor above 5.  Twiddle factors are computed in
 * double precision.  The forward transform skips the zero padding of its
 * input and the inverse computes only the rows asked for. */
#ifndef SSM_RFFT_H
#define SSM_RFFT_H

#include <stddef.h>

#include "error.h"

#define SSM_RFFT_LANES_F32 16
#define SSM_RFFT_LANES_F64 8
/* alignment of every buffer passed in */
#define SSM_RFFT_ALIGN 64

typedef struct ssm_rfft ssm_rfft;

/* A plan for real transforms of length n: n even and n/2 a product of 2,
 * 3 and 5 (the message says otherwise). */
ssm_status ssm_rfft_new(size_t n, ssm_rfft **out, ssm_error *err);
void ssm_rfft_free(ssm_rfft *p);
size_t ssm_rfft_length(const ssm_rfft *p);
/* The smallest even length >= min whose half has no prime factor above 5. */
size_t ssm_rfft_good_length(size_t min);

/* Scratch of one transform: 2 n rows of LANES values (buf below). */
size_t ssm_rfft_buffer_rows(const ssm_rfft *p);
/* The same for a plan of length n, without making it. */
size_t ssm_rfft_buffer_rows_for(size_t n);

/* Forward transform.  buf holds the first nz rows of the signal (rows
 * nz..n-1 are taken as zero and need not be written; nz <= n); it is used
 * as scratch.  spec receives n/2 + 1 complex rows. */
void ssm_rfft_forward_f32(const ssm_rfft *p, float *buf, size_t nz, float *spec);
void ssm_rfft_forward_f64(const ssm_rfft *p, double *buf, size_t nz, double *spec);

/* Which instantiation runs (results are the same bits whichever): the
 * widest the CPU has, unless a test or benchmark forces one.  Returns 0
 * (and changes nothing) when the CPU or the build lacks it.  Not
 * thread-safe: call before transforms run. */
typedef enum { SSM_RFFT_AUTO, SSM_RFFT_AVX512, SSM_RFFT_AVX2, SSM_RFFT_BASELINE } ssm_rfft_isa;
int ssm_rfft_force_isa(ssm_rfft_isa isa);
/* The instantiation that runs now; deep_gemm.c follows the same choice. */
ssm_rfft_isa ssm_rfft_isa_in_use(void);

/* name_avx512(...), name_avx2(...) or name_base(...), as ssm_rfft_isa_in_use
 * says: x86-64 GCC builds instantiate all three, other builds the
 * baseline only. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SSM_ISA_DISPATCH(name, ...)                                                                          \
    (ssm_rfft_isa_in_use() == SSM_RFFT_AVX512 ? name##_avx512(__VA_ARGS__)                                  \
     : ssm_rfft_isa_in_use() == SSM_RFFT_AVX2 ? name##_avx2(__VA_ARGS__)                                    \
                                              : name##_base(__VA_ARGS__))
#else
#define SSM_ISA_DISPATCH(name, ...) name##_base(__VA_ARGS__)
#endif

/* Inverse transform without normalization (n times the signal, as FFTW's
 * c2r): returns a pointer into buf holding the first nout rows
 * (nout <= n).  spec is not modified. */
float *ssm_rfft_inverse_f32(const ssm_rfft *p, const float *spec, float *buf, size_t nout);
double *ssm_rfft_inverse_f64(const ssm_rfft *p, const double *spec, double *buf, size_t nout);

/* A convolution by a kernel spectrum kf (the layout of spec): the forward
 * transform of buf's first nz rows, its spectrum X kept in spec, and the
 * inverse transform of X kf, whose first nout rows the returned pointer
 * into buf holds.  The same bits as ssm_rfft_forward, the product
 * (x_re k_re - x_im k_im, x_re k_im + x_im k_re, each part a product and
 * a fused multiply-add) and ssm_rfft_inverse; one pass over the spectrum
 * rows instead of three. */
float *ssm_rfft_convolve_f32(const ssm_rfft *p, float *buf, size_t nz, const float *kf, float *spec, size_t nout);
double *ssm_rfft_convolve_f64(const ssm_rfft *p, double *buf, size_t nz, const double *kf, double *spec, size_t nout);
/* Its adjoint, with the kernel's gradient: G, the transform of buf's first
 * nz rows; dkf += G conj(xf) (each part two fused multiply-adds into dkf:
 * g_re x_re + (g_im x_im + d_re), g_im x_re + (-g_re x_im + d_im)); and the
 * inverse transform of G conj(kf) (g_re k_re + g_im k_im, g_im k_re -
 * g_re k_im), returned as by convolve. */
float *ssm_rfft_correlate_f32(const ssm_rfft *p, float *buf, size_t nz, const float *kf, const float *xf, float *dkf,
                              size_t nout);
double *ssm_rfft_correlate_f64(const ssm_rfft *p, double *buf, size_t nz, const double *kf, const double *xf,
                               double *dkf, size_t nout);

#endif

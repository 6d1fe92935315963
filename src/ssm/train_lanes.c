#include "config.h"

#include "train_lanes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diagonal.h"
#include "memory.h"
#include "rfft.h"

/* after complex.h: fftw(f)_complex are then the C99 complex types */
#include <fftw3.h>

/* the walks recompute lambda^tau exactly (in float64) every so many steps:
 * the running product's rounding stays below 256 ulps of the pass's
 * precision */
#define RESTART 256

/* GCC clones the hot loops per instruction set (they round identically:
 * ISO C mode contracts no a*b+c into an FMA) and vectorizes them without
 * run-time alias checks (each loop writes arrays it alone reads). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HOT
#endif
#define IVDEP _Pragma("GCC ivdep")
#define UNROLL _Pragma("GCC unroll 16")
/* the tiles are 64-byte vectors passed between always-inlined functions:
 * no call ABI is involved */
#pragma GCC diagnostic ignored "-Wpsabi"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

/* a and b, rows i and i + d of a tile: elements whose column has bit d
 * set in a trade places with those of b whose column has it clear; the
 * masks index the concatenation of a and b */
#define EXCHANGE(a, b, lo, hi)                                                                                         \
    do {                                                                                                               \
        const __typeof__(a) x_ = (a), y_ = (b);                                                                        \
        (a) = __builtin_shuffle(x_, y_, lo);                                                                           \
        (b) = __builtin_shuffle(x_, y_, hi);                                                                           \
    } while (0)

/* mask element c of the stage exchanging blocks of d: lo takes a's c, or
 * b's c - d where bit d of c is set; hi takes a's c + d, or b's c there */
typedef int mask_f32 __attribute__((vector_size(16 * sizeof(int))));
static const mask_f32 tile_lo_f32[4] = {{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
                                         {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
                                         {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
                                         {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30}};
static const mask_f32 tile_hi_f32[4] = {{8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31},
                                         {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31},
                                         {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31},
                                         {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31}};
typedef long long mask_f64 __attribute__((vector_size(8 * sizeof(long long))));
static const mask_f64 tile_lo_f64[3] = {
    {0, 1, 2, 3, 8, 9, 10, 11}, {0, 1, 8, 9, 4, 5, 12, 13}, {0, 8, 2, 10, 4, 12, 6, 14}};
static const mask_f64 tile_hi_f64[3] = {
    {4, 5, 6, 7, 12, 13, 14, 15}, {2, 3, 10, 11, 6, 7, 14, 15}, {1, 9, 3, 11, 5, 13, 7, 15}};

/* ---- float32 ---- */
#define REAL float
#define SINGLE 1
#define LANES SSM_RFFT_LANES_F32
#define STAGES 4
#define FN(name) CAT(name, _f32)
#define RFFT(op) ssm_rfft_##op##_f32
#define KFFT(name) fftwf_##name
#define REAL_CREAL crealf
#define REAL_CIMAG cimagf
typedef float tile_row_f32 __attribute__((vector_size(SSM_RFFT_LANES_F32 * sizeof(float))));
typedef double tile_run_f32 __attribute__((vector_size(SSM_RFFT_LANES_F32 * sizeof(double))));
#define TILE_ROW tile_row_f32
#define TILE_RUN tile_run_f32
#include "train_lanes_body.h"
#undef REAL
#undef SINGLE
#undef LANES
#undef STAGES
#undef FN
#undef RFFT
#undef KFFT
#undef REAL_CREAL
#undef REAL_CIMAG
#undef TILE_ROW
#undef TILE_RUN

/* ---- float64 ---- */
#define REAL double
#define SINGLE 0
#define LANES SSM_RFFT_LANES_F64
#define STAGES 3
#define FN(name) CAT(name, _f64)
#define RFFT(op) ssm_rfft_##op##_f64
#define KFFT(name) fftw_##name
#define REAL_CREAL creal
#define REAL_CIMAG cimag
typedef double tile_row_f64 __attribute__((vector_size(SSM_RFFT_LANES_F64 * sizeof(double))));
#define TILE_ROW tile_row_f64
#define TILE_RUN tile_row_f64
#include "train_lanes_body.h"

/* deep_gemm.c's kernels for one precision and instruction set: the
 * includer defines REAL, SUF (f32, f64), ISA (avx512, avx2, base), CW
 * (REALs per machine vector) and NV (vectors per row of a tile); the file
 * undefines them.  A tile is R rows by NV CW columns of C held in
 * registers while k runs (R NV accumulators; R = 4, so 16 of AVX-512's 32
 * registers or 8 of AVX2's 16); narrower tiles take the edges, columns
 * left over from whole vectors take a scalar loop.  Each step of a sum is
 * one fused multiply-add (vfma.h), in vectors and in the scalar loop. */

#define CAT4_(a, b, c, d) a##b##_##c##_##d
#define CAT4(a, b, c, d) CAT4_(a, b, c, d)
#define FN(name) CAT4(gemm_, name, SUF, ISA)
#define VC FN(vec)

typedef REAL VC __attribute__((vector_size(CW * sizeof(REAL)), may_alias, aligned(sizeof(REAL))));

static inline VC FN(fma)(VC a, VC b, VC c)
{
    return (VC)SSM_VFMA(ISA, REAL)(a, b, c);
}

/* One tile: rows R, NV vectors of columns; R and NV are constants where
 * it is inlined, so the accumulators live in registers. */
static inline __attribute__((always_inline)) void FN(tile)(size_t K, const REAL *a, size_t a_row, size_t a_col,
                                                            const REAL *b, size_t ldb, REAL *c, size_t ldc,
                                                            int accumulate, const int R, const int nv)
{
    VC acc[4][NV];
    _Pragma("GCC unroll 4") for (int r = 0; r < R; ++r)
        _Pragma("GCC unroll 8") for (int v = 0; v < nv; ++v)
            acc[r][v] = accumulate ? *(const VC *)(c + (size_t)r * ldc + (size_t)v * CW) : (VC){0};
    for (size_t k = 0; k < K; ++k) {
        VC bv[NV];
        _Pragma("GCC unroll 8") for (int v = 0; v < nv; ++v)
            bv[v] = *(const VC *)(b + k * ldb + (size_t)v * CW);
        _Pragma("GCC unroll 4") for (int r = 0; r < R; ++r) {
            /* av - 0 is av in every lane (a memory broadcast), -0 included */
            const VC av = a[(size_t)r * a_row + k * a_col] - (VC){0};
            _Pragma("GCC unroll 8") for (int v = 0; v < nv; ++v)
                acc[r][v] = FN(fma)(bv[v], av, acc[r][v]);
        }
    }
    _Pragma("GCC unroll 4") for (int r = 0; r < R; ++r)
        _Pragma("GCC unroll 8") for (int v = 0; v < nv; ++v)
            *(VC *)(c + (size_t)r * ldc + (size_t)v * CW) = acc[r][v];
}

/* Rows in tiles of 4 and the last ones singly, for columns j0..j0 + nv CW. */
static inline __attribute__((always_inline)) void FN(panel)(size_t M, size_t K, const REAL *A, size_t a_row,
                                                             size_t a_col, const REAL *B, size_t ldb, REAL *C,
                                                             size_t ldc, int accumulate, size_t j0, const int nv)
{
    size_t i = 0;
    for (; i + 4 <= M; i += 4)
        FN(tile)(K, A + i * a_row, a_row, a_col, B + j0, ldb, C + i * ldc + j0, ldc, accumulate, 4, nv);
    for (; i < M; ++i)
        FN(tile)(K, A + i * a_row, a_row, a_col, B + j0, ldb, C + i * ldc + j0, ldc, accumulate, 1, nv);
}

static void FN(run)(size_t M, size_t N, size_t K, const REAL *A, size_t a_row, size_t a_col, const REAL *B,
                     size_t ldb, REAL *C, size_t ldc, int accumulate)
{
    size_t j = 0;
    for (; j + NV * CW <= N; j += NV * CW)
        FN(panel)(M, K, A, a_row, a_col, B, ldb, C, ldc, accumulate, j, NV);
    for (; j + CW <= N; j += CW)
        FN(panel)(M, K, A, a_row, a_col, B, ldb, C, ldc, accumulate, j, 1);
    for (size_t i = 0; i < M && j < N; ++i)
        for (size_t jj = j; jj < N; ++jj) {
            REAL s = accumulate ? C[i * ldc + jj] : 0;
            for (size_t k = 0; k < K; ++k)
                s = _Generic(s, float: fmaf, double: fma)(B[k * ldb + jj], A[i * a_row + k * a_col], s);
            C[i * ldc + jj] = s;
        }
}

#undef VC
#undef FN
#undef CAT4
#undef CAT4_
#undef REAL
#undef SUF
#undef ISA
#undef CW
#undef NV

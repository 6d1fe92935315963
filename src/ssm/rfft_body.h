/* The typed, per-instruction-set half of rfft.c, included once per
 * (precision, instruction set) with
 *   REAL   float or double     SUF  f32 or f64     LANES  16 or 8 (layout)
 *   CW     lanes per machine vector (a divisor of LANES)
 *   ISA    suffix of the names (avx512, avx2, sse2, generic)
 * A block of LANES signals is transformed as LANES / CW independent
 * chunks of CW lanes each, with vectors of the machine's width: GCC turns
 * wider vectors into slow code (a scalar broadcast to a 64-byte vector on
 * AVX2 is sixteen stores), while each chunk's butterflies stay in
 * registers.  (See rfft.h for the layout and the algorithm.) */

#define CAT4_(a, b, c, d) a##b##_##c##_##d
#define CAT4(a, b, c, d) CAT4_(a, b, c, d)
#define CAT2_(a, b) a##_##b
#define CAT2(a, b) CAT2_(a, b)
#define FN(name) CAT4(rfft_, name, SUF, ISA)
#define VC FN(vec)
#define CV FN(cvec)
#define ROW (2 * LANES)   /* REALs per complex row: LANES real parts, LANES imaginary parts */
#define TWID(st) ((st)->CAT2(tw, SUF))
#define SPLIT(p) ((p)->CAT2(split, SUF))
#define GRID(p) ((p)->CAT2(grid, SUF))

typedef REAL VC __attribute__((vector_size(CW * sizeof(REAL)), may_alias));
typedef struct {
    VC re, im;
} CV;

/* a * b + c rounded once (vfma.h) */
static inline VC FN(fma)(VC a, VC b, VC c)
{
    return (VC)SSM_VFMA(ISA, REAL)(a, b, c);
}

/* v in every lane: v - 0 is v exactly, -0 included */
static inline VC FN(splat)(REAL v)
{
    return v - (VC){0};
}

/* a + k b for a scalar k, rounded once */
static inline CV FN(axpy)(CV a, REAL k, CV b)
{
    const VC kv = FN(splat)(k);
    return (CV){FN(fma)(b.re, kv, a.re), FN(fma)(b.im, kv, a.im)};
}

/* element i of a chunk: x points at the chunk's first lane of row 0 */
static inline CV FN(ld)(const REAL *x, size_t i)
{
    return (CV){*(const VC *)(x + i * ROW), *(const VC *)(x + i * ROW + LANES)};
}

static inline void FN(st)(REAL *y, size_t i, CV v)
{
    *(VC *)(y + i * ROW) = v.re;
    *(VC *)(y + i * ROW + LANES) = v.im;
}

/* the complex product (ar + i ai)(br + i bi), each part one product and a
 * fused multiply-add */
static inline CV FN(cmul)(VC ar, VC ai, VC br, VC bi)
{
    return (CV){FN(fma)(ar, br, -(ai * bi)), FN(fma)(ar, bi, ai * br)};
}

/* c * (wr + i wi), the scalar broadcast to every lane */
static inline CV FN(twiddle)(CV c, REAL wr, REAL wi)
{
    return FN(cmul)(c.re, c.im, FN(splat)(wr), FN(splat)(wi));
}

static inline CV FN(add)(CV a, CV b)
{
    return (CV){a.re + b.re, a.im + b.im};
}

static inline CV FN(sub)(CV a, CV b)
{
    return (CV){a.re - b.re, a.im - b.im};
}

/* -i v for the forward transform (sign -1), +i v for the inverse */
static inline CV FN(rot)(CV v, int inverse)
{
    return inverse ? (CV){-v.im, v.re} : (CV){v.im, -v.re};
}

/* One Stockham step: x[q + s(p + j m)] (j < r) -> DFT_r -> times w^(p k) ->
 * y[q + s(r p + k)].  One loop nest per radix with every value in a
 * named variable, so the butterflies stay in registers. */
#define LD(j) FN(ld)(x, q + s * (p + (j) * m))
#define ST(R, k, v) FN(st)(y, q + s * ((R) * p + (k)), (v))
#define TW(k)                                                                                               \
    const REAL w##k##r = w[2 * (k - 1)], w##k##i = inverse ? -w[2 * (k - 1) + 1] : w[2 * (k - 1) + 1]

static inline void FN(step)(const rfft_step *st, const REAL *restrict x, REAL *restrict y, int inverse)
{
    const size_t m = st->m, s = st->s;
    const REAL *tw = TWID(st);
    const REAL c3 = (REAL)-0.5, s3 = (REAL)0.86602540378443864676;
    const REAL c51 = (REAL)0.30901699437494742410, c52 = (REAL)-0.80901699437494742410;
    const REAL s51 = (REAL)0.95105651629515357212, s52 = (REAL)0.58778525229247312917;
    switch (st->radix) {
    case 2:
        for (size_t p = 0; p < m; ++p) {
            const REAL *w = tw + 2 * p;
            TW(1);
            for (size_t q = 0; q < s; ++q) {
                const CV a0 = LD(0), a1 = LD(1);
                ST(2, 0, FN(add)(a0, a1));
                ST(2, 1, FN(twiddle)(FN(sub)(a0, a1), w1r, w1i));
            }
        }
        break;
    case 3:
        for (size_t p = 0; p < m; ++p) {
            const REAL *w = tw + 4 * p;
            TW(1);
            TW(2);
            for (size_t q = 0; q < s; ++q) {
                const CV a0 = LD(0), a1 = LD(1), a2 = LD(2);
                const CV sum = FN(add)(a1, a2), dif = FN(sub)(a1, a2);
                const CV mid = FN(axpy)(a0, c3, sum);
                const CV rot = FN(rot)((CV){s3 * dif.re, s3 * dif.im}, inverse);
                ST(3, 0, FN(add)(a0, sum));
                ST(3, 1, FN(twiddle)(FN(add)(mid, rot), w1r, w1i));
                ST(3, 2, FN(twiddle)(FN(sub)(mid, rot), w2r, w2i));
            }
        }
        break;
    case 4:
        for (size_t p = 0; p < m; ++p) {
            const REAL *w = tw + 6 * p;
            TW(1);
            TW(2);
            TW(3);
            for (size_t q = 0; q < s; ++q) {
                const CV a0 = LD(0), a1 = LD(1), a2 = LD(2), a3 = LD(3);
                const CV t0 = FN(add)(a0, a2), t1 = FN(sub)(a0, a2);
                const CV t2 = FN(add)(a1, a3), t3 = FN(rot)(FN(sub)(a1, a3), inverse);
                ST(4, 0, FN(add)(t0, t2));
                ST(4, 1, FN(twiddle)(FN(add)(t1, t3), w1r, w1i));
                ST(4, 2, FN(twiddle)(FN(sub)(t0, t2), w2r, w2i));
                ST(4, 3, FN(twiddle)(FN(sub)(t1, t3), w3r, w3i));
            }
        }
        break;
    default: /* 5 */
        for (size_t p = 0; p < m; ++p) {
            const REAL *w = tw + 8 * p;
            TW(1);
            TW(2);
            TW(3);
            TW(4);
            for (size_t q = 0; q < s; ++q) {
                const CV a0 = LD(0), a1 = LD(1), a2 = LD(2), a3 = LD(3), a4 = LD(4);
                const CV s1 = FN(add)(a1, a4), d1 = FN(sub)(a1, a4);
                const CV s2 = FN(add)(a2, a3), d2 = FN(sub)(a2, a3);
                const CV m1 = FN(axpy)(FN(axpy)(a0, c51, s1), c52, s2);
                const CV m2 = FN(axpy)(FN(axpy)(a0, c52, s1), c51, s2);
                const CV r1 = FN(rot)(FN(axpy)((CV){s51 * d1.re, s51 * d1.im}, s52, d2), inverse);
                const CV r2 = FN(rot)(FN(axpy)((CV){s52 * d1.re, s52 * d1.im}, -s51, d2), inverse);
                ST(5, 0, FN(add)(a0, FN(add)(s1, s2)));
                ST(5, 1, FN(twiddle)(FN(add)(m1, r1), w1r, w1i));
                ST(5, 2, FN(twiddle)(FN(add)(m2, r2), w2r, w2i));
                ST(5, 3, FN(twiddle)(FN(sub)(m2, r2), w3r, w3i));
                ST(5, 4, FN(twiddle)(FN(sub)(m1, r1), w4r, w4i));
            }
        }
        break;
    }
}

#undef TW
#undef ST
#undef LD

/* The first step of a zero-padded input: only x[0..nz) is nonzero and nz
 * <= m, so every butterfly sees a[0] alone and outputs a[0] w^(p k). */
static inline void FN(step_padded)(const rfft_step *st, const REAL *restrict x, REAL *restrict y, int inverse,
                                   size_t nz)
{
    const size_t r = st->radix, m = st->m;
    const REAL *tw = TWID(st);
    const CV zero = {{0}, {0}};
    for (size_t p = 0; p < m; ++p) {
        const CV a = p < nz ? FN(ld)(x, p) : zero;
        FN(st)(y, r * p, a);
        for (size_t k = 1; k < r; ++k) {
            const REAL wi = tw[2 * ((r - 1) * p + k - 1) + 1];
            FN(st)(y, r * p + k, FN(twiddle)(a, tw[2 * ((r - 1) * p + k - 1)], inverse ? -wi : wi));
        }
    }
}

/* The last step when only its first nout <= s outputs are wanted: those
 * are c[0] = sum_j a[j] of butterflies q < nout (m = 1). */
static inline void FN(step_truncated)(const rfft_step *st, const REAL *restrict x, REAL *restrict y, size_t nout)
{
    const size_t r = st->radix, s = st->s;
    for (size_t q = 0; q < nout; ++q) {
        CV c = FN(ld)(x, q);
        for (size_t j = 1; j < r; ++j)
            c = FN(add)(c, FN(ld)(x, q + s * j));
        FN(st)(y, q, c);
    }
}

/* A complex transform of the len elements in a by the steps of cp (natural
 * order in and out); b is scratch; returns the buffer holding the result.
 * Elements >= nz of the input are zero (and need not be written); only
 * the first nout elements of the result are wanted. */
static REAL *FN(complex)(const rfft_cplan *cp, REAL *a, REAL *b, int inverse, size_t nz, size_t nout)
{
    const rfft_step *steps = inverse ? cp->inv : cp->fwd;
    REAL *in = a, *out = b;
    for (size_t i = 0; i < cp->n_steps; ++i) {
        const rfft_step *st = &steps[i];
        if (i == 0 && nz <= st->m) {
            FN(step_padded)(st, in, out, inverse, nz);
        } else {
            if (i == 0)   /* the padding is read: make it zero */
                for (size_t e = nz; e < cp->len; ++e)
                    FN(st)(in, e, (CV){{0}, {0}});
            if (i + 1 == cp->n_steps && st->m == 1 && nout <= st->s)
                FN(step_truncated)(st, in, out, nout);
            else
                FN(step)(st, in, out, inverse);
        }
        REAL *t = in;
        in = out;
        out = t;
    }
    return in;
}

/* The complex transform of size M = M1 M2 in two passes over a, each made
 * of small transforms whose data stay in the L1 cache ("four-step"):
 *   A[k1, n2] = w_M^(n2 k1) DFT_M1(a[M2 n1 + n2] over n1)       (M2 columns)
 *   X[k1 + M1 k2] = DFT_M2(A[k1, n2] over n2)                    (M1 rows)
 * a holds the input (elements >= nz zero) and receives X (only the first
 * nout elements wanted); b holds A; loc is scratch for 2 max(M1, M2). */
static void FN(four_step)(const ssm_rfft *p, REAL *a, REAL *b, REAL *loc, int inverse, size_t nz, size_t nout)
{
    const size_t M1 = p->c1.len, M2 = p->c2.len;
    const REAL *tw = GRID(p);
    const size_t big = M1 > M2 ? M1 : M2;
    for (size_t n2 = 0; n2 < M2; ++n2) {
        const size_t nz1 = nz > n2 ? (nz - n2 + M2 - 1) / M2 : 0;   /* nonzero n1 */
        for (size_t n1 = 0; n1 < nz1 && n1 < M1; ++n1)
            FN(st)(loc, n1, FN(ld)(a, M2 * n1 + n2));
        const REAL *col = FN(complex)(&p->c1, loc, loc + big * ROW, inverse, nz1, M1);
        const REAL *w = tw + 2 * n2 * M1;
        for (size_t k1 = 0; k1 < M1; ++k1)
            FN(st)(b, k1 * M2 + n2,
                   FN(twiddle)(FN(ld)(col, k1), w[2 * k1], inverse ? -w[2 * k1 + 1] : w[2 * k1 + 1]));
    }
    for (size_t k1 = 0; k1 < M1 && k1 < nout; ++k1) {
        const size_t nout2 = (nout - k1 + M1 - 1) / M1;   /* k2 with k1 + M1 k2 < nout */
        const REAL *row = FN(complex)(&p->c2, b + k1 * M2 * ROW, loc, inverse, M2, nout2);
        for (size_t k2 = 0; k2 < nout2 && k2 < M2; ++k2)
            FN(st)(a, k1 + M1 * k2, FN(ld)(row, k2));
    }
}

/* The complex transform of a chunk (M elements, natural order) from a;
 * b and loc are the chunk's view of the scratch.  Returns a or b, the one
 * holding the result: the same one for every chunk of a transform, since
 * that depends only on the plan, nz and nout (copying it back to a was a
 * pass over the data for nothing). */
static REAL *FN(transform)(const ssm_rfft *p, REAL *a, REAL *b, REAL *loc, int inverse, size_t nz, size_t nout)
{
    if (p->c2.len > 1) {
        FN(four_step)(p, a, b, loc, inverse, nz, nout);
        return a;
    }
    return FN(complex)(&p->c1, a, b, inverse, nz, nout);
}

/* The split step of the forward transform at 1 <= k <= M/2: X[k] = E + w^k O
 * and X[M-k] = conj(E - w^k O) from Z[k] and Z[M-k], with
 * E = (Z[k] + conj Z[M-k]) / 2 and O = (Z[k] - conj Z[M-k]) / 2i.  At
 * 2k = M the two are one row, and it holds the second. */
static inline void FN(split)(const REAL *w, size_t M, size_t k, CV zk, CV zc, CV *xk, CV *xc)
{
    const REAL half = (REAL)0.5;
    const VC er = half * (zk.re + zc.re), ei = half * (zk.im - zc.im);
    const VC or_ = half * (zk.im + zc.im), oi = half * (zc.re - zk.re);
    const CV t = FN(cmul)(or_, oi, FN(splat)(w[2 * k]), FN(splat)(w[2 * k + 1]));
    *xc = (CV){er - t.re, t.im - ei};
    *xk = 2 * k == M ? *xc : (CV){er + t.re, ei + t.im};
}

/* The first step of the inverse at 0 <= k <= M/2: 2 Z[k] and 2 Z[M-k] into
 * a from X[k] and X[M-k] (X[M] at k = 0):
 * Z'[k] = (X[k] + conj X[M-k]) + i w^-k (X[k] - conj X[M-k]); at M - k the
 * same terms give conj(E') + i conj(O'). */
static inline void FN(unsplit)(const REAL *w, size_t M, size_t k, CV xk, CV xc, REAL *a)
{
    const VC er = xk.re + xc.re, ei = xk.im - xc.im;
    const VC dr = xk.re - xc.re, di = xk.im + xc.im;
    const CV t = FN(cmul)(dr, di, FN(splat)(w[2 * k]), FN(splat)(-w[2 * k + 1]));
    FN(st)(a, k, (CV){er - t.im, ei + t.re});
    if (k != 0 && 2 * k != M)
        FN(st)(a, M - k, (CV){er + t.im, t.re - ei});
}

/* The complex transform of one chunk's signal: rows are the interleaved
 * even/odd samples of M complex elements, the first nz rows given (an odd
 * count leaves the last element's imaginary row unwritten: zeroed here). */
static inline const REAL *FN(forward_complex)(const ssm_rfft *p, REAL *a, REAL *b, REAL *loc, size_t nz)
{
    if (nz % 2)
        *(VC *)(a + (nz / 2) * ROW + LANES) = (VC){0};
    return FN(transform)(p, a, b, loc, 0, (nz + 1) / 2, p->M);
}

/* X[0] and X[M] from Z[0]. */
static inline void FN(split_ends)(CV z0, CV *x0, CV *xm)
{
    *x0 = (CV){z0.re + z0.im, (VC){0}};
    *xm = (CV){z0.re - z0.im, (VC){0}};
}

static void FN(forward)(const ssm_rfft *p, REAL *buf, size_t nz, REAL *spec)
{
    const size_t M = p->M;
    const REAL *w = SPLIT(p);
    for (size_t c = 0; c < LANES; c += CW) {
        REAL *a = buf + c, *b = a + M * ROW, *loc = b + M * ROW, *out = spec + c;
        const REAL *z = FN(forward_complex)(p, a, b, loc, nz);
        CV x0, xm;
        FN(split_ends)(FN(ld)(z, 0), &x0, &xm);
        FN(st)(out, 0, x0);
        FN(st)(out, M, xm);
        for (size_t k = 1; k <= M / 2; ++k) {
            CV xk, xc;
            FN(split)(w, M, k, FN(ld)(z, k), FN(ld)(z, M - k), &xk, &xc);
            FN(st)(out, k, xk);
            FN(st)(out, M - k, xc);
        }
    }
}

static REAL *FN(inverse)(const ssm_rfft *p, const REAL *spec, REAL *buf, size_t nout)
{
    const size_t M = p->M;
    const REAL *w = SPLIT(p);
    REAL *result = buf;
    for (size_t c = 0; c < LANES; c += CW) {
        REAL *a = buf + c, *b = a + M * ROW, *loc = b + M * ROW;
        const REAL *x = spec + c;
        for (size_t k = 0; k <= M / 2; ++k)
            FN(unsplit)(w, M, k, FN(ld)(x, k), FN(ld)(x, M - k), a);
        result = FN(transform)(p, a, b, loc, 1, M, (nout + 1) / 2) - c;
    }
    return result;
}

/* x k for spectra x and k: x_re k_re - x_im k_im, x_re k_im + x_im k_re */
static inline CV FN(spec_mul)(CV x, CV k)
{
    return FN(cmul)(x.re, x.im, k.re, k.im);
}

/* g conj(k): g_re k_re + g_im k_im, g_im k_re - g_re k_im */
static inline CV FN(spec_mul_conj)(CV g, CV k)
{
    return (CV){FN(fma)(g.re, k.re, g.im * k.im), FN(fma)(g.im, k.re, -(g.re * k.im))};
}

/* d + g conj(x), each part two fused multiply-adds into d */
static inline CV FN(spec_add_mul_conj)(CV d, CV g, CV x)
{
    return (CV){FN(fma)(g.re, x.re, FN(fma)(g.im, x.im, d.re)), FN(fma)(g.im, x.re, FN(fma)(-g.re, x.im, d.im))};
}

/* One spectrum row k of the fused passes: X[k] kept in keep (convolve) or
 * d += X[k] conj(xf[k]) (adjoint: correlate), and the row the inverse
 * transforms. */
static inline CV FN(filter_row)(int adjoint, size_t k, CV x, const REAL *kf, REAL *keep, const REAL *xf, REAL *d)
{
    if (!adjoint) {
        FN(st)(keep, k, x);
        return FN(spec_mul)(x, FN(ld)(kf, k));
    }
    FN(st)(d, k, FN(spec_add_mul_conj)(FN(ld)(d, k), x, FN(ld)(xf, k)));
    return FN(spec_mul_conj)(x, FN(ld)(kf, k));
}

/* The forward transform, its split, the product with the kernel spectrum
 * and the inverse's first step in one pass over the spectrum rows, then
 * the inverse transform (see rfft.h: convolve and correlate). */
static inline __attribute__((always_inline)) REAL *FN(filter)(const ssm_rfft *p, REAL *buf, size_t nz,
                                                              const REAL *kf, REAL *keep, const REAL *xf, REAL *d,
                                                              size_t nout, const int adjoint)
{
    const size_t M = p->M;
    const REAL *w = SPLIT(p);
    REAL *result = buf;
    for (size_t c = 0; c < LANES; c += CW) {
        REAL *a = buf + c, *b = a + M * ROW, *loc = b + M * ROW;
        REAL *keep_c = adjoint ? NULL : keep + c, *d_c = adjoint ? d + c : NULL;
        const REAL *kf_c = kf + c, *xf_c = adjoint ? xf + c : NULL;
        const REAL *z = FN(forward_complex)(p, a, b, loc, nz);
        CV x0, xm;
        FN(split_ends)(FN(ld)(z, 0), &x0, &xm);
        const CV y0 = FN(filter_row)(adjoint, 0, x0, kf_c, keep_c, xf_c, d_c);
        const CV ym = FN(filter_row)(adjoint, M, xm, kf_c, keep_c, xf_c, d_c);
        FN(unsplit)(w, M, 0, y0, ym, a);
        /* a and z may be one buffer: row pair k, M - k is read before it is written */
        for (size_t k = 1; k <= M / 2; ++k) {
            CV xk, xc;
            FN(split)(w, M, k, FN(ld)(z, k), FN(ld)(z, M - k), &xk, &xc);
            const CV yc = FN(filter_row)(adjoint, M - k, xc, kf_c, keep_c, xf_c, d_c);
            const CV yk = 2 * k == M ? yc : FN(filter_row)(adjoint, k, xk, kf_c, keep_c, xf_c, d_c);
            FN(unsplit)(w, M, k, yk, yc, a);
        }
        result = FN(transform)(p, a, b, loc, 1, M, (nout + 1) / 2) - c;
    }
    return result;
}

static REAL *FN(convolve)(const ssm_rfft *p, REAL *buf, size_t nz, const REAL *kf, REAL *spec, size_t nout)
{
    return FN(filter)(p, buf, nz, kf, spec, NULL, NULL, nout, 0);
}

static REAL *FN(correlate)(const ssm_rfft *p, REAL *buf, size_t nz, const REAL *kf, const REAL *xf, REAL *dkf,
                           size_t nout)
{
    return FN(filter)(p, buf, nz, kf, NULL, xf, dkf, nout, 1);
}

#undef GRID
#undef SPLIT
#undef TWID
#undef ROW
#undef CV
#undef VC
#undef FN
#undef CAT2
#undef CAT2_
#undef CAT4
#undef CAT4_

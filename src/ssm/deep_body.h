/* The activation-side forward and backward passes of deep.c, written once
 * for a real type and instantiated twice (float and double), the way GSL
 * builds its typed variants from one source.  Before including, define
 *   REAL   float or double
 *   SUF    f32 or f64           (suffix of every name defined here)
 *   LANES  SSM_RFFT_LANES_F32 or _F64 (signals per lane-parallel FFT)
 *   GEMM   ssm_deep_gemm_f32 or _f64 (deep_gemm.h)
 *   REAL_EXP                exp for REAL
 *   REAL_FMA                fused multiply-add for REAL (fmaf, fma)
 *   REAL_ERF_GAUSS          erf(x), setting *gauss = exp(-x^2)
 *   REAL_SQRT               sqrt for REAL
 * and the file undefines them, and its helper macros, at the end.  What
 * needs float64 whatever the activations (kernels and their gradients,
 * the loss) lives in deep.c.
 *
 * One sequence at a time: its forward pass through every layer keeps the
 * activations the backward pass needs (about 6 MiB at H 64, T 784 in
 * float32: they stay in the caches), and its backward pass follows at once,
 * adding to the gradient sums of its slot.  Activations are [time][channel]
 * with the channel count padded to a multiple of LANES (the padding stays
 * zero), so the pointwise layer is one GEMM per sequence, LayerNorm reads
 * contiguous rows, and the S4D convolution transforms LANES channels at
 * once (rfft.h). */

#define CAT3_(a, b, c) a##b##_##c
#define CAT3(a, b, c) CAT3_(a, b, c)
#define FN(name) CAT3(deep_, name, SUF)
#define RFFT(name) CAT3(ssm_rfft_, name, SUF)
/* The element-wise loops below write arrays that no other pointer of the
 * loop reads; GCC cannot prove that (its run-time alias checks give up
 * beyond a few arrays) and would leave the loops scalar. */
#define IVDEP _Pragma("GCC ivdep")
/* rows per block of the LayerNorm passes (pointwise_forward) */
#define DEEP_ROW_BLOCK 16

typedef struct {
    REAL *x;            /* layer input [T][Hp] */
    REAL *xf;           /* its spectra [G][nf][2][LANES] (the kernel gradient needs them) */
    REAL *dgelu;        /* GELU'(y) of the S4D output y [T][Hp]: computed with GELU(y), from the same erf */
    REAL *g;            /* after GELU and dropout [T][Hp]: the GEMM's input */
    REAL *z;            /* [T][2H]: z_a + bias, then sigmoid(z_b + bias) after the forward pass */
    REAL *xhat;         /* normalized residual sum [T][Hp] */
    REAL *rstd;         /* 1 / sqrt(var + eps) [T] */
    REAL *mask1, *mask2;/* dropout scales (0 or 1/(1-p)) [T][Hp], or NULL */
} FN(layer);

/* What one sequence's passes use, and the gradient sums of the sequences
 * given to this slot. */
typedef struct {
    FN(layer) *layer;   /* L */
    REAL *x_out;        /* output of the last layer [T][Hp] */
    REAL *u;            /* the input sequence as REAL [T] */
    REAL *fbuf;         /* FFT buffer: ssm_rfft_buffer_rows x LANES */
    REAL *d_out, *d_in; /* gradient w.r.t. a layer's output and input [T][Hp] */
    REAL *dz;           /* [T][2H] */
    REAL *dg;           /* [T][Hp]: dL/dg, then dL/dy */
    double *pool;       /* mean over time of the last layer [H] */
    /* gradient sums */
    REAL *dp;           /* n_params (the decoder's and the kernels' entries unused) */
    REAL *dkf;          /* kernel-spectrum gradients [L][G][nf][2][LANES] */
    double *ddec;       /* decoder weights and biases [C][H + 1] */
    double *dsum_h;     /* scratch [Hp] */
    REAL *row;          /* scratch [Hp] */
    double complex *state; /* recurrent mode: one channel's modes */
    int drop;           /* the current pass applies dropout (masks valid) */
} FN(slot);

#define MASK1(sl, ly) ((sl)->drop ? (ly)->mask1 : NULL)
#define MASK2(sl, ly) ((sl)->drop ? (ly)->mask2 : NULL)

typedef struct {
    size_t H, Hp, G, T, n, nf, L, C;
    size_t spec_len;    /* REALs of one spectrum block: nf 2 LANES */
    size_t fbuf_rows;   /* rows of LANES in one transform's scratch */
    int dropout;
    const ssm_rfft *fft;
    REAL *p;            /* parameters of the current pass, cast to REAL */
    REAL *wt;           /* the pointwise weights transposed, [L][H][2H] (the forward GEMM's B) */
    REAL *kf;           /* kernel spectra / n [L][G][nf][2][LANES] */
    FN(slot) slot[SSM_DEEP_SLOTS];
    char *arena;        /* every array above, in one block of huge pages */
    size_t bytes;       /* its size */
} FN(work);

static void FN(work_free)(FN(work) *w)
{
    if (!w)
        return;
    ssm_free_big(w->arena);
    for (size_t s = 0; s < SSM_DEEP_SLOTS; ++s)
        free(w->slot[s].layer);
    free(w);
}

/* The next `count * size` bytes of the arena, 64-byte aligned; before the
 * arena exists, only counts them (and returns a non-NULL dummy). */
static void *FN(carve)(FN(work) *w, size_t count, size_t size)
{
    static char dummy;
    const size_t at = w->bytes;
    w->bytes += ((count ? count : 1) * size + 63) / 64 * 64;
    return w->arena ? w->arena + at : &dummy;
}

/* Points every array of w into the arena (or only sizes it; without
 * the slots' layer arrays, only sizes it). */
static void FN(layout)(FN(work) *w, size_t n_params, size_t n_modes)
{
    const size_t H = w->H, Hp = w->Hp, T = w->T, L = w->L, C = w->C, G = w->G, tile = T * Hp;
    w->bytes = 0;
    w->p = FN(carve)(w, n_params, sizeof(REAL));
    w->wt = FN(carve)(w, L * 2 * H * H, sizeof(REAL));
    w->kf = FN(carve)(w, L * G * w->spec_len, sizeof(REAL));
    for (size_t s = 0; s < SSM_DEEP_SLOTS; ++s) {
        FN(slot) *sl = &w->slot[s];
        for (size_t l = 0; l < L; ++l) {
            FN(layer) uncounted;
            FN(layer) *ly = sl->layer ? &sl->layer[l] : &uncounted;
            ly->x = FN(carve)(w, tile, sizeof(REAL));
            ly->xf = FN(carve)(w, G * w->spec_len, sizeof(REAL));
            ly->dgelu = FN(carve)(w, tile, sizeof(REAL));
            ly->g = FN(carve)(w, tile, sizeof(REAL));
            ly->z = FN(carve)(w, 2 * T * H, sizeof(REAL));
            ly->xhat = FN(carve)(w, tile, sizeof(REAL));
            ly->rstd = FN(carve)(w, T, sizeof(REAL));
            ly->mask1 = w->dropout ? FN(carve)(w, tile, sizeof(REAL)) : NULL;
            ly->mask2 = w->dropout ? FN(carve)(w, tile, sizeof(REAL)) : NULL;
        }
        sl->x_out = FN(carve)(w, tile, sizeof(REAL));
        sl->u = FN(carve)(w, T, sizeof(REAL));
        sl->fbuf = FN(carve)(w, w->fbuf_rows * LANES, sizeof(REAL));
        sl->d_out = FN(carve)(w, tile, sizeof(REAL));
        sl->d_in = FN(carve)(w, tile, sizeof(REAL));
        sl->dz = FN(carve)(w, 2 * T * H, sizeof(REAL));
        sl->dg = FN(carve)(w, tile, sizeof(REAL));
        sl->pool = FN(carve)(w, H, sizeof(double));
        sl->dp = FN(carve)(w, n_params, sizeof(REAL));
        sl->dkf = FN(carve)(w, L * G * w->spec_len, sizeof(REAL));
        sl->ddec = FN(carve)(w, C * (H + 1), sizeof(double));
        sl->dsum_h = FN(carve)(w, Hp, sizeof(double));
        sl->row = FN(carve)(w, Hp, sizeof(REAL));
        sl->state = FN(carve)(w, n_modes, sizeof(double complex));
    }
}

/* The shape of a workspace for transforms of length n (no arena yet). */
static void FN(shape)(FN(work) *w, const ssm_deep_config *cfg, size_t T, size_t n)
{
    w->H = cfg->d_model;
    w->Hp = (w->H + LANES - 1) / LANES * LANES;
    w->G = w->Hp / LANES;
    w->T = T;
    w->n = n;
    w->nf = n / 2 + 1;
    w->L = cfg->n_layers;
    w->C = cfg->n_classes;
    w->spec_len = w->nf * 2 * LANES;
    w->fbuf_rows = ssm_rfft_buffer_rows_for(n);
    w->dropout = cfg->dropout > 0;
}

/* The arena's size for a model of these counts, without allocating it. */
static size_t FN(work_size)(const ssm_deep_config *cfg, size_t T, size_t n, size_t n_params, size_t n_modes)
{
    FN(work) w;
    memset(&w, 0, sizeof w);
    FN(shape)(&w, cfg, T, n);
    FN(layout)(&w, n_params, n_modes);
    return w.bytes;
}

static FN(work) *FN(work_new)(const ssm_deep *m, size_t T, const ssm_rfft *fft)
{
    FN(work) *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    FN(shape)(w, &m->cfg, T, ssm_rfft_length(fft));
    w->fft = fft;
    const size_t L = m->cfg.n_layers;
    int ok = 1;
    for (size_t s = 0; s < SSM_DEEP_SLOTS; ++s)
        ok = ok && (w->slot[s].layer = calloc(L, sizeof *w->slot[s].layer)) != NULL;
    if (ok) {
        FN(layout)(w, m->n_params, m->n_modes);
        ok = (w->arena = ssm_alloc_big(w->bytes)) != NULL;
    }
    if (!ok) {
        FN(work_free)(w);
        return NULL;
    }
    /* the padding of every [T][Hp] array must read as zero; touching the
     * arena once here also keeps page faults out of the first steps */
    memset(w->arena, 0, w->bytes);
    FN(layout)(w, m->n_params, m->n_modes);
    return w;
}

/* Casts the parameters to REAL and the kernel spectra (double, [L][H][nf]
 * complex, already divided by n) to the lane layout. */
DEEP_HOT static void FN(load)(FN(work) *w, const ssm_deep *m, const double complex *kspec)
{
    for (size_t i = 0; i < m->n_params; ++i)
        w->p[i] = (REAL)m->theta[i];
    const size_t H = w->H, nf = w->nf;
    for (size_t l = 0; l < w->L; ++l) {
        const REAL *W = w->p + m->layer_off[l * SSM_DEEP_LAYER_BLOCKS + SSM_DEEP_MIX_W];
        REAL *wt = w->wt + l * 2 * H * H;
        for (size_t o = 0; o < 2 * H; ++o)
            for (size_t h = 0; h < H; ++h)
                wt[h * 2 * H + o] = W[o * H + h];
    }
    for (size_t l = 0; l < w->L; ++l)
        for (size_t h = 0; h < H; ++h) {
            REAL *blk = w->kf + (l * w->G + h / LANES) * w->spec_len + h % LANES;
            const double complex *ks = kspec + (l * H + h) * nf;
            for (size_t f = 0; f < nf; ++f) {
                blk[2 * f * LANES] = (REAL)creal(ks[f]);
                blk[(2 * f + 1) * LANES] = (REAL)cimag(ks[f]);
            }
        }
}

/* GELU(y) = y Phi(y), and in *deriv its derivative Phi(y) + y phi(y), with
 * phi(y) = exp(-(y/sqrt 2)^2) / sqrt(2 pi) from the erf's exponential: the
 * forward pass keeps the derivative, so the backward pass evaluates no erf.
 * Float32 vectorizes cleanly through these; float64 uses libm. */
static inline REAL FN(gelu)(REAL y, REAL *deriv)
{
    REAL gauss;
    const REAL erf = REAL_ERF_GAUSS(y * (REAL)M_SQRT1_2, &gauss);
    *deriv = REAL_FMA(y * (REAL)(0.5 * M_2_SQRTPI * M_SQRT1_2), gauss, (REAL)0.5 * ((REAL)1 + erf));
    return (REAL)0.5 * y * ((REAL)1 + erf);
}

static inline REAL FN(sigmoid)(REAL v)
{
    return (REAL)1 / ((REAL)1 + REAL_EXP(-v));
}

/* Dropout scales of one sequence for one layer and site (1 or 2): 0 with
 * probability p, else 1/(1-p); a pure function of (seed, step, layer,
 * site, sequence). */
static void FN(dropout_mask)(const FN(work) *w, REAL *mask, double p, const ssm_deep_pass *pass, size_t layer,
                             int site, size_t seq)
{
    ssm_rng rng;
    ssm_rng_init(&rng, pass->dropout_seed, pass->dropout_step,
                 STREAM_DROPOUT + 2 * (uint64_t)layer + (uint64_t)(site - 1) + ((uint64_t)seq << 32));
    const REAL keep = (REAL)(1 / (1 - p));
    for (size_t t = 0; t < w->T; ++t)
        for (size_t h = 0; h < w->H; ++h)
            mask[t * w->Hp + h] = ssm_rng_uniform(&rng) < p ? (REAL)0 : keep;
}

/* The S4D convolution of layer l for channel group q of one sequence:
 * y = K * x + D x by FFT (keeping x's spectrum), then g = GELU(y) mask1. */
DEEP_HOT static void FN(conv_forward)(const FN(work) *w, FN(slot) *sl, size_t l, size_t q, const REAL *D)
{
    const size_t T = w->T, Hp = w->Hp, h0 = q * LANES;
    const FN(layer) *ly = &sl->layer[l];
    REAL *restrict buf = sl->fbuf, *restrict xf = ly->xf + q * w->spec_len;
    const REAL *restrict kf = w->kf + (l * w->G + q) * w->spec_len;
    for (size_t t = 0; t < T; ++t)
        IVDEP
        for (size_t j = 0; j < LANES; ++j)
            buf[t * LANES + j] = ly->x[t * Hp + h0 + j];
    const REAL *restrict r = RFFT(convolve)(w->fft, buf, T, kf, xf, T);
    const size_t lanes = w->H - h0 < LANES ? w->H - h0 : LANES;
    const REAL *restrict x = ly->x + h0, *restrict mask = MASK1(sl, ly) ? MASK1(sl, ly) + h0 : NULL;
    REAL *restrict dgelu = ly->dgelu + h0, *restrict g = ly->g + h0;
    /* separate loops with and without the mask: a NULL pointer under a
     * condition becomes masked loads that fault-suppress on every
     * iteration (a microcode assist) */
#define OUTPUT_LOOP(N, GELU_TIMES_MASK)                                                                      \
    for (size_t t = 0; t < T; ++t)                                                                          \
        IVDEP                                                                                               \
        for (size_t j = 0; j < (N); ++j) {                                                                  \
            const REAL v = REAL_FMA(D[h0 + j], x[t * Hp + j], r[t * LANES + j]);                            \
            REAL deriv;                                                                                     \
            const REAL gelu = FN(gelu)(v, &deriv);                                                          \
            dgelu[t * Hp + j] = deriv;                                                                      \
            g[t * Hp + j] = GELU_TIMES_MASK;                                                                \
        }
    if (mask && lanes == LANES)
        OUTPUT_LOOP(LANES, gelu * mask[t * Hp + j])
    else if (mask)
        OUTPUT_LOOP(lanes, gelu * mask[t * Hp + j])
    else if (lanes == LANES)
        OUTPUT_LOOP(LANES, gelu)
    else
        OUTPUT_LOOP(lanes, gelu)
#undef OUTPUT_LOOP
}

/* The same map by stepping the diagonal recurrence s_t = lambda s_{t-1} + x_t,
 * y_t = Re sum_k coef_k s_t,k + D x_t (coef = w C Bbar from deep.c); a check
 * of the convolution, forward only. */
static void FN(conv_recurrent)(const FN(work) *w, FN(slot) *sl, size_t l, const REAL *D, const double complex *lambda,
                               const double complex *coef, size_t M)
{
    const size_t T = w->T, Hp = w->Hp;
    const FN(layer) *ly = &sl->layer[l];
    double complex *s = sl->state;
    for (size_t h = 0; h < w->H; ++h) {
        const double complex *lam = lambda + h * M, *c = coef + h * M;
        memset(s, 0, M * sizeof *s);
        for (size_t t = 0; t < T; ++t) {
            const double xt = (double)ly->x[t * Hp + h];
            double acc = 0;
            for (size_t k = 0; k < M; ++k) {
                s[k] = lam[k] * s[k] + xt;
                acc += creal(c[k] * s[k]);
            }
            const REAL v = (REAL)(acc + (double)D[h] * xt);
            ly->g[t * Hp + h] = FN(gelu)(v, &ly->dgelu[t * Hp + h]);
        }
    }
}

typedef REAL FN(v8) __attribute__((vector_size(8 * sizeof(REAL))));
typedef REAL FN(v4) __attribute__((vector_size(4 * sizeof(REAL))));
typedef REAL FN(v2) __attribute__((vector_size(2 * sizeof(REAL))));

/* Sums over a row of H values in LANES partial sums (so they vectorize
 * without reassociating), added pairwise at the end: the same order on
 * every machine. */

static inline REAL FN(reduce)(const REAL *acc)
{
    /* acc[j] += acc[j + half] for half = LANES/2, ..., 1, as vectors: a
     * whole-vector load and shuffles in registers (element by element,
     * GCC loaded halves of a vector it had just stored, which the store
     * cannot forward: a few percent of the step) */
#if LANES == 16
    typedef REAL v16 __attribute__((vector_size(16 * sizeof(REAL))));
    v16 a16;
    memcpy(&a16, acc, sizeof a16);
    const FN(v8) a8 = __builtin_shufflevector(a16, a16, 0, 1, 2, 3, 4, 5, 6, 7) +
                      __builtin_shufflevector(a16, a16, 8, 9, 10, 11, 12, 13, 14, 15);
#elif LANES == 8
    FN(v8) a8;
    memcpy(&a8, acc, sizeof a8);
#else
#error "reduce: LANES must be 8 or 16"
#endif
    const FN(v4) a4 = __builtin_shufflevector(a8, a8, 0, 1, 2, 3) + __builtin_shufflevector(a8, a8, 4, 5, 6, 7);
    const FN(v2) a2 = __builtin_shufflevector(a4, a4, 0, 1) + __builtin_shufflevector(a4, a4, 2, 3);
    return a2[0] + a2[1];
}

static inline REAL FN(row_sum)(const REAL *restrict v, size_t H)
{
    REAL acc[LANES] = {0};
    size_t h = 0;
    for (; h + LANES <= H; h += LANES)
        IVDEP
        for (size_t j = 0; j < LANES; ++j)
            acc[j] += v[h + j];
    for (size_t j = 0; h + j < H; ++j)
        acc[j] += v[h + j];
    return FN(reduce)(acc);
}

static inline REAL FN(row_dot)(const REAL *restrict a, const REAL *restrict b, size_t H)
{
    REAL acc[LANES] = {0};
    size_t h = 0;
    for (; h + LANES <= H; h += LANES)
        IVDEP
        for (size_t j = 0; j < LANES; ++j)
            acc[j] = REAL_FMA(a[h + j], b[h + j], acc[j]);
    for (size_t j = 0; h + j < H; ++j)
        acc[j] = REAL_FMA(a[h + j], b[h + j], acc[j]);
    return FN(reduce)(acc);
}

/* Pointwise layer, GLU, dropout, residual and LayerNorm of layer l:
 * writes the layer's output to out [T][Hp]. */
DEEP_HOT static void FN(pointwise_forward)(const FN(work) *w, const ssm_deep *m, FN(slot) *sl, size_t l, REAL *out)
{
    const size_t H = w->H, Hp = w->Hp, T = w->T;
    const FN(layer) *ly = &sl->layer[l];
    const size_t *off = m->layer_off + l * SSM_DEEP_LAYER_BLOCKS;
    const REAL *bias = w->p + off[SSM_DEEP_MIX_B];
    const REAL *restrict gam = w->p + off[SSM_DEEP_NORM_G], *restrict bet = w->p + off[SSM_DEEP_NORM_B];
    GEMM(T, 2 * H, H, ly->g, Hp, 1, w->wt + l * 2 * H * H, 2 * H, ly->z, 2 * H, 0);   /* z = g W^T */
    const REAL inv_h = (REAL)1 / (REAL)H;
    /* Blocks of rows, each pass over a block before the next: a row's
     * LayerNorm is a chain of dependent reductions, and with the GLU's
     * exponentials of the same row ahead of it the out-of-order window
     * held about one row; as separate passes the rows of a block overlap.
     * Every row sees the same operations in the same order as row by row. */
    for (size_t t0 = 0; t0 < T; t0 += DEEP_ROW_BLOCK) {
        const size_t t1 = t0 + DEEP_ROW_BLOCK < T ? t0 + DEEP_ROW_BLOCK : T;
        REAL var[DEEP_ROW_BLOCK];
        for (size_t t = t0; t < t1; ++t) {
            REAL *restrict za = ly->z + t * 2 * H, *restrict zb = za + H, *restrict xh = ly->xhat + t * Hp;
            const REAL *restrict x = ly->x + t * Hp, *restrict mask = MASK2(sl, ly) ? MASK2(sl, ly) + t * Hp : NULL;
            /* GLU and the residual sum into xhat, the gate kept for the backward pass */
            IVDEP
            for (size_t h = 0; h < H; ++h) {
                const REAL a = za[h] + bias[h], s = FN(sigmoid)(zb[h] + bias[H + h]);
                za[h] = a;
                zb[h] = s;
            }
            if (mask)
                IVDEP
                for (size_t h = 0; h < H; ++h)
                    xh[h] = REAL_FMA(za[h] * zb[h], mask[h], x[h]);
            else
                IVDEP
                for (size_t h = 0; h < H; ++h)
                    xh[h] = REAL_FMA(za[h], zb[h], x[h]);
        }
        for (size_t t = t0; t < t1; ++t) {
            REAL *restrict xh = ly->xhat + t * Hp;
            const REAL mean = FN(row_sum)(xh, H) * inv_h;
            IVDEP
            for (size_t h = 0; h < H; ++h)
                xh[h] -= mean;
            var[t - t0] = FN(row_dot)(xh, xh, H) * inv_h;
        }
        for (size_t t = t0; t < t1; ++t)
            ly->rstd[t] = (REAL)1 / REAL_SQRT(var[t - t0] + (REAL)SSM_DEEP_LN_EPS);
        for (size_t t = t0; t < t1; ++t) {
            REAL *restrict xh = ly->xhat + t * Hp, *restrict o = out + t * Hp;
            const REAL rstd = ly->rstd[t];
            IVDEP
            for (size_t h = 0; h < H; ++h) {
                const REAL v = xh[h] * rstd;
                xh[h] = v;
                o[h] = REAL_FMA(v, gam[h], bet[h]);
            }
        }
    }
}

/* Forward pass of one sequence u[0..T) through every layer into slot sl;
 * logits [C] in double.  lambda/coef: recurrent mode only. */
DEEP_HOT static void FN(forward)(FN(work) *w, const ssm_deep *m, FN(slot) *sl, const float *u, size_t seq,
                        const ssm_deep_pass *pass, int train, const double complex *lambda, const double complex *coef,
                        double *logits)
{
    const size_t H = w->H, Hp = w->Hp, T = w->T, L = w->L, M = m->n_modes;
    const REAL *enc_w = w->p + m->outer_off[SSM_DEEP_ENC_W], *enc_b = w->p + m->outer_off[SSM_DEEP_ENC_B];
    for (size_t t = 0; t < T; ++t)
        sl->u[t] = (REAL)u[t];
    REAL *x0 = sl->layer[0].x;
    for (size_t t = 0; t < T; ++t)
        IVDEP
        for (size_t h = 0; h < H; ++h)
            x0[t * Hp + h] = REAL_FMA(enc_w[h], sl->u[t], enc_b[h]);
    sl->drop = train && w->dropout;
    for (size_t l = 0; l < L; ++l) {
        FN(layer) *ly = &sl->layer[l];
        const REAL *D = w->p + m->layer_off[l * SSM_DEEP_LAYER_BLOCKS + SSM_DEEP_D];
        if (sl->drop) {
            FN(dropout_mask)(w, ly->mask1, m->cfg.dropout, pass, l, 1, seq);
            FN(dropout_mask)(w, ly->mask2, m->cfg.dropout, pass, l, 2, seq);
        }
        if (pass->recurrent)
            FN(conv_recurrent)(w, sl, l, D, lambda + l * H * M, coef + l * H * M, M);
        else
            for (size_t q = 0; q < w->G; ++q)
                FN(conv_forward)(w, sl, l, q, D);
        FN(pointwise_forward)(w, m, sl, l, l + 1 < L ? sl->layer[l + 1].x : sl->x_out);
    }
    /* mean pooling over time (in double) and the decoder */
    const REAL *dec_w = w->p + m->outer_off[SSM_DEEP_DEC_W], *dec_b = w->p + m->outer_off[SSM_DEEP_DEC_B];
    IVDEP
    for (size_t h = 0; h < H; ++h)
        sl->pool[h] = 0;
    for (size_t t = 0; t < T; ++t)
        IVDEP
        for (size_t h = 0; h < H; ++h)
            sl->pool[h] += (double)sl->x_out[t * Hp + h];
    IVDEP
    for (size_t h = 0; h < H; ++h)
        sl->pool[h] /= (double)T;
    for (size_t c = 0; c < w->C; ++c) {
        double s = (double)dec_b[c];
        IVDEP
        for (size_t h = 0; h < H; ++h)
            s += (double)dec_w[c * H + h] * sl->pool[h];
        logits[c] = s;
    }
}

/* LayerNorm, residual, dropout and GLU backward of layer l, one row at a
 * time: reads d_out, writes d_in (the residual path) and dz, adds to the
 * gain, bias and pointwise-bias gradients. */
DEEP_HOT static void FN(pointwise_backward)(const FN(work) *w, const ssm_deep *m, FN(slot) *sl, size_t l)
{
    const size_t H = w->H, Hp = w->Hp, T = w->T;
    const FN(layer) *ly = &sl->layer[l];
    const size_t *off = m->layer_off + l * SSM_DEEP_LAYER_BLOCKS;
    const REAL *restrict gam = w->p + off[SSM_DEEP_NORM_G];
    REAL *restrict dgam = sl->dp + off[SSM_DEEP_NORM_G], *restrict dbet = sl->dp + off[SSM_DEEP_NORM_B];
    REAL *restrict db = sl->dp + off[SSM_DEEP_MIX_B];
    const REAL inv_h = (REAL)1 / (REAL)H;
    for (size_t t = 0; t < T; ++t) {
        const REAL *restrict dout = sl->d_out + t * Hp, *restrict xh = ly->xhat + t * Hp;
        const REAL *restrict za = ly->z + t * 2 * H, *restrict s = za + H;
        const REAL *restrict mask = MASK2(sl, ly) ? MASK2(sl, ly) + t * Hp : NULL;
        REAL *restrict din = sl->d_in + t * Hp, *restrict dza = sl->dz + t * 2 * H, *restrict dzb = dza + H;
        /* dR = rstd (dxh - mean_h dxh - xhat mean_h(dxh xhat)), dxh = dout gamma */
        REAL *restrict dxh = sl->row;
        IVDEP
        for (size_t h = 0; h < H; ++h) {
            dxh[h] = dout[h] * gam[h];
            dgam[h] = REAL_FMA(dout[h], xh[h], dgam[h]);
            dbet[h] += dout[h];
        }
        const REAL m1 = FN(row_sum)(dxh, H) * inv_h, m2 = FN(row_dot)(dxh, xh, H) * inv_h;
        const REAL rstd = ly->rstd[t];
        IVDEP
        for (size_t h = 0; h < H; ++h)
            din[h] = rstd * REAL_FMA(-xh[h], m2, dxh[h] - m1);
        /* GLU (and the second dropout): o = z_a sigma(z_b) */
        const REAL *restrict d_o = din;
        if (mask) {
            IVDEP
            for (size_t h = 0; h < H; ++h)
                dxh[h] = din[h] * mask[h];
            d_o = dxh;
        }
        IVDEP
        for (size_t h = 0; h < H; ++h) {
            const REAL d = d_o[h];
            const REAL a = d * s[h], b = d * za[h] * s[h] * ((REAL)1 - s[h]);
            dza[h] = a;
            dzb[h] = b;
            db[h] += a;
            db[H + h] += b;
        }
    }
}

/* The convolution's backward for channel group q: dy = dg mask1 GELU'(y)
 * (kept in dg), dD += sum_t dy x, the kernel gradient's spectrum
 * += DY conj(X), and d_in += K (*) dy + D dy (correlation). */
DEEP_HOT static void FN(conv_backward)(const FN(work) *w, FN(slot) *sl, size_t l, size_t q, const REAL *D, REAL *dD)
{
    const size_t T = w->T, Hp = w->Hp, h0 = q * LANES;
    const size_t lanes = w->H - h0 < LANES ? w->H - h0 : LANES;
    const FN(layer) *ly = &sl->layer[l];
    REAL *restrict buf = sl->fbuf, *restrict dg = sl->dg + h0;
    const REAL *restrict dgelu = ly->dgelu + h0, *restrict x = ly->x + h0;
    const REAL *restrict mask = MASK1(sl, ly) ? MASK1(sl, ly) + h0 : NULL;
    REAL dsum[LANES] = {0};
    if (mask)
        for (size_t t = 0; t < T; ++t)
            IVDEP
            for (size_t j = 0; j < lanes; ++j)
                dg[t * Hp + j] *= mask[t * Hp + j];
#define INPUT_LOOP(N)                                                                                        \
    for (size_t t = 0; t < T; ++t) {                                                                        \
        IVDEP                                                                                               \
        for (size_t j = 0; j < (N); ++j) {                                                                  \
            const REAL dy = dg[t * Hp + j] * dgelu[t * Hp + j];                                             \
            dg[t * Hp + j] = dy;                                                                            \
            buf[t * LANES + j] = dy;                                                                        \
            dsum[j] = REAL_FMA(dy, x[t * Hp + j], dsum[j]);                                                 \
        }                                                                                                   \
        for (size_t j = (N); j < LANES; ++j)                                                                \
            buf[t * LANES + j] = 0;                                                                         \
    }
    if (lanes == LANES)
        INPUT_LOOP(LANES)
    else
        INPUT_LOOP(lanes)
#undef INPUT_LOOP
    IVDEP
    for (size_t j = 0; j < lanes; ++j)
        dD[h0 + j] += dsum[j];
    /* dkf += DY conj(xf), and the inverse transform of DY conj(kf) */
    const REAL *restrict xf = ly->xf + q * w->spec_len, *restrict kf = w->kf + (l * w->G + q) * w->spec_len;
    REAL *restrict dkf = sl->dkf + (l * w->G + q) * w->spec_len;
    const REAL *restrict r = RFFT(correlate)(w->fft, buf, T, kf, xf, dkf, T);
    REAL *restrict din = sl->d_in + h0;
#define RESULT_LOOP(N)                                                                                       \
    for (size_t t = 0; t < T; ++t)                                                                          \
        IVDEP                                                                                               \
        for (size_t j = 0; j < (N); ++j)                                                                    \
            din[t * Hp + j] += REAL_FMA(D[h0 + j], dg[t * Hp + j], r[t * LANES + j]);
    if (lanes == LANES)
        RESULT_LOOP(LANES)
    else
        RESULT_LOOP(lanes)
#undef RESULT_LOOP
}

/* Backward pass of the sequence whose forward pass slot sl holds, from
 * dlogits [C]; adds to the slot's gradient sums. */
DEEP_HOT static void FN(backward)(FN(work) *w, const ssm_deep *m, FN(slot) *sl, const double *dlogits)
{
    const size_t H = w->H, Hp = w->Hp, T = w->T, L = w->L, C = w->C;
    const REAL *dec_w = w->p + m->outer_off[SSM_DEEP_DEC_W];
    for (size_t c = 0; c < C; ++c) {
        IVDEP
        for (size_t h = 0; h < H; ++h)
            sl->ddec[c * (H + 1) + h] += dlogits[c] * sl->pool[h];
        sl->ddec[c * (H + 1) + H] += dlogits[c];
    }
    IVDEP
    for (size_t h = 0; h < H; ++h) {
        double s = 0;
        for (size_t c = 0; c < C; ++c)
            s += dlogits[c] * (double)dec_w[c * H + h];
        sl->dsum_h[h] = s / (double)T;
    }
    for (size_t t = 0; t < T; ++t)
        IVDEP
        for (size_t h = 0; h < H; ++h)
            sl->d_out[t * Hp + h] = (REAL)sl->dsum_h[h];
    for (size_t l = L; l-- > 0;) {
        const FN(layer) *ly = &sl->layer[l];
        const size_t *off = m->layer_off + l * SSM_DEEP_LAYER_BLOCKS;
        const REAL *W = w->p + off[SSM_DEEP_MIX_W], *D = w->p + off[SSM_DEEP_D];
        FN(pointwise_backward)(w, m, sl, l);
        /* pointwise layer: dW += dz^T g, dg = dz W */
        GEMM(2 * H, H, T, sl->dz, 1, 2 * H, ly->g, Hp, sl->dp + off[SSM_DEEP_MIX_W], H, 1);
        GEMM(T, H, 2 * H, sl->dz, 2 * H, 1, W, H, sl->dg, Hp, 0);
        for (size_t q = 0; q < w->G; ++q)
            FN(conv_backward)(w, sl, l, q, D, sl->dp + off[SSM_DEEP_D]);
        REAL *tmp = sl->d_out;
        sl->d_out = sl->d_in;
        sl->d_in = tmp;
    }
    /* encoder: x0 = enc_w u + enc_b */
    REAL *d_enc_w = sl->dp + m->outer_off[SSM_DEEP_ENC_W], *d_enc_b = sl->dp + m->outer_off[SSM_DEEP_ENC_B];
    for (size_t t = 0; t < T; ++t)
        IVDEP
        for (size_t h = 0; h < H; ++h) {
            d_enc_w[h] = REAL_FMA(sl->d_out[t * Hp + h], sl->u[t], d_enc_w[h]);
            d_enc_b[h] += sl->d_out[t * Hp + h];
        }
}

/* Zeroes a slot's gradient sums. */
static void FN(slot_clear)(const FN(work) *w, const ssm_deep *m, FN(slot) *sl)
{
    memset(sl->dp, 0, m->n_params * sizeof *sl->dp);
    memset(sl->dkf, 0, w->L * w->G * w->spec_len * sizeof *sl->dkf);
    memset(sl->ddec, 0, w->C * (w->H + 1) * sizeof *sl->ddec);
}

/* The slots' gradient sums in slot order: grad (n_params, double) gets
 * every activation-side entry, dkspec [L][H][nf] the kernel spectra's. */
DEEP_HOT static void FN(gradients)(const FN(work) *w, const ssm_deep *m, size_t n_slots, double *grad, double complex *dkspec)
{
    const size_t H = w->H, C = w->C, nf = w->nf;
    for (size_t i = 0; i < m->n_params; ++i) {
        double s = 0;
        for (size_t k = 0; k < n_slots; ++k)
            s += (double)w->slot[k].dp[i];
        grad[i] = s;
    }
    double *dec_w = grad + m->outer_off[SSM_DEEP_DEC_W], *dec_b = grad + m->outer_off[SSM_DEEP_DEC_B];
    for (size_t c = 0; c < C; ++c)
        for (size_t h = 0; h <= H; ++h) {
            double s = 0;
            for (size_t k = 0; k < n_slots; ++k)
                s += w->slot[k].ddec[c * (H + 1) + h];
            if (h < H)
                dec_w[c * H + h] = s;
            else
                dec_b[c] = s;
        }
    for (size_t l = 0; l < w->L; ++l)
        for (size_t q = 0; q < w->G; ++q) {
            const size_t blk = (l * w->G + q) * w->spec_len, lanes = H - q * LANES < LANES ? H - q * LANES : LANES;
            for (size_t f = 0; f < nf; ++f)
                for (size_t j = 0; j < lanes; ++j) {
                    double re = 0, im = 0;
                    for (size_t k = 0; k < n_slots; ++k) {
                        re += (double)w->slot[k].dkf[blk + 2 * f * LANES + j];
                        im += (double)w->slot[k].dkf[blk + (2 * f + 1) * LANES + j];
                    }
                    dkspec[(l * H + q * LANES + j) * nf + f] = CMPLX(re, im);
                }
        }
}

#undef MASK1
#undef MASK2
#undef IVDEP
#undef DEEP_ROW_BLOCK
#undef RFFT
#undef FN
#undef CAT3
#undef CAT3_
#undef REAL
#undef SUF
#undef LANES
#undef GEMM
#undef REAL_SQRT
#undef REAL_EXP
#undef REAL_FMA
#undef REAL_ERF_GAUSS

/* The activation-side forward and backward passes of deep.c, written once
 * for a real type and instantiated twice (float and double), the way GSL
 * builds its typed variants from one source.  Before including, define
 *   REAL   float or double
 *   SUF    f32 or f64           (suffix of every name defined here)
 *   FFTW_  fftwf_ or fftw_       (FFTW's prefix for that precision)
 *   GEMM, GEMV, DOT          cblas_s... or cblas_d...
 *   REAL_EXP, REAL_ERF      exp and erf for REAL
 *   REAL_ERF_GAUSS          erf(x), setting *gauss = exp(-x^2)
 *   REAL_FN_SUFFIX          f or nothing (sqrtf, sqrt)
 * and the file undefines them, and its helper macros, at the end.  Everything that
 * needs float64 whatever the activations (kernels and their gradients,
 * the loss) lives in deep.c. */

#define CAT2_(a, b) a##b
#define CAT2(a, b) CAT2_(a, b)
#define CAT3_(a, b, c) a##b##_##c
#define CAT3(a, b, c) CAT3_(a, b, c)
#define FN(name) CAT3(deep_, name, SUF)
#define FFTW(name) CAT2(FFTW_, name)
#define CPX REAL complex

typedef struct {
    REAL *x;            /* input of the layer [B, H, T] */
    CPX *xf;            /* its spectra [B, H, nfp], for the kernel gradient */
    REAL *y;            /* S4D output before GELU [B, H, T] */
    REAL *g;            /* after GELU and dropout [B, H, T] */
    REAL *z;            /* pointwise layer output before GLU [B, 2H, T]; the
                         * second half holds sigmoid(z_b) after the forward pass */
    REAL *xhat;         /* normalized residual sum [B, H, T] */
    REAL *rstd;         /* 1 / sqrt(var + eps) [B, T] */
    REAL *mask1, *mask2;/* dropout scales (0 or 1/(1-p)) [B, H, T], or NULL */
    REAL *kf;           /* kernel spectra / n [H, nfp] complex, as REAL pairs */
    REAL *dkf;          /* kernel gradient spectra [H, nfp] complex */
} FN(layer);

typedef struct {
    size_t H, T, n, nfp, B, L, C;
    FN(layer) *layer;   /* L */
    REAL *x_out;        /* output of the last layer [B, H, T] */
    REAL *p;            /* parameters of the current pass, cast to REAL (see deep_cast) */
    REAL *dp;           /* their gradients */
    REAL *rbuf;         /* FFT scratch: n reals */
    CPX *cbuf;          /* FFT scratch: nfp complex */
    REAL *d_out, *d_in; /* gradient w.r.t. a layer's output and input [B, H, T] */
    REAL *dz, *dg;      /* per-sequence scratch [2H, T], [H, T] */
    REAL *mean;         /* per-time scratch [T] */
    REAL *sums;         /* [B, H] time sums */
    REAL *xr;           /* the input sequences as REAL [B, T] */
    REAL *ones;         /* [H, T] of 1: the dropout mask of a pass without dropout */
    double *pool;       /* [B, H] */
    double complex *state; /* recurrent mode: one channel's modes */
    FFTW(plan) r2c, c2r;
    size_t bytes;
} FN(work);

static void FN(work_free)(FN(work) *w)
{
    if (!w)
        return;
    for (size_t l = 0; w->layer && l < w->L; ++l) {
        FN(layer) *ly = &w->layer[l];
        FFTW(free)(ly->x);
        FFTW(free)(ly->xf);
        FFTW(free)(ly->y);
        FFTW(free)(ly->g);
        FFTW(free)(ly->z);
        FFTW(free)(ly->xhat);
        FFTW(free)(ly->rstd);
        FFTW(free)(ly->mask1);
        FFTW(free)(ly->mask2);
        FFTW(free)(ly->kf);
        FFTW(free)(ly->dkf);
    }
    free(w->layer);
    FFTW(free)(w->x_out);
    free(w->p);
    free(w->dp);
    FFTW(free)(w->rbuf);
    FFTW(free)(w->cbuf);
    FFTW(free)(w->d_out);
    FFTW(free)(w->d_in);
    FFTW(free)(w->dz);
    FFTW(free)(w->dg);
    FFTW(free)(w->mean);
    FFTW(free)(w->ones);
    FFTW(free)(w->xr);
    FFTW(free)(w->sums);
    free(w->pool);
    free(w->state);
    if (w->r2c)
        FFTW(destroy_plan)(w->r2c);
    if (w->c2r)
        FFTW(destroy_plan)(w->c2r);
    free(w);
}

/* FFTW-aligned array of count elements of `size` bytes, counted in w->bytes. */
static void *FN(alloc)(FN(work) *w, size_t count, size_t size)
{
    w->bytes += count * size;
    return FFTW(malloc)(count * size);
}

static FN(work) *FN(work_new)(const ssm_deep *m, size_t T, size_t B)
{
    FN(work) *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    const size_t H = m->cfg.d_model, L = m->cfg.n_layers, n = deep_fft_length(T);
    w->H = H;
    w->T = T;
    w->n = n;
    /* spectra padded to a multiple of 4 so that every sequence's spectrum
     * keeps the alignment FFTW planned with (new-array execute) */
    w->nfp = (n / 2 + 1 + 3) / 4 * 4;
    w->B = B;
    w->L = L;
    w->C = m->cfg.n_classes;
    const size_t bht = B * H * T, nfp = w->nfp;
    const int drop = m->cfg.dropout > 0;
    int ok = (w->layer = calloc(L, sizeof *w->layer)) != NULL;
    for (size_t l = 0; ok && l < L; ++l) {
        FN(layer) *ly = &w->layer[l];
        ly->x = FN(alloc)(w, bht, sizeof(REAL));
        ly->xf = FN(alloc)(w, B * H * nfp, sizeof(CPX));
        ly->y = FN(alloc)(w, bht, sizeof(REAL));
        ly->g = FN(alloc)(w, bht, sizeof(REAL));
        ly->z = FN(alloc)(w, 2 * bht, sizeof(REAL));
        ly->xhat = FN(alloc)(w, bht, sizeof(REAL));
        ly->rstd = FN(alloc)(w, B * T, sizeof(REAL));
        ly->kf = FN(alloc)(w, 2 * H * nfp, sizeof(REAL));
        ly->dkf = FN(alloc)(w, 2 * H * nfp, sizeof(REAL));
        ok = ly->x && ly->xf && ly->y && ly->g && ly->z && ly->xhat && ly->rstd && ly->kf && ly->dkf;
        if (ok && drop) {
            ly->mask1 = FN(alloc)(w, bht, sizeof(REAL));
            ly->mask2 = FN(alloc)(w, bht, sizeof(REAL));
            ok = ly->mask1 && ly->mask2;
        }
    }
    if (ok) {
        w->x_out = FN(alloc)(w, bht, sizeof(REAL));
        w->p = malloc(m->n_params * sizeof *w->p);
        w->dp = malloc(m->n_params * sizeof *w->dp);
        w->rbuf = FN(alloc)(w, n, sizeof(REAL));
        w->cbuf = FN(alloc)(w, nfp, sizeof(CPX));
        w->d_out = FN(alloc)(w, bht, sizeof(REAL));
        w->d_in = FN(alloc)(w, bht, sizeof(REAL));
        w->dz = FN(alloc)(w, 2 * H * T, sizeof(REAL));
        w->dg = FN(alloc)(w, H * T, sizeof(REAL));
        w->mean = FN(alloc)(w, T, sizeof(REAL));
        w->ones = FN(alloc)(w, H * T, sizeof(REAL));
        w->xr = FN(alloc)(w, B * T, sizeof(REAL));
        w->sums = FN(alloc)(w, B * H, sizeof(REAL));
        w->pool = malloc(B * H * sizeof *w->pool);
        w->state = malloc((m->n_modes ? m->n_modes : 1) * sizeof *w->state);
        ok = w->ones && w->xr && w->sums && w->state && w->x_out && w->p && w->dp && w->rbuf && w->cbuf && w->d_out && w->d_in && w->dz && w->dg && w->mean &&
             w->pool;
    }
    if (ok) {
        /* FFTW_ESTIMATE: measured plans may differ from run to run, and
         * with them the rounding; a sweep must be reproducible */
        w->r2c = FFTW(plan_dft_r2c_1d)((int)n, w->rbuf, w->cbuf, FFTW_ESTIMATE);
        w->c2r = FFTW(plan_dft_c2r_1d)((int)n, w->cbuf, w->rbuf, FFTW_ESTIMATE);
        ok = w->r2c && w->c2r;
    }
    if (!ok) {
        FN(work_free)(w);
        return NULL;
    }
    for (size_t i = 0; i < H * T; ++i)
        w->ones[i] = 1;
    return w;
}

/* Casts the parameters to REAL and the kernels (double, [H, T] per layer)
 * to their spectra, scaled by 1/n so that the inverse transform needs no
 * further scaling. */
static void FN(load)(FN(work) *w, const ssm_deep *m, const double *kernels)
{
    for (size_t i = 0; i < m->n_params; ++i)
        w->p[i] = (REAL)m->theta[i];
    const size_t H = w->H, T = w->T, n = w->n, nfp = w->nfp;
    for (size_t l = 0; l < w->L; ++l)
        for (size_t h = 0; h < H; ++h) {
            const double *k = kernels + (l * H + h) * T;
            for (size_t t = 0; t < T; ++t)
                w->rbuf[t] = (REAL)(k[t] / (double)n);
            memset(w->rbuf + T, 0, (n - T) * sizeof *w->rbuf);
            FFTW(execute_dft_r2c)(w->r2c, w->rbuf, (void *)(w->layer[l].kf + 2 * h * nfp));
        }
}

static inline REAL FN(gelu)(REAL y)
{
    return (REAL)0.5 * y * ((REAL)1 + REAL_ERF(y * (REAL)M_SQRT1_2));
}

/* Phi(y) + y phi(y), with phi(y) = exp(-(y/sqrt 2)^2) / sqrt(2 pi) from the erf */
static inline REAL FN(gelu_deriv)(REAL y)
{
    REAL gauss;
    const REAL cdf = (REAL)0.5 * ((REAL)1 + REAL_ERF_GAUSS(y * (REAL)M_SQRT1_2, &gauss));
    return cdf + y * (REAL)(0.5 * M_2_SQRTPI * M_SQRT1_2) * gauss;
}

static inline REAL FN(sigmoid)(REAL v)
{
    return (REAL)1 / ((REAL)1 + REAL_EXP(-v));
}

/* c = a b for n complex numbers stored as REAL pairs; written out because
 * C's complex product checks for NaN and calls __mulsc3, which keeps the
 * loop from vectorizing. */
static inline void FN(cmul)(REAL *restrict c, const REAL *restrict a, const REAL *restrict b, size_t n)
{
    for (size_t f = 0; f < n; ++f) {
        const REAL ar = a[2 * f], ai = a[2 * f + 1], br = b[2 * f], bi = b[2 * f + 1];
        c[2 * f] = ar * br - ai * bi;
        c[2 * f + 1] = ar * bi + ai * br;
    }
}

/* Dropout scales for one layer, site (1 or 2), a pure function of the
 * seed, the step and the position: 0 with probability p, else 1/(1-p). */
static void FN(dropout_mask)(REAL *mask, size_t count, double p, uint64_t seed, uint64_t step, size_t layer,
                             int site)
{
    ssm_rng rng;
    ssm_rng_init(&rng, seed, step, STREAM_DROPOUT + 2 * (uint64_t)layer + (uint64_t)(site - 1));
    const REAL keep = (REAL)(1 / (1 - p));
    for (size_t i = 0; i < count; ++i)
        mask[i] = ssm_rng_uniform(&rng) < p ? (REAL)0 : keep;
}

/* The S4D convolution of sequence b of layer l: y = K * x + D x, by FFT
 * (keeping x's spectrum for the backward pass). */
DEEP_HOT static void FN(conv_fft)(FN(work) *w, const FN(layer) *ly, const REAL *D, size_t b)
{
    const size_t H = w->H, T = w->T, n = w->n, nfp = w->nfp, nf = n / 2 + 1;
    for (size_t h = 0; h < H; ++h) {
        const REAL *x = ly->x + (b * H + h) * T;
        REAL *y = ly->y + (b * H + h) * T;
        CPX *xf = ly->xf + (b * H + h) * nfp;
        const CPX *kf = (const CPX *)(ly->kf + 2 * h * nfp);
        memcpy(w->rbuf, x, T * sizeof *x);
        memset(w->rbuf + T, 0, (n - T) * sizeof *w->rbuf);
        FFTW(execute_dft_r2c)(w->r2c, w->rbuf, (void *)xf);
        FN(cmul)((REAL *)w->cbuf, (const REAL *)xf, (const REAL *)kf, nf);
        FFTW(execute_dft_c2r)(w->c2r, (void *)w->cbuf, w->rbuf);
        for (size_t t = 0; t < T; ++t)
            y[t] = w->rbuf[t] + D[h] * x[t];
    }
}

/* The same map by stepping the diagonal recurrence s_t = lambda s_{t-1} + x_t,
 * y_t = Re sum_k coef_k s_t,k + D x_t (coef = w C Bbar from deep.c). */
static void FN(conv_recurrent)(FN(work) *w, const FN(layer) *ly, const REAL *D, size_t b,
                               const double complex *lambda, const double complex *coef, size_t M)
{
    const size_t H = w->H, T = w->T;
    double complex *s = w->state;
    for (size_t h = 0; h < H; ++h) {
        const REAL *x = ly->x + (b * H + h) * T;
        REAL *y = ly->y + (b * H + h) * T;
        const double complex *lam = lambda + h * M, *c = coef + h * M;
        memset(s, 0, M * sizeof *s);
        for (size_t t = 0; t < T; ++t) {
            double acc = 0;
            for (size_t k = 0; k < M; ++k) {
                s[k] = lam[k] * s[k] + (double)x[t];
                acc += creal(c[k] * s[k]);
            }
            y[t] = (REAL)(acc + (double)D[h] * (double)x[t]);
        }
    }
}

/* Everything of layer l after the convolution, for sequence b: GELU,
 * dropout, pointwise layer, GLU, dropout, residual, LayerNorm; writes
 * the layer's output to out [H, T]. */
DEEP_HOT static void FN(pointwise_forward)(FN(work) *w, const ssm_deep *m, size_t l, size_t b, int train, REAL *out)
{
    const size_t H = w->H, T = w->T, HT = H * T;
    FN(layer) *ly = &w->layer[l];
    const REAL *W = w->p + m->layer_off[l * SSM_DEEP_LAYER_BLOCKS + SSM_DEEP_MIX_W];
    const REAL *bias = w->p + m->layer_off[l * SSM_DEEP_LAYER_BLOCKS + SSM_DEEP_MIX_B];
    const REAL *gam = w->p + m->layer_off[l * SSM_DEEP_LAYER_BLOCKS + SSM_DEEP_NORM_G];
    const REAL *bet = w->p + m->layer_off[l * SSM_DEEP_LAYER_BLOCKS + SSM_DEEP_NORM_B];
    const int drop = train && ly->mask1;
    /* without dropout the masks are all ones: a product by 1 is exact and
     * keeps the loops free of branches (so they vectorize) */
    const REAL *restrict mask1 = drop ? ly->mask1 + b * HT : w->ones;
    const REAL *restrict mask2 = drop ? ly->mask2 + b * HT : w->ones;
    const REAL *restrict y = ly->y + b * HT, *restrict x = ly->x + b * HT;
    REAL *restrict g = ly->g + b * HT, *restrict z = ly->z + 2 * b * HT, *restrict xhat = ly->xhat + b * HT;
    REAL *restrict rstd = ly->rstd + b * T;
    for (size_t i = 0; i < HT; ++i)
        g[i] = FN(gelu)(y[i]) * mask1[i];
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(2 * H), (int)T, (int)H, 1, W, (int)H, g, (int)T, 0, z,
         (int)T);
    for (size_t h = 0; h < 2 * H; ++h)
        for (size_t t = 0; t < T; ++t)
            z[h * T + t] += bias[h];
    /* residual sum into xhat, then normalized in place over channels */
    for (size_t h = 0; h < H; ++h)
        for (size_t t = 0; t < T; ++t) {
            const REAL s = FN(sigmoid)(z[(H + h) * T + t]);
            xhat[h * T + t] = z[h * T + t] * s * mask2[h * T + t] + x[h * T + t];
            z[(H + h) * T + t] = s;   /* the gate, all the backward pass needs of z_b */
        }
    REAL *mean = w->mean;
    memset(mean, 0, T * sizeof *mean);
    memset(rstd, 0, T * sizeof *rstd);
    for (size_t h = 0; h < H; ++h)
        for (size_t t = 0; t < T; ++t)
            mean[t] += xhat[h * T + t];
    for (size_t t = 0; t < T; ++t)
        mean[t] /= (REAL)H;
    for (size_t h = 0; h < H; ++h)
        for (size_t t = 0; t < T; ++t) {
            REAL d = xhat[h * T + t] - mean[t];
            rstd[t] += d * d;
        }
    for (size_t t = 0; t < T; ++t)
        rstd[t] = (REAL)1 / CAT2(sqrt, REAL_FN_SUFFIX)(rstd[t] / (REAL)H + (REAL)SSM_DEEP_LN_EPS);
    for (size_t h = 0; h < H; ++h)
        for (size_t t = 0; t < T; ++t) {
            REAL v = (xhat[h * T + t] - mean[t]) * rstd[t];
            xhat[h * T + t] = v;
            out[h * T + t] = v * gam[h] + bet[h];
        }
}

/* Forward pass over `count` sequences; logits [count, C] in double.
 * lambda/coef (recurrent mode only): per layer [H, M]. */
static void FN(forward)(FN(work) *w, const ssm_deep *m, const float *x, size_t count, const ssm_deep_pass *pass,
                        int train, const double complex *lambda, const double complex *coef, double *logits)
{
    const size_t H = w->H, T = w->T, HT = H * T, L = w->L, M = m->n_modes;
    const REAL *enc_w = w->p + m->outer_off[SSM_DEEP_ENC_W], *enc_b = w->p + m->outer_off[SSM_DEEP_ENC_B];
    for (size_t i = 0; i < count * T; ++i)
        w->xr[i] = (REAL)x[i];
    for (size_t b = 0; b < count; ++b)
        for (size_t h = 0; h < H; ++h)
            for (size_t t = 0; t < T; ++t)
                w->layer[0].x[b * HT + h * T + t] = enc_w[h] * w->xr[b * T + t] + enc_b[h];
    for (size_t l = 0; l < L; ++l) {
        FN(layer) *ly = &w->layer[l];
        const REAL *D = w->p + m->layer_off[l * SSM_DEEP_LAYER_BLOCKS + SSM_DEEP_D];
        if (train && ly->mask1) {
            FN(dropout_mask)(ly->mask1, count * HT, m->cfg.dropout, pass->dropout_seed, pass->dropout_step, l, 1);
            FN(dropout_mask)(ly->mask2, count * HT, m->cfg.dropout, pass->dropout_seed, pass->dropout_step, l, 2);
        }
        REAL *next = l + 1 < L ? w->layer[l + 1].x : w->x_out;
        for (size_t b = 0; b < count; ++b) {
            if (pass && pass->recurrent)
                FN(conv_recurrent)(w, ly, D, b, lambda + l * H * M, coef + l * H * M, M);
            else
                FN(conv_fft)(w, ly, D, b);
            FN(pointwise_forward)(w, m, l, b, train, next + b * HT);
        }
    }
    /* mean pooling over time (accumulated in double) and the decoder */
    const REAL *dec_w = w->p + m->outer_off[SSM_DEEP_DEC_W], *dec_b = w->p + m->outer_off[SSM_DEEP_DEC_B];
    REAL *sums = w->sums;
    GEMV(CblasRowMajor, CblasNoTrans, (int)(count * H), (int)T, 1, w->x_out, (int)T, w->ones, 1, 0, sums, 1);
    for (size_t b = 0; b < count; ++b) {
        for (size_t h = 0; h < H; ++h)
            w->pool[b * H + h] = (double)sums[b * H + h] / (double)T;
        for (size_t c = 0; c < w->C; ++c) {
            double s = (double)dec_b[c];
            for (size_t h = 0; h < H; ++h)
                s += (double)dec_w[c * H + h] * w->pool[b * H + h];
            logits[b * w->C + c] = s;
        }
    }
}

/* Backward pass from dlogits [count, C] (gradient of the loss w.r.t. the
 * logits); leaves the REAL gradients in w->dp and each layer's kernel
 * gradient (time domain, [H, T], double) in dkernel. */
DEEP_HOT static void FN(backward)(FN(work) *w, const ssm_deep *m, size_t count, const double *dlogits,
                         int train, double *dkernel)
{
    const size_t H = w->H, T = w->T, HT = H * T, L = w->L, n = w->n, nfp = w->nfp, nf = n / 2 + 1, C = w->C;
    memset(w->dp, 0, m->n_params * sizeof *w->dp);
    const REAL *dec_w = w->p + m->outer_off[SSM_DEEP_DEC_W];
    REAL *d_dec_w = w->dp + m->outer_off[SSM_DEEP_DEC_W], *d_dec_b = w->dp + m->outer_off[SSM_DEEP_DEC_B];
    for (size_t c = 0; c < C; ++c) {
        double sb = 0;
        for (size_t b = 0; b < count; ++b)
            sb += dlogits[b * C + c];
        d_dec_b[c] = (REAL)sb;
        for (size_t h = 0; h < H; ++h) {
            double s = 0;
            for (size_t b = 0; b < count; ++b)
                s += dlogits[b * C + c] * w->pool[b * H + h];
            d_dec_w[c * H + h] = (REAL)s;
        }
    }
    for (size_t b = 0; b < count; ++b)
        for (size_t h = 0; h < H; ++h) {
            double s = 0;
            for (size_t c = 0; c < C; ++c)
                s += dlogits[b * C + c] * (double)dec_w[c * H + h];
            const REAL v = (REAL)(s / (double)T);
            for (size_t t = 0; t < T; ++t)
                w->d_out[b * HT + h * T + t] = v;
        }
    for (size_t l = L; l-- > 0;) {
        FN(layer) *ly = &w->layer[l];
        const size_t *off = m->layer_off + l * SSM_DEEP_LAYER_BLOCKS;
        const REAL *W = w->p + off[SSM_DEEP_MIX_W], *gam = w->p + off[SSM_DEEP_NORM_G], *D = w->p + off[SSM_DEEP_D];
        REAL *dW = w->dp + off[SSM_DEEP_MIX_W], *db = w->dp + off[SSM_DEEP_MIX_B];
        REAL *dgam = w->dp + off[SSM_DEEP_NORM_G], *dbet = w->dp + off[SSM_DEEP_NORM_B], *dD = w->dp + off[SSM_DEEP_D];
        const int drop = train && ly->mask1;
        memset(ly->dkf, 0, 2 * H * nfp * sizeof *ly->dkf);
        for (size_t b = 0; b < count; ++b) {
            const REAL *restrict dout = w->d_out + b * HT, *restrict xhat = ly->xhat + b * HT;
            const REAL *restrict rstd = ly->rstd + b * T, *restrict z = ly->z + 2 * b * HT;
            const REAL *restrict y = ly->y + b * HT, *restrict xin = ly->x + b * HT;
            REAL *restrict din = w->d_in + b * HT, *restrict dz = w->dz, *restrict dg = w->dg;
            REAL *restrict mean = w->mean;
            /* LayerNorm: dR = rstd (dxh - mean_h dxh - xhat mean_h(dxh xhat)),
             * with dxh = dout gamma; din starts as dR (the residual path) */
            memset(mean, 0, T * sizeof *mean);
            REAL *restrict mean2 = w->rbuf;   /* second per-time sum (rbuf holds >= T) */
            memset(mean2, 0, T * sizeof *mean2);
            for (size_t h = 0; h < H; ++h) {
                for (size_t t = 0; t < T; ++t) {
                    const REAL dxh = dout[h * T + t] * gam[h];
                    mean[t] += dxh;
                    mean2[t] += dxh * xhat[h * T + t];
                }
                dgam[h] += DOT((int)T, dout + h * T, 1, xhat + h * T, 1);
            }
            GEMV(CblasRowMajor, CblasNoTrans, (int)H, (int)T, 1, dout, (int)T, w->ones, 1, 1, dbet, 1);
            for (size_t h = 0; h < H; ++h)
                for (size_t t = 0; t < T; ++t) {
                    const REAL dxh = dout[h * T + t] * gam[h];
                    din[h * T + t] =
                        rstd[t] * (dxh - mean[t] / (REAL)H - xhat[h * T + t] * mean2[t] / (REAL)H);
                }
            /* GLU (and the second dropout): o = z_a sigma(z_b) */
            const REAL *restrict mask1 = drop ? ly->mask1 + b * HT : w->ones;
            const REAL *restrict mask2 = drop ? ly->mask2 + b * HT : w->ones;
            for (size_t h = 0; h < H; ++h)
                for (size_t t = 0; t < T; ++t) {
                    const REAL d = din[h * T + t] * mask2[h * T + t];
                    const REAL za = z[h * T + t], s = z[(H + h) * T + t];
                    dz[h * T + t] = d * s;
                    dz[(H + h) * T + t] = d * za * s * ((REAL)1 - s);
                }
            /* pointwise layer: dW += dz g^T, db += sum_t dz, dg = W^T dz */
            GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(2 * H), (int)H, (int)T, 1, dz, (int)T,
                 ly->g + b * HT, (int)T, 1, dW, (int)H);
            GEMV(CblasRowMajor, CblasNoTrans, (int)(2 * H), (int)T, 1, dz, (int)T, w->ones, 1, 1, db, 1);
            GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)H, (int)T, (int)(2 * H), 1, W, (int)H, dz, (int)T, 0,
                 dg, (int)T);
            /* first dropout and GELU: dy in dg */
            for (size_t i = 0; i < HT; ++i)
                dg[i] = dg[i] * mask1[i] * FN(gelu_deriv)(y[i]);
            /* the convolution: dD, din += D dy + K (*) dy (correlation),
             * and the kernel gradient's spectrum sum_b dY conj(X) */
            for (size_t h = 0; h < H; ++h) {
                const REAL *dy = dg + h * T, *xh = xin + h * T;
                dD[h] += DOT((int)T, dy, 1, xh, 1);
                memcpy(w->rbuf, dy, T * sizeof *dy);
                memset(w->rbuf + T, 0, (n - T) * sizeof *w->rbuf);
                FFTW(execute_dft_r2c)(w->r2c, w->rbuf, (void *)w->cbuf);
                const REAL *restrict xf = (const REAL *)(ly->xf + (b * H + h) * nfp);
                const REAL *restrict kf = ly->kf + 2 * h * nfp;
                REAL *restrict dkf = ly->dkf + 2 * h * nfp, *restrict g = (REAL *)w->cbuf;
                for (size_t f = 0; f < nf; ++f) {   /* dkf += g conj(xf); g *= conj(kf) */
                    const REAL gr = g[2 * f], gi = g[2 * f + 1], xr = xf[2 * f], xi = xf[2 * f + 1];
                    const REAL kr = kf[2 * f], ki = kf[2 * f + 1];
                    dkf[2 * f] += gr * xr + gi * xi;
                    dkf[2 * f + 1] += gi * xr - gr * xi;
                    g[2 * f] = gr * kr + gi * ki;
                    g[2 * f + 1] = gi * kr - gr * ki;
                }
                FFTW(execute_dft_c2r)(w->c2r, (void *)w->cbuf, w->rbuf);
                REAL *di = din + h * T;
                for (size_t t = 0; t < T; ++t)
                    di[t] += w->rbuf[t] + D[h] * dy[t];
            }
        }
        /* kernel gradient in time: dK[s] = sum_b sum_t dY[t] X[t - s] */
        for (size_t h = 0; h < H; ++h) {
            memcpy(w->cbuf, ly->dkf + 2 * h * nfp, nf * sizeof *w->cbuf);
            FFTW(execute_dft_c2r)(w->c2r, (void *)w->cbuf, w->rbuf);
            double *dk = dkernel + (l * H + h) * T;
            for (size_t t = 0; t < T; ++t)
                dk[t] = (double)w->rbuf[t] / (double)n;
        }
        REAL *tmp = w->d_out;
        w->d_out = w->d_in;
        w->d_in = tmp;
    }
    /* encoder: x0 = enc_w x + enc_b */
    REAL *d_enc_w = w->dp + m->outer_off[SSM_DEEP_ENC_W], *d_enc_b = w->dp + m->outer_off[SSM_DEEP_ENC_B];
    for (size_t b = 0; b < count; ++b) {
        GEMV(CblasRowMajor, CblasNoTrans, (int)H, (int)T, 1, w->d_out + b * HT, (int)T, w->xr + b * T, 1, 1, d_enc_w, 1);
        GEMV(CblasRowMajor, CblasNoTrans, (int)H, (int)T, 1, w->d_out + b * HT, (int)T, w->ones, 1, 1, d_enc_b, 1);
    }
}

#undef CPX
#undef FFTW
#undef FN
#undef CAT3
#undef CAT3_
#undef CAT2
#undef CAT2_
#undef REAL
#undef SUF
#undef FFTW_
#undef GEMM
#undef GEMV
#undef DOT
#undef REAL_FN_SUFFIX
#undef REAL_EXP
#undef REAL_ERF
#undef REAL_ERF_GAUSS

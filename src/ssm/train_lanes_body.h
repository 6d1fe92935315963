/* The single-layer trainer's pass, in one precision: included by
 * train_lanes.c once per precision with
 *   REAL                 float or double
 *   SINGLE               1 for float
 *   LANES, STAGES        SSM_RFFT_LANES_F32 or _F64, and its log2
 *   FN(name)             name_f32 or name_f64
 *   RFFT(op)             ssm_rfft_<op>_f32 or _f64
 *   KFFT(name)           fftwf_<name> or fftw_<name> (the kernels' FFTs)
 *   REAL_CREAL/CIMAG     crealf/cimagf or creal/cimag
 *   TILE_ROW, TILE_RUN   vectors of LANES REAL and of LANES double
 *   FN(tile_lo/hi)       the transpose's shuffle masks, one per stage
 * Same model, loss and gradients in both: the kernel and the power sums of
 * its gradient are walked in REAL (powers recomputed exactly every
 * RESTART steps), the convolutions are lane-parallel FFTs over LANES
 * sequences at once (rfft.h), the per-mode chain rule is float64. */

struct FN(train_work) {
    size_t L, n, nf, n_out, nm, Mp;   /* length, FFT length, frequencies, outputs, modes, modes padded */
    ssm_rfft *fft;
    double complex *lambda, *bbar;    /* [nm] */
    double complex *anchor;           /* [nm][2][L / RESTART + 1]: lambda^(RESTART r), lambda^(RESTART r - 1) */
    REAL *buf;                        /* FFT buffer: ssm_rfft_buffer_rows x LANES */
    REAL *dblock;                     /* one output's targets in a block [L][LANES] */
    REAL *uspec, *spec;               /* spectrum blocks [nf][2][LANES] */
    REAL *kf;                         /* kernel spectra / n [n_out][nf][2] */
    REAL *acc;                        /* sums of G conj(U) [n_out][nf][2][LANES] */
    REAL *walk;                       /* [8][Mp]: power re, im, lambda re, im, and the sums or q */
    double *sums;                     /* [4][n_out][nm] for the chain rule */
    double *dk;                       /* dL/dK [n_out][L] */
    /* the kernels' spectra and dL/dK are one signal per output: FFTW's
     * transforms of one signal (ESTIMATE plans: the same on every run), not
     * a block of LANES lanes */
    REAL *kbuf;                       /* n */
    KFFT(complex) *kspec;             /* n / 2 + 1 */
    double *dbuf;                     /* n */
    fftw_complex *dspec;              /* n / 2 + 1 */
    KFFT(plan) kplan;
    fftw_plan dplan;
};

void FN(train_work_free)(FN(train_work) *w)
{
    if (!w)
        return;
    ssm_rfft_free(w->fft);
    free(w->lambda);
    free(w->bbar);
    free(w->anchor);
    ssm_free_big(w->buf);
    ssm_free_big(w->dblock);
    ssm_free_big(w->uspec);
    ssm_free_big(w->spec);
    ssm_free_big(w->kf);
    ssm_free_big(w->acc);
    ssm_free_big(w->walk);
    free(w->sums);
    free(w->dk);
    if (w->kplan)
        KFFT(destroy_plan)(w->kplan);
    if (w->dplan)
        fftw_destroy_plan(w->dplan);
    KFFT(free)(w->kbuf);
    KFFT(free)(w->kspec);
    fftw_free(w->dbuf);
    fftw_free(w->dspec);
    free(w);
}

ssm_status FN(train_work_new)(const ssm_dssm *m, size_t length, FN(train_work) **out, ssm_error *err)
{
    *out = NULL;
    FN(train_work) *w = calloc(1, sizeof *w);
    if (!w)
        return ssm_fail(err, SSM_ENOMEM, "out of memory for the training workspace");
    ssm_status st = ssm_rfft_new(ssm_rfft_good_length(2 * length), &w->fft, err);
    if (st) {
        free(w);
        return st;
    }
    w->L = length;
    w->n = ssm_rfft_length(w->fft);
    w->nf = w->n / 2 + 1;
    w->n_out = m->n_out;
    w->nm = ssm_dssm_n_modes(m);
    w->Mp = (w->nm + LANES - 1) / LANES * LANES;
    const size_t nm = w->nm ? w->nm : 1, block = w->nf * 2 * LANES, rows = ssm_rfft_buffer_rows(w->fft);
    w->lambda = malloc(nm * sizeof *w->lambda);
    w->bbar = malloc(nm * sizeof *w->bbar);
    w->anchor = malloc(nm * 2 * (length / RESTART + 1) * sizeof *w->anchor);
    w->buf = ssm_alloc_big(rows * LANES * sizeof *w->buf);
    w->dblock = ssm_alloc_big(length * LANES * sizeof *w->dblock);
    w->uspec = ssm_alloc_big(block * sizeof *w->uspec);
    w->spec = ssm_alloc_big(block * sizeof *w->spec);
    w->kf = ssm_alloc_big(w->n_out * w->nf * 2 * sizeof *w->kf);
    w->acc = ssm_alloc_big(w->n_out * block * sizeof *w->acc);
    w->walk = ssm_alloc_big(8 * (w->Mp ? w->Mp : LANES) * sizeof *w->walk);
    w->sums = malloc(4 * w->n_out * nm * sizeof *w->sums);
    w->dk = malloc(w->n_out * length * sizeof *w->dk);
    w->kbuf = KFFT(malloc)(w->n * sizeof *w->kbuf);
    w->kspec = KFFT(malloc)(w->nf * sizeof *w->kspec);
    w->dbuf = fftw_malloc(w->n * sizeof *w->dbuf);
    w->dspec = fftw_malloc(w->nf * sizeof *w->dspec);
    if (w->kbuf && w->kspec && w->dbuf && w->dspec) {
        w->kplan = KFFT(plan_dft_r2c_1d)((int)w->n, w->kbuf, w->kspec, FFTW_ESTIMATE);
        w->dplan = fftw_plan_dft_c2r_1d((int)w->n, w->dspec, w->dbuf, FFTW_ESTIMATE);
    }
    if (!w->lambda || !w->bbar || !w->anchor || !w->buf || !w->dblock || !w->uspec || !w->spec || !w->kf ||
        !w->acc || !w->walk || !w->sums || !w->dk || !w->kplan || !w->dplan) {
        FN(train_work_free)(w);
        return ssm_fail(err, SSM_ENOMEM, "out of memory for the training workspace (L = %zu)", length);
    }
    *out = w;
    return SSM_OK;
}

/* lambda^(RESTART r) and lambda^(RESTART r - 1) for every mode and
 * restart r, by float64 products from lambda^RESTART and lambda^(RESTART - 1):
 * two powers per mode and step instead of two per mode and restart. */
static void FN(anchor_powers)(FN(train_work) *w)
{
    const size_t nr = w->L / RESTART + 1;
    for (size_t k = 0; k < w->nm; ++k) {
        const double complex step = ssm_power(w->lambda[k], RESTART), before = ssm_power(w->lambda[k], RESTART - 1);
        double complex *at = w->anchor + k * 2 * nr, *prev = at + nr;
        at[0] = 1;
        prev[0] = 0;
        for (size_t r = 1; r < nr; ++r) {
            at[r] = at[r - 1] * step;
            prev[r] = at[r - 1] * before;
        }
    }
}

/* The walk's powers lambda^tau (and, with qr, lambda^(tau-1)) at a
 * restart; padding modes stay zero. */
static void FN(restart_powers)(const FN(train_work) *w, REAL *pr, REAL *pi, REAL *qr, REAL *qi, size_t tau)
{
    const size_t nr = w->L / RESTART + 1, r = tau / RESTART;
    for (size_t k = 0; k < w->nm; ++k) {
        const double complex z = w->anchor[k * 2 * nr + r];
        pr[k] = (REAL)creal(z);
        pi[k] = (REAL)cimag(z);
        if (qr) {
            const double complex zp = w->anchor[k * 2 * nr + nr + r];
            qr[k] = (REAL)creal(zp);
            qi[k] = (REAL)cimag(zp);
        }
    }
}

/* K_o[tau] = sum_k Re(q_k lambda_k^tau), q = conj(w_ok) bbar_k, plus the
 * skip term D_o at tau = 0, and its spectrum / n into kf[o], for every
 * output.  With D in the kernel the convolution alone gives K * u + D u,
 * and dL/dD is dL/dK[0]: the block's inputs are needed only as spectra. */
HOT static void FN(kernels)(const ssm_dssm *m, FN(train_work) *w)
{
    const double *D = m->theta + m->offset[SSM_GROUP_D];
    const size_t Mp = w->Mp, L = w->L, nf = w->nf;
    REAL *restrict pr = w->walk, *restrict pi = pr + Mp, *restrict lr = pi + Mp, *restrict li = lr + Mp;
    REAL *restrict qr = li + Mp, *restrict qi = qr + Mp;
    memset(w->walk, 0, 8 * Mp * sizeof *w->walk);
    for (size_t k = 0; k < w->nm; ++k) {
        lr[k] = (REAL)creal(w->lambda[k]);
        li[k] = (REAL)cimag(w->lambda[k]);
    }
    for (size_t o = 0; o < w->n_out; ++o) {
        for (size_t k = 0; k < w->nm; ++k) {
            const double complex q = conj(ssm_dssm_readout(m, o, k)) * w->bbar[k];
            qr[k] = (REAL)creal(q);
            qi[k] = (REAL)cimag(q);
        }
        for (size_t tau = 0; tau < L; ++tau) {
            if (tau % RESTART == 0)
                FN(restart_powers)(w, pr, pi, NULL, NULL, tau);
            REAL part[LANES] = {0};
            for (size_t k0 = 0; k0 < Mp; k0 += LANES)
                IVDEP for (size_t j = 0; j < LANES; ++j)
                    part[j] += qr[k0 + j] * pr[k0 + j] - qi[k0 + j] * pi[k0 + j];
            for (size_t half = LANES / 2; half > 0; half /= 2)
                for (size_t j = 0; j < half; ++j)
                    part[j] += part[j + half];
            w->kbuf[tau] = tau == 0 ? part[0] + (REAL)D[o] : part[0];
            IVDEP for (size_t k = 0; k < Mp; ++k)
            {
                const REAL r = pr[k] * lr[k] - pi[k] * li[k];
                pi[k] = pr[k] * li[k] + pi[k] * lr[k];
                pr[k] = r;
            }
        }
        memset(w->kbuf + L, 0, (w->n - L) * sizeof *w->kbuf);
        KFFT(execute)(w->kplan);
        for (size_t f = 0; f < nf; ++f) {
            w->kf[2 * (o * nf + f)] = REAL_CREAL(w->kspec[f]) / (REAL)w->n;
            w->kf[2 * (o * nf + f) + 1] = REAL_CIMAG(w->kspec[f]) / (REAL)w->n;
        }
    }
}

/* s0 = sum_tau dK[tau] lambda^tau, s1 = sum_tau tau dK[tau] lambda^(tau-1)
 * for every output and mode, in REAL, into w->sums (float64). */
HOT static void FN(power_sums)(FN(train_work) *w)
{
    const size_t Mp = w->Mp, L = w->L, nm = w->nm, no = w->n_out;
    REAL *restrict pr = w->walk, *restrict pi = pr + Mp, *restrict lr = pi + Mp, *restrict li = lr + Mp;
    REAL *restrict qr = li + Mp, *restrict qi = qr + Mp;   /* lambda^(tau-1) */
    REAL *restrict s = w->buf;   /* s0r, s0i, s1r, s1i [Mp] */
    for (size_t o = 0; o < no; ++o) {
        memset(s, 0, 4 * Mp * sizeof *s);
        const double *dk = w->dk + o * L;
        for (size_t tau = 0; tau < L; ++tau) {
            if (tau % RESTART == 0)
                FN(restart_powers)(w, pr, pi, qr, qi, tau);
            const REAL g = (REAL)dk[tau], gt = (REAL)(dk[tau] * (double)tau);
            IVDEP for (size_t k = 0; k < Mp; ++k)
            {
                s[k] += g * pr[k];
                s[Mp + k] += g * pi[k];
                s[2 * Mp + k] += gt * qr[k];
                s[3 * Mp + k] += gt * qi[k];
                qr[k] = pr[k];
                qi[k] = pi[k];
                const REAL r = pr[k] * lr[k] - pi[k] * li[k];
                pi[k] = pr[k] * li[k] + pi[k] * lr[k];
                pr[k] = r;
            }
        }
        for (size_t part = 0; part < 4; ++part)
            for (size_t k = 0; k < nm; ++k)
                w->sums[(part * no + o) * nm + k] = (double)s[part * Mp + k];
    }
}

/* rows[t][j] = src[j * stride + t] for the first `lanes` lanes, 0 in the
 * others, in the pass's precision: a transpose, done in tiles of LANES x
 * LANES in vector registers (GCC's vector extensions: permutes on every
 * x86 level, plain code elsewhere).  A tile's lanes are read as LANES
 * contiguous runs, then butterfly stages (STAGES = log2 LANES) exchange the
 * blocks of LANES / 2, ..., 2, 1 elements between row pairs; the tail is
 * scalar.  The source is float64 (inputs, targets, spectra) or, for the
 * float32 pass, the data set's float32 copies. */
static inline __attribute__((always_inline)) TILE_ROW FN(tile_load)(const void *src, size_t at, int src_f32,
                                                                   int live)
{
    if (!live)
        return (TILE_ROW){0};
#if SINGLE
    if (src_f32) {
        TILE_ROW run;
        memcpy(&run, (const float *)src + at, sizeof run);
        return run;
    }
#else
    (void)src_f32;
#endif
    TILE_RUN run;
    memcpy(&run, (const double *)src + at, sizeof run);
    return __builtin_convertvector(run, TILE_ROW);
}

static inline __attribute__((always_inline)) void FN(to_lanes_any)(REAL *restrict rows, const void *restrict src,
                                                                  size_t L, size_t stride, size_t lanes,
                                                                  int src_f32)
{
    const size_t whole = L / LANES * LANES;
    for (size_t t0 = 0; t0 < whole; t0 += LANES) {
        TILE_ROW r[LANES];
        UNROLL for (size_t j = 0; j < LANES; ++j)
            r[j] = FN(tile_load)(src, j * stride + t0, src_f32, j < lanes);
        UNROLL for (size_t stage = 0; stage < STAGES; ++stage)
            UNROLL for (size_t i = 0; i < LANES; ++i)
                if (!(i & (LANES / 2 >> stage)))
                    EXCHANGE(r[i], r[i + (LANES / 2 >> stage)], FN(tile_lo)[stage], FN(tile_hi)[stage]);
        memcpy(rows + t0 * LANES, r, sizeof r);
    }
    for (size_t t = whole; t < L; ++t)
        for (size_t j = 0; j < LANES; ++j)
            rows[t * LANES + j] = j >= lanes ? (REAL)0
                                  : src_f32  ? (REAL)((const float *)src)[j * stride + t]
                                             : (REAL)((const double *)src)[j * stride + t];
}

HOT static void FN(to_lanes)(REAL *restrict rows, const double *restrict src, size_t L, size_t stride, size_t lanes)
{
    FN(to_lanes_any)(rows, src, L, stride, lanes, 0);
}

#if SINGLE
HOT static void FN(to_lanes_from_f32)(REAL *restrict rows, const float *restrict src, size_t L, size_t stride,
                                      size_t lanes)
{
    FN(to_lanes_any)(rows, src, L, stride, lanes, 1);
}
#endif

/* Y = U K_o, by frequency, K broadcast to the lanes. */
HOT static void FN(times_kernel)(FN(train_work) *w, size_t o)
{
    const REAL *restrict u = w->uspec, *restrict k = w->kf + o * w->nf * 2;
    REAL *restrict y = w->spec;
    for (size_t f = 0; f < w->nf; ++f) {
        const REAL kr = k[2 * f], ki = k[2 * f + 1];
        IVDEP for (size_t j = 0; j < LANES; ++j)
        {
            const REAL ur = u[2 * f * LANES + j], ui = u[(2 * f + 1) * LANES + j];
            y[2 * f * LANES + j] = ur * kr - ui * ki;
            y[(2 * f + 1) * LANES + j] = ur * ki + ui * kr;
        }
    }
}

/* acc_o += G conj(U) lane by lane. */
HOT static void FN(add_correlation)(FN(train_work) *w, size_t o)
{
    const REAL *restrict u = w->uspec, *restrict g = w->spec;
    REAL *restrict a = w->acc + o * w->nf * 2 * LANES;
    for (size_t f = 0; f < w->nf; ++f)
        IVDEP for (size_t j = 0; j < LANES; ++j)
        {
            const size_t re = 2 * f * LANES + j, im = re + LANES;
            a[re] += g[re] * u[re] + g[im] * u[im];
            a[im] += g[im] * u[re] - g[re] * u[im];
        }
}

/* y = (K + D delta) * u + bias against the targets; r (the convolution,
 * rows of lanes) becomes dL/dy; loss and the bias gradient per lane
 * (float64).  Lanes >= `lanes` hold no sequence and count nothing. */
HOT static void FN(residuals)(FN(train_work) *w, REAL *restrict r, REAL bias, size_t washout, REAL scale,
                              size_t lanes, double *restrict loss, double *restrict gb)
{
    const REAL *restrict d = w->dblock;
    REAL on[LANES];
    for (size_t j = 0; j < LANES; ++j)
        on[j] = j < lanes ? (REAL)1 : (REAL)0;
    for (size_t t = 0; t < w->L; ++t) {
        const REAL live = t >= washout ? (REAL)1 : (REAL)0;
        IVDEP for (size_t j = 0; j < LANES; ++j)
        {
            const REAL e = live * on[j] * (r[t * LANES + j] + bias - d[t * LANES + j]);
            const REAL g = (REAL)2 * e * scale;
            loss[j] += (double)e * (double)e;
            gb[j] += (double)g;
            r[t * LANES + j] = g;
        }
    }
}

ssm_status FN(train_loss_grad)(const ssm_dssm *m, const ssm_dataset *data, size_t first, size_t count,
                               size_t washout, FN(train_work) *w, double *loss, double *grad, ssm_error *err)
{
    const size_t L = w->L, no = w->n_out, nf = w->nf, n = w->n;
    ssm_dssm_discretize(m, w->lambda, w->bbar);
    FN(anchor_powers)(w);
    FN(kernels)(m, w);
    const double *bias = m->theta + m->offset[SSM_GROUP_BIAS];
    const double norm = 1.0 / ((double)count * (double)no * (double)(L - washout));
    double tot[LANES] = {0}, gb[SSM_MAX_OUTPUTS][LANES] = {{0}};
    if (grad) {
        memset(grad, 0, m->n_params * sizeof *grad);
        memset(w->acc, 0, no * nf * 2 * LANES * sizeof *w->acc);
    }
    for (size_t b0 = 0; b0 < count; b0 += LANES) {
        const size_t lanes = count - b0 < LANES ? count - b0 : LANES;
        /* the spectra a dataset caches (ssm_dataset_prepare): 2 nf numbers
         * (re, im) per sequence, rows 2 f and 2 f + 1 of U */
#if SINGLE
        if (data->uf32 && n == 2 * L)
            FN(to_lanes_from_f32)(w->uspec, (const float *)(data->uf32 + (first + b0) * nf), 2 * nf, 2 * nf, lanes);
        else
#endif
        if (data->uf && n == 2 * L) {
            FN(to_lanes)(w->uspec, (const double *)(data->uf + (first + b0) * nf), 2 * nf, 2 * nf, lanes);
        } else {
            FN(to_lanes)(w->buf, data->u + (first + b0) * L, L, L, lanes);
            RFFT(forward)(w->fft, w->buf, L, w->uspec);
        }
        for (size_t o = 0; o < no; ++o) {
            const size_t at = ((first + b0) * no + o) * L;
#if SINGLE
            if (data->d32)
                FN(to_lanes_from_f32)(w->dblock, data->d32 + at, L, no * L, lanes);
            else
#endif
                FN(to_lanes)(w->dblock, data->d + at, L, no * L, lanes);
            FN(times_kernel)(w, o);
            REAL *r = RFFT(inverse)(w->fft, w->spec, w->buf, L);
            FN(residuals)(w, r, (REAL)bias[o], washout, (REAL)norm, lanes, tot, gb[o]);
            if (!grad)
                continue;
            if (r != w->buf)
                memcpy(w->buf, r, L * LANES * sizeof *w->buf);
            RFFT(forward)(w->fft, w->buf, L, w->spec);
            FN(add_correlation)(w, o);
        }
    }
    double total = 0;
    for (size_t j = 0; j < LANES; ++j)
        total += tot[j];
    *loss = total * norm;
    if (!isfinite(*loss))
        return ssm_fail(err, SSM_ENUMERIC, "loss is not finite");
    if (!grad)
        return SSM_OK;
    for (size_t o = 0; o < no; ++o) {
        double sb = 0;
        for (size_t j = 0; j < LANES; ++j)
            sb += gb[o][j];
        grad[m->offset[SSM_GROUP_BIAS] + o] = sb;
    }
    /* dL/dK = IFFT(sum over lanes of G conj(U)) / n */
    for (size_t o = 0; o < no; ++o) {
        const REAL *a = w->acc + o * nf * 2 * LANES;
        for (size_t f = 0; f < nf; ++f) {
            double re = 0, im = 0;
            for (size_t l = 0; l < LANES; ++l) {
                re += (double)a[2 * f * LANES + l];
                im += (double)a[(2 * f + 1) * LANES + l];
            }
            w->dspec[f] = CMPLX(re, im);
        }
        fftw_execute(w->dplan);
        for (size_t t = 0; t < L; ++t)
            w->dk[o * L + t] = w->dbuf[t] / (double)n;
        grad[m->offset[SSM_GROUP_D] + o] = w->dk[o * L];   /* D entered as K[0] */
    }
    FN(power_sums)(w);
    const size_t nm = w->nm;
    ssm_train_mode_gradients(m, w->lambda, w->bbar, w->sums, w->sums + no * nm, w->sums + 2 * no * nm,
                             w->sums + 3 * no * nm, grad);
    return SSM_OK;
}

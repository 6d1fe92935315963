/* The deep S4D classifier: forward pass against a naive reference written
 * here from the definitions (direct convolution, no FFT), the FFT
 * convolution against the step-by-step recurrence, float32 against
 * float64, every gradient against central finite differences (float64),
 * freezing, resuming from a checkpoint, and a short training run; the
 * pointwise layer's own GEMM against the plain triple loop, bit for bit,
 * on every instruction set. */
#include "config.h"

#include <complex.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/deep.h"
#include "ssm/deep_gemm.h"
#include "ssm/idx.h"
#include "ssm/rfft.h"
#include "ssm/rng.h"
#include "ssm/train.h"
#include "testutil.h"

static ssm_deep_config tiny_config(ssm_init_kind init, size_t H, size_t L, long N, double dropout)
{
    ssm_deep_config c;
    ssm_deep_config_defaults(&c);
    c.d_model = H;
    c.n_layers = L;
    c.n_classes = 4;
    c.dropout = dropout;
    c.eig.init = init;
    c.eig.n = N;
    c.dt_min = 0.01;
    c.dt_max = 0.3;
    return c;
}

static void random_inputs(float *x, uint8_t *y, size_t B, size_t T, size_t classes, uint64_t seed)
{
    ssm_rng rng;
    ssm_rng_init(&rng, seed, 0, 99);
    for (size_t i = 0; i < B * T; ++i)
        x[i] = (float)ssm_rng_normal(&rng);
    for (size_t b = 0; b < B; ++b)
        y[b] = (uint8_t)(ssm_rng_u64(&rng) % classes);
}

/* ---- a naive float64 forward pass, from the definitions ------------------------- */

static double gelu(double v)
{
    return 0.5 * v * (1 + erf(v / sqrt(2.0)));
}

/* logits [B, C] of the model without dropout, by direct convolution with
 * a kernel summed mode by mode with cpow */
static void naive_logits(const ssm_deep *m, const float *x, size_t B, size_t T, double *logits)
{
    const size_t H = m->cfg.d_model, M = m->n_modes, P = m->n_pair, C = m->cfg.n_classes;
    double *X = malloc(B * H * T * sizeof *X), *Y = malloc(B * H * T * sizeof *Y), *K = malloc(T * sizeof *K);
    double *Z = malloc(2 * H * sizeof *Z), *g = malloc(H * sizeof *g), *r = malloc(H * sizeof *r);
    const double *ew = m->theta + m->outer_off[SSM_DEEP_ENC_W], *eb = m->theta + m->outer_off[SSM_DEEP_ENC_B];
    for (size_t b = 0; b < B; ++b)
        for (size_t h = 0; h < H; ++h)
            for (size_t t = 0; t < T; ++t)
                X[(b * H + h) * T + t] = ew[h] * x[b * T + t] + eb[h];
    for (size_t l = 0; l < m->cfg.n_layers; ++l) {
        const double *pre = ssm_deep_param(m, l, SSM_DEEP_A_RE), *pim = ssm_deep_param(m, l, SSM_DEEP_A_IM);
        const double *cre = ssm_deep_param(m, l, SSM_DEEP_C_RE), *cim = ssm_deep_param(m, l, SSM_DEEP_C_IM);
        const double *D = ssm_deep_param(m, l, SSM_DEEP_D), *W = ssm_deep_param(m, l, SSM_DEEP_MIX_W);
        const double *bias = ssm_deep_param(m, l, SSM_DEEP_MIX_B), *gam = ssm_deep_param(m, l, SSM_DEEP_NORM_G);
        const double *bet = ssm_deep_param(m, l, SSM_DEEP_NORM_B);
        for (size_t h = 0; h < H; ++h) {
            const double dt = exp(ssm_deep_param(m, l, SSM_DEEP_DT)[h]);
            for (size_t t = 0; t < T; ++t) {
                double s = 0;
                for (size_t k = 0; k < M; ++k) {
                    const int pair = k >= m->n_real;
                    double complex a = -exp(pre[h * M + k]) + I * (pair ? pim[h * P + k - m->n_real] : 0);
                    double complex c = cre[h * M + k] + I * (pair ? cim[h * P + k - m->n_real] : 0);
                    double complex lam = cexp(a * dt);
                    s += (pair ? 2 : 1) * creal(c * (lam - 1) / a * cpow(lam, (double)t));
                }
                K[t] = s;
            }
            for (size_t b = 0; b < B; ++b)
                for (size_t t = 0; t < T; ++t) {
                    double s = D[h] * X[(b * H + h) * T + t];
                    for (size_t u = 0; u <= t; ++u)
                        s += K[u] * X[(b * H + h) * T + t - u];
                    Y[(b * H + h) * T + t] = s;
                }
        }
        for (size_t b = 0; b < B; ++b)
            for (size_t t = 0; t < T; ++t) {
                for (size_t h = 0; h < H; ++h)
                    g[h] = gelu(Y[(b * H + h) * T + t]);
                for (size_t o = 0; o < 2 * H; ++o) {
                    Z[o] = bias[o];
                    for (size_t h = 0; h < H; ++h)
                        Z[o] += W[o * H + h] * g[h];
                }
                double mean = 0, var = 0;
                for (size_t h = 0; h < H; ++h) {
                    r[h] = Z[h] / (1 + exp(-Z[H + h])) + X[(b * H + h) * T + t];
                    mean += r[h] / (double)H;
                }
                for (size_t h = 0; h < H; ++h)
                    var += (r[h] - mean) * (r[h] - mean) / (double)H;
                for (size_t h = 0; h < H; ++h)
                    X[(b * H + h) * T + t] = (r[h] - mean) / sqrt(var + 1e-5) * gam[h] + bet[h];
            }
    }
    const double *dw = m->theta + m->outer_off[SSM_DEEP_DEC_W], *db = m->theta + m->outer_off[SSM_DEEP_DEC_B];
    for (size_t b = 0; b < B; ++b)
        for (size_t c = 0; c < C; ++c) {
            double s = db[c];
            for (size_t h = 0; h < H; ++h) {
                double pool = 0;
                for (size_t t = 0; t < T; ++t)
                    pool += X[(b * H + h) * T + t] / (double)T;
                s += dw[c * H + h] * pool;
            }
            logits[b * C + c] = s;
        }
    free(X);
    free(Y);
    free(K);
    free(Z);
    free(g);
    free(r);
}

static double max_rel_diff(const double *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; ++i) {
        num = fmax(num, fabs(a[i] - b[i]));
        den = fmax(den, fabs(b[i]));
    }
    return num / den;
}

static void test_forward(ssm_init_kind init, long N)
{
    const size_t B = 3, T = 40;
    ssm_deep_config c = tiny_config(init, 5, 2, N, 0);
    ssm_deep m;
    ssm_deep_work *w64 = NULL, *w32 = NULL;
    float x[3 * 40];
    uint8_t y[3];
    double ref[12], got[12], rec[12], f32[12], loss;
    random_inputs(x, y, B, T, c.n_classes, 7);
    if (ssm_deep_init(&m, &c, 11, NULL) || ssm_deep_work_new(&m, T, B, SSM_F64, &w64, NULL) ||
        ssm_deep_work_new(&m, T, B, SSM_F32, &w32, NULL)) {
        CHECK(0, "%s: set-up", ssm_init_name(init));
        return;
    }
    naive_logits(&m, x, B, T, ref);
    ssm_deep_pass recurrent = {0, 0, 1};
    ssm_deep_loss_grad(&m, w64, x, y, B, NULL, &loss, NULL, NULL, got, NULL);
    ssm_deep_loss_grad(&m, w64, x, y, B, &recurrent, &loss, NULL, NULL, rec, NULL);
    ssm_deep_loss_grad(&m, w32, x, y, B, NULL, &loss, NULL, NULL, f32, NULL);
    CHECK(max_rel_diff(got, ref, B * c.n_classes) < 1e-12, "%s N=%ld: FFT float64 forward == naive (%.2g)",
          ssm_init_name(init), N, max_rel_diff(got, ref, B * c.n_classes));
    CHECK(max_rel_diff(rec, ref, B * c.n_classes) < 1e-12, "%s N=%ld: recurrent forward == naive (%.2g)",
          ssm_init_name(init), N, max_rel_diff(rec, ref, B * c.n_classes));
    CHECK(max_rel_diff(f32, ref, B * c.n_classes) < 1e-6, "%s N=%ld: float32 forward == naive to 1e-6 (%.2g)",
          ssm_init_name(init), N, max_rel_diff(f32, ref, B * c.n_classes));
    ssm_deep_work_free(w64);
    ssm_deep_work_free(w32);
    ssm_deep_free(&m);
}

/* The paper's length, T = 784 (transforms of 1600, the lane FFT's
 * one-level path), 20 channels (float32: two lane groups, the second
 * padded): the FFT forward in float64 and float32 and the recurrence
 * against the naive reference. */
static void test_recurrent_long(void)
{
    const size_t B = 2, T = 784;
    ssm_deep_config c = tiny_config(SSM_INIT_S4D_INV, 20, 2, 16, 0);
    c.dt_min = 0.001;
    c.dt_max = 0.1;
    ssm_deep m;
    ssm_deep_work *w = NULL, *w32 = NULL;
    float *x = malloc(B * T * sizeof *x);
    uint8_t y[2];
    double ref[8], a[8], b[8], f32[8], loss;
    random_inputs(x, y, B, T, c.n_classes, 3);
    ssm_deep_pass recurrent = {0, 0, 1};
    if (ssm_deep_init(&m, &c, 5, NULL) == SSM_OK && ssm_deep_work_new(&m, T, B, SSM_F64, &w, NULL) == SSM_OK &&
        ssm_deep_work_new(&m, T, B, SSM_F32, &w32, NULL) == SSM_OK) {
        naive_logits(&m, x, B, T, ref);
        ssm_deep_loss_grad(&m, w, x, y, B, NULL, &loss, NULL, NULL, a, NULL);
        ssm_deep_loss_grad(&m, w, x, y, B, &recurrent, &loss, NULL, NULL, b, NULL);
        ssm_deep_loss_grad(&m, w32, x, y, B, NULL, &loss, NULL, NULL, f32, NULL);
        const size_t n = B * c.n_classes;
        CHECK(max_rel_diff(a, ref, n) < 1e-12, "T=784 H=20 s4d-inv: FFT float64 forward == naive (%.2g)",
              max_rel_diff(a, ref, n));
        CHECK(max_rel_diff(b, ref, n) < 1e-11, "T=784 H=20 s4d-inv: recurrent forward == naive (%.2g)",
              max_rel_diff(b, ref, n));
        CHECK(max_rel_diff(f32, ref, n) < 1e-6, "T=784 H=20 s4d-inv: float32 forward == naive to 1e-6 (%.2g)",
              max_rel_diff(f32, ref, n));
        ssm_deep_free(&m);
    } else {
        CHECK(0, "T=784: set-up");
    }
    ssm_deep_work_free(w);
    ssm_deep_work_free(w32);
    free(x);
}

/* Central differences on every parameter of a tiny model (float64). */
static void test_gradients(ssm_init_kind init, long N, double dropout)
{
    const size_t B = 3, T = 12;
    ssm_deep_config c = tiny_config(init, 3, 2, N, dropout);
    ssm_deep m;
    ssm_deep_work *w = NULL;
    float x[3 * 12];
    uint8_t y[3];
    random_inputs(x, y, B, T, c.n_classes, 13);
    if (ssm_deep_init(&m, &c, 17, NULL) || ssm_deep_work_new(&m, T, B, SSM_F64, &w, NULL)) {
        CHECK(0, "gradients: set-up");
        return;
    }
    /* move LayerNorm and the outer layers off their symmetric start */
    ssm_rng rng;
    ssm_rng_init(&rng, 1, 2, 3);
    for (size_t i = 0; i < m.n_params; ++i)
        m.theta[i] += 0.1 * ssm_rng_normal(&rng);
    const ssm_deep_pass pass = {42, 7, 0};
    double *grad = malloc(m.n_params * sizeof *grad), *scratch = malloc(m.n_params * sizeof *scratch);
    double loss;
    ssm_error err;
    ssm_status st = ssm_deep_loss_grad(&m, w, x, y, B, &pass, &loss, NULL, grad, NULL, &err);
    CHECK(st == SSM_OK, "gradient computed (%s)", st ? err.message : "ok");
    double worst = 0;
    size_t worst_i = 0;
    for (size_t i = 0; i < m.n_params; ++i) {
        const double keep = m.theta[i], h = 1e-5 * fmax(1, fabs(keep));
        double lp, lm;
        m.theta[i] = keep + h;
        ssm_deep_loss_grad(&m, w, x, y, B, &pass, &lp, NULL, scratch, NULL, NULL);
        m.theta[i] = keep - h;
        ssm_deep_loss_grad(&m, w, x, y, B, &pass, &lm, NULL, scratch, NULL, NULL);
        m.theta[i] = keep;
        const double fd = (lp - lm) / (2 * h), e = fabs(fd - grad[i]) / fmax(1e-3, fabs(fd));
        if (e > worst) {
            worst = e;
            worst_i = i;
        }
    }
    CHECK(worst < 2e-6, "%s N=%ld dropout %.1f: %zu gradients == central differences (worst rel. error %.2g at %zu)",
          ssm_init_name(init), N, dropout, m.n_params, worst, worst_i);
    free(grad);
    free(scratch);
    ssm_deep_work_free(w);
    ssm_deep_free(&m);
}

/* float32 gradients against float64 on a mid-size model. */
static void test_f32_gradient(void)
{
    const size_t B = 4, T = 200;
    ssm_deep_config c = tiny_config(SSM_INIT_S4D_LIN, 16, 2, 16, 0);
    ssm_deep m;
    ssm_deep_work *w32 = NULL, *w64 = NULL;
    float *x = malloc(B * T * sizeof *x);
    uint8_t y[4];
    random_inputs(x, y, B, T, c.n_classes, 21);
    if (ssm_deep_init(&m, &c, 3, NULL) || ssm_deep_work_new(&m, T, B, SSM_F32, &w32, NULL) ||
        ssm_deep_work_new(&m, T, B, SSM_F64, &w64, NULL)) {
        CHECK(0, "float32 gradient: set-up");
        return;
    }
    double *g32 = malloc(m.n_params * sizeof *g32), *g64 = malloc(m.n_params * sizeof *g64), l32, l64;
    ssm_deep_loss_grad(&m, w32, x, y, B, NULL, &l32, NULL, g32, NULL, NULL);
    ssm_deep_loss_grad(&m, w64, x, y, B, NULL, &l64, NULL, g64, NULL, NULL);
    double num = 0, den = 0;
    for (size_t i = 0; i < m.n_params; ++i) {
        num += (g32[i] - g64[i]) * (g32[i] - g64[i]);
        den += g64[i] * g64[i];
    }
    CHECK_REL(l32, l64, 1e-5, "float32 loss == float64 loss");
    CHECK(sqrt(num / den) < 1e-4, "float32 gradient == float64 gradient (relative norm %.2g)", sqrt(num / den));
    free(g32);
    free(g64);
    free(x);
    ssm_deep_work_free(w32);
    ssm_deep_work_free(w64);
    ssm_deep_free(&m);
}

/* The two halves of a batch run on one thread or on two: the same bits
 * (loss, logits and every gradient), float32 and float64, odd batches. */
static void test_threads(ssm_precision prec)
{
    const size_t B = 5, T = 300;
    ssm_deep_config c = tiny_config(SSM_INIT_S4D_INV, 20, 2, 8, 0.2);
    ssm_deep m;
    ssm_deep_work *w1 = NULL, *w2 = NULL;
    float *x = malloc(B * T * sizeof *x);
    uint8_t y[5];
    random_inputs(x, y, B, T, c.n_classes, 31);
    if (ssm_deep_init(&m, &c, 6, NULL) || ssm_deep_work_new(&m, T, B, prec, &w1, NULL) ||
        ssm_deep_work_new(&m, T, B, prec, &w2, NULL)) {
        CHECK(0, "threads: set-up");
        return;
    }
    ssm_deep_work_set_threads(w2, 2);
    double *g1 = malloc(m.n_params * sizeof *g1), *g2 = malloc(m.n_params * sizeof *g2), l1, l2, z1[20], z2[20];
    const ssm_deep_pass pass = {3, 4, 0};
    int same = 1;
    for (size_t count = 1; count <= B; count += 2) {
        ssm_deep_loss_grad(&m, w1, x, y, count, &pass, &l1, NULL, g1, z1, NULL);
        ssm_deep_loss_grad(&m, w2, x, y, count, &pass, &l2, NULL, g2, z2, NULL);
        same &= l1 == l2 && memcmp(g1, g2, m.n_params * sizeof *g1) == 0 &&
                memcmp(z1, z2, count * c.n_classes * sizeof *z1) == 0;
    }
    CHECK(same, "%s, dropout: 1 and 2 threads give the same loss, logits and gradients, bit for bit (batches 1, 3, 5)",
          prec == SSM_F32 ? "float32" : "float64");
    free(g1);
    free(g2);
    free(x);
    ssm_deep_work_free(w1);
    ssm_deep_work_free(w2);
    ssm_deep_free(&m);
}

/* The initial eigenvalues: those of the family (as ssm_dssm_init maps
 * them) at each channel's own dt in [dt_min, dt_max]. */
static void test_init(void)
{
    ssm_deep_config c = tiny_config(SSM_INIT_S4D_INV, 6, 2, 8, 0);
    ssm_deep m;
    ssm_dssm d;
    if (ssm_deep_init(&m, &c, 1, NULL) || ssm_dssm_init(&d, &c.eig, 1, NULL)) {
        CHECK(0, "init: set-up");
        return;
    }
    double complex lam[8];
    int ok = m.n_pair == 4 && m.n_real == 0;
    for (size_t l = 0; l < 2; ++l)
        for (size_t h = 0; h < 6; ++h) {
            const double dt = exp(ssm_deep_param(&m, l, SSM_DEEP_DT)[h]);
            ok &= dt >= c.dt_min && dt <= c.dt_max;
            ssm_deep_eigenvalues(&m, l, h, lam);
            for (size_t k = 0; k < 4; ++k) {
                double complex a = -exp(d.theta[d.offset[SSM_GROUP_A_RE] + k]) + I * d.theta[d.offset[SSM_GROUP_A_IM] + k];
                ok &= cabs(lam[2 * k] - cexp(a * dt)) < 1e-15 && cabs(lam[2 * k + 1] - conj(cexp(a * dt))) < 1e-15;
            }
        }
    CHECK(ok, "init: every channel has the family's eigenvalues at its own dt in [dt_min, dt_max]");
    ssm_dssm_free(&d);
    ssm_deep_free(&m);
}

/* ---- training ------------------------------------------------------------------- */

/* A synthetic 4-class task: a noisy sine of one of four frequencies. */
static void sine_task(float *x, uint8_t *y, size_t n, size_t T, uint64_t seed)
{
    ssm_rng rng;
    ssm_rng_init(&rng, seed, 0, 98);
    for (size_t i = 0; i < n; ++i) {
        y[i] = (uint8_t)(i % 4);
        const double f = 0.02 * (1 + y[i]), phase = 6.283 * ssm_rng_uniform(&rng);
        for (size_t t = 0; t < T; ++t)
            x[i * T + t] = (float)(sin(6.283 * f * (double)t + phase) + 0.5 * ssm_rng_normal(&rng));
    }
}

typedef struct {
    size_t stop_after;
    double first_loss, last_loss, last_val_acc;
    ssm_optim_state snapshot;
    ssm_deep model;
} train_log;

static int log_epoch(void *ctx, const ssm_deep_epoch *rec, const ssm_deep *m, const ssm_optim_state *s)
{
    train_log *log = ctx;
    if (rec->epoch == 1)
        log->first_loss = rec->train_loss;
    log->last_loss = rec->train_loss;
    log->last_val_acc = rec->val_acc;
    if (log->stop_after && rec->epoch == log->stop_after) {
        /* what a checkpoint holds */
        ssm_deep_copy(&log->model, m, NULL);
        ssm_optim_state_new(&log->snapshot, s->n_params, NULL);
        memcpy(log->snapshot.mom, s->mom, s->n_params * sizeof *s->mom);
        memcpy(log->snapshot.vel, s->vel, s->n_params * sizeof *s->vel);
        log->snapshot.step = s->step;
        return 1;
    }
    return 0;
}

static void test_training(void)
{
    const size_t n = 96, nv = 48, T = 64;
    float *x = malloc(n * T * sizeof *x), *xv = malloc(nv * T * sizeof *xv);
    uint8_t *y = malloc(n), *yv = malloc(nv);
    sine_task(x, y, n, T, 1);
    sine_task(xv, yv, nv, T, 2);
    ssm_class_data train = {n, T, x, y}, val = {nv, T, xv, yv};
    ssm_deep_config c = tiny_config(SSM_INIT_S4D_LIN, 8, 2, 8, 0.1);
    ssm_deep_train_options o;
    ssm_deep_train_options_defaults(&o);
    o.epochs = 10;
    o.batch = 16;
    o.optim.lr = 0.02;
    o.seed = 5;
    ssm_deep full, part, frozen, start;
    ssm_optim_state s_full, s_part, s_frozen;
    train_log log_full = {0}, log_part = {0}, log_frozen = {0};
    ssm_error err;
    int ok = ssm_deep_init(&full, &c, 2, NULL) == SSM_OK && ssm_deep_copy(&part, &full, NULL) == SSM_OK &&
             ssm_deep_copy(&frozen, &full, NULL) == SSM_OK && ssm_deep_copy(&start, &full, NULL) == SSM_OK &&
             ssm_optim_state_new(&s_full, full.n_params, NULL) == SSM_OK &&
             ssm_optim_state_new(&s_part, full.n_params, NULL) == SSM_OK &&
             ssm_optim_state_new(&s_frozen, full.n_params, NULL) == SSM_OK;
    CHECK(ok, "training: set-up");
    if (!ok)
        return;
    ssm_status st = ssm_deep_train(&full, &s_full, &o, &train, &val, log_epoch, &log_full, &err);
    CHECK(st == SSM_OK, "training runs (%s)", st ? err.message : "ok");
    CHECK(log_full.last_loss < 0.5 * log_full.first_loss && log_full.last_val_acc > 0.6,
          "training loss falls: %.4f -> %.4f, validation accuracy %.3f (chance 0.25)", log_full.first_loss,
          log_full.last_loss, log_full.last_val_acc);
    /* stop after epoch 2, resume from the snapshot: the same parameters, bit for bit */
    log_part.stop_after = 2;
    ssm_deep_train(&part, &s_part, &o, &train, &val, log_epoch, &log_part, NULL);
    train_log log_rest = {0};
    st = ssm_deep_train(&log_part.model, &log_part.snapshot, &o, &train, &val, log_epoch, &log_rest, &err);
    CHECK(st == SSM_OK && memcmp(log_part.model.theta, full.theta, full.n_params * sizeof *full.theta) == 0,
          "resumed at epoch 3 from an epoch-2 checkpoint == uninterrupted run, bit for bit");
    /* reservoir mode: A and dt stay, the rest moves */
    o.freeze_ssm = 1;
    ssm_deep_train(&frozen, &s_frozen, &o, &train, &val, log_epoch, &log_frozen, NULL);
    int same_ssm = 1, moved_rest = 0;
    for (size_t l = 0; l < c.n_layers; ++l) {
        for (int b = SSM_DEEP_A_RE; b <= SSM_DEEP_DT; ++b)
            same_ssm &= memcmp(ssm_deep_param(&frozen, l, b), ssm_deep_param(&start, l, b),
                               frozen.layer_len[b] * sizeof(double)) == 0;
        moved_rest |= memcmp(ssm_deep_param(&frozen, l, SSM_DEEP_C_RE), ssm_deep_param(&start, l, SSM_DEEP_C_RE),
                             frozen.layer_len[SSM_DEEP_C_RE] * sizeof(double)) != 0;
    }
    CHECK(same_ssm && moved_rest, "frozen eigenvalues: A and dt unchanged, C trained");
    /* no validation set: trains, validation values NaN */
    ssm_class_data none = {0, 0, NULL, NULL};
    train_log log_none = {0};
    ssm_deep_train_options one = o;
    one.epochs = 1;
    ssm_optim_state s_none;
    ssm_deep no_val;
    if (ssm_deep_copy(&no_val, &start, NULL) == SSM_OK && ssm_optim_state_new(&s_none, start.n_params, NULL) == SSM_OK) {
        st = ssm_deep_train(&no_val, &s_none, &one, &train, &none, log_epoch, &log_none, &err);
        CHECK(st == SSM_OK && isnan(log_none.last_val_acc), "an empty validation set is allowed (%s)",
              st ? err.message : "validation accuracy NaN");
        ssm_optim_state_free(&s_none);
        ssm_deep_free(&no_val);
    }
    /* a checkpoint from the middle of an epoch is refused */
    s_frozen.step = 3;
    st = ssm_deep_train(&frozen, &s_frozen, &o, &train, &val, NULL, NULL, &err);
    CHECK(st == SSM_EINVAL && strstr(err.message, "end of an epoch"), "mid-epoch checkpoint refused: %s", err.message);
    ssm_deep_free(&full);
    ssm_deep_free(&part);
    ssm_deep_free(&frozen);
    ssm_deep_free(&start);
    ssm_deep_free(&log_part.model);
    ssm_optim_state_free(&s_full);
    ssm_optim_state_free(&s_part);
    ssm_optim_state_free(&s_frozen);
    ssm_optim_state_free(&log_part.snapshot);
    free(x);
    free(xv);
    free(y);
    free(yv);
}

/* The real task: a few hundred Fashion-MNIST images, three short epochs
 * of a small model; the loss must fall and the validation accuracy rise
 * well above chance (0.1).  Skipped without Debian's dataset-fashion-mnist. */
static void test_fashion_mnist(void)
{
    ssm_fmnist_options fo;
    ssm_fmnist_options_defaults(&fo);
    fo.n_val = 300;
    fo.subset = 600;
    ssm_seqdata tr = {0}, va = {0};
    ssm_error err;
    if (ssm_fmnist_load(NULL, SSM_FMNIST_TRAIN, &fo, &tr, &err) != SSM_OK) {
        printf("skip Fashion-MNIST training: %s\n", err.message);
        return;
    }
    fo.subset = 0;
    ssm_status st = ssm_fmnist_load(NULL, SSM_FMNIST_VAL, &fo, &va, &err);
    CHECK(st == SSM_OK && tr.n == 600 && va.n == 300 && tr.length == 784, "Fashion-MNIST subset loaded (%s)",
          st ? err.message : "600 train, 300 validation, length 784");
    ssm_deep_config c = tiny_config(SSM_INIT_S4D_INV, 16, 2, 16, 0);
    c.n_classes = 10;
    c.dt_min = 0.001;
    c.dt_max = 0.1;
    ssm_deep_train_options o;
    ssm_deep_train_options_defaults(&o);
    o.epochs = 3;
    o.batch = 25;
    ssm_deep m;
    ssm_optim_state s = {0};
    train_log log = {0};
    double loss0 = NAN, acc0 = NAN;
    ssm_class_data train = {tr.n, tr.length, tr.x, tr.label}, val = {va.n, va.length, va.x, va.label};
    if (st == SSM_OK && ssm_deep_init(&m, &c, 4, NULL) == SSM_OK &&
        ssm_optim_state_new(&s, m.n_params, NULL) == SSM_OK) {
        ssm_deep_evaluate(&m, &val, SSM_F32, 50, &loss0, &acc0, NULL);
        st = ssm_deep_train(&m, &s, &o, &train, &val, log_epoch, &log, &err);
        CHECK(st == SSM_OK && log.last_loss < 0.85 * log.first_loss && log.last_val_acc > 0.3 && acc0 < 0.2,
              "sequential Fashion-MNIST, 600 images, 3 epochs: training loss %.3f -> %.3f, validation accuracy "
              "%.3f -> %.3f (chance 0.1)", log.first_loss, log.last_loss, acc0, log.last_val_acc);
        ssm_deep_free(&m);
    }
    ssm_optim_state_free(&s);
    ssm_seqdata_free(&tr);
    ssm_seqdata_free(&va);
}

static void test_errors(void)
{
    ssm_deep_config c = tiny_config(SSM_INIT_S4D_LIN, 4, 1, 4, 0);
    ssm_deep m;
    ssm_error err;
    c.dropout = 1;
    CHECK(ssm_deep_init(&m, &c, 0, &err) == SSM_EINVAL && strcmp(err.param, "dropout") == 0, "%s: %s", err.param,
          err.message);
    c.dropout = 0;
    c.dt_min = 0.5;
    c.dt_max = 0.1;
    CHECK(ssm_deep_init(&m, &c, 0, &err) == SSM_EINVAL && strstr(err.message, "dt"), "%s", err.message);
    c.dt_min = 0.01;
    c.eig.disc = SSM_DISC_BILINEAR;
    CHECK(ssm_deep_init(&m, &c, 0, &err) == SSM_EINVAL && strstr(err.message, "zoh"), "%s", err.message);
    c.eig.disc = SSM_DISC_ZOH;
    ssm_deep_work *w = NULL;
    if (ssm_deep_init(&m, &c, 0, NULL) == SSM_OK && ssm_deep_work_new(&m, 8, 2, SSM_F32, &w, NULL) == SSM_OK) {
        float x[16] = {0};
        uint8_t y[2] = {1, 9};
        double loss;
        CHECK(ssm_deep_loss_grad(&m, w, x, y, 2, NULL, &loss, NULL, NULL, NULL, &err) == SSM_EINVAL &&
                  strstr(err.message, "label 9"),
              "%s", err.message);
        CHECK(ssm_deep_loss_grad(&m, w, x, y, 3, NULL, &loss, NULL, NULL, NULL, &err) == SSM_EINVAL, "%s",
              err.message);
    }
    ssm_deep_work_free(w);
    ssm_deep_free(&m);
}

/* The definition deep_gemm.h promises: each entry one sum over k in
 * order, each step a fused multiply-add (libm's fmaf / fma, correctly
 * rounded), from 0 or from C. */
#define NAIVE_GEMM(REAL)                                                                                     \
    static void naive_gemm_##REAL(size_t M, size_t N, size_t K, const REAL *A, size_t a_row, size_t a_col,   \
                                  const REAL *B, size_t ldb, REAL *C, size_t ldc, int accumulate)            \
    {                                                                                                        \
        for (size_t i = 0; i < M; ++i)                                                                       \
            for (size_t j = 0; j < N; ++j) {                                                                 \
                REAL s = accumulate ? C[i * ldc + j] : 0;                                                    \
                for (size_t k = 0; k < K; ++k)                                                               \
                    s = _Generic(s, float: fmaf, double: fma)(B[k * ldb + j], A[i * a_row + k * a_col], s);  \
                C[i * ldc + j] = s;                                                                          \
            }                                                                                                \
    }
NAIVE_GEMM(float)
NAIVE_GEMM(double)

/* Shapes with every kind of edge (rows not a multiple of the 4-row tile,
 * columns beyond whole tiles and whole vectors, C wider than N), A read
 * as it is and transposed, from 0 and accumulating, on every instruction
 * set: the same bits as the triple loop. */
static void test_gemm(void)
{
    static const ssm_rfft_isa isas[] = {SSM_RFFT_BASELINE, SSM_RFFT_AVX2, SSM_RFFT_AVX512};
    static const char *const names[] = {"baseline", "AVX2", "AVX-512"};
    static const size_t shapes[][3] = {{784, 128, 64}, {128, 64, 784}, {11, 85, 7}, {3, 5, 2}, {9, 67, 130}};
    enum { MAXE = 784 * 784 };
    float *af = malloc(MAXE * sizeof *af), *bf = malloc(MAXE * sizeof *bf), *cf = malloc(MAXE * sizeof *cf),
          *rf = malloc(MAXE * sizeof *rf);
    double *ad = malloc(MAXE * sizeof *ad), *bd = malloc(MAXE * sizeof *bd), *cd = malloc(MAXE * sizeof *cd),
           *rd = malloc(MAXE * sizeof *rd);
    ssm_rng rng;
    ssm_rng_init(&rng, 4, 5, 6);
    for (size_t i = 0; i < MAXE; ++i) {
        ad[i] = ssm_rng_normal(&rng);
        bd[i] = ssm_rng_normal(&rng);
        af[i] = (float)ad[i];
        bf[i] = (float)bd[i];
    }
    for (size_t v = 0; v < 3; ++v) {
        if (!ssm_rfft_force_isa(isas[v])) {
            printf("skip %s: not on this CPU or build\n", names[v]);
            continue;
        }
        int same = 1;
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; ++s)
            for (int trans = 0; trans < 2; ++trans)
                for (int acc = 0; acc < 2; ++acc) {
                    const size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], ldc = N + 3;
                    const size_t a_row = trans ? 1 : K + 1, a_col = trans ? M + 2 : 1, ldb = N + 1;
                    for (size_t i = 0; i < M * ldc; ++i) {
                        cf[i] = rf[i] = (float)(cd[i] = rd[i] = (double)(i % 13) - 6.5);
                    }
                    ssm_deep_gemm_f32(M, N, K, af, a_row, a_col, bf, ldb, cf, ldc, acc);
                    naive_gemm_float(M, N, K, af, a_row, a_col, bf, ldb, rf, ldc, acc);
                    ssm_deep_gemm_f64(M, N, K, ad, a_row, a_col, bd, ldb, cd, ldc, acc);
                    naive_gemm_double(M, N, K, ad, a_row, a_col, bd, ldb, rd, ldc, acc);
                    same = same && memcmp(cf, rf, M * ldc * sizeof *cf) == 0 &&
                           memcmp(cd, rd, M * ldc * sizeof *cd) == 0;
                }
        CHECK(same, "%s GEMM == triple loop, bit for bit (float32 and float64, 5 shapes, A and A^T, C = and C +=)",
              names[v]);
    }
    ssm_rfft_force_isa(SSM_RFFT_AUTO);
    free(af);
    free(bf);
    free(cf);
    free(rf);
    free(ad);
    free(bd);
    free(cd);
    free(rd);
}

int main(void)
{
    test_init();
    test_gemm();
    test_forward(SSM_INIT_S4D_LIN, 8);
    test_forward(SSM_INIT_S4D_REAL, 5);
    test_forward(SSM_INIT_RANDOM, 6);
    test_recurrent_long();
    test_gradients(SSM_INIT_S4D_LIN, 4, 0);
    test_gradients(SSM_INIT_S4D_REAL, 3, 0);
    test_gradients(SSM_INIT_S4D_INV, 4, 0.3);
    test_f32_gradient();
    test_threads(SSM_F32);
    test_threads(SSM_F64);
    test_training();
    test_fashion_mnist();
    test_errors();
    return test_summary("test_deep");
}

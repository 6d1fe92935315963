#include "config.h"

#include "train.h"
#include "param_check.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cblas.h>
/* after complex.h: fftw_complex is then the C99 double complex */
#include <fftw3.h>
#include <lapacke.h>

#include "diagonal.h"
#include "projector.h"
#include "rfft.h"
#include "rng.h"
#include "spectrum.h"
#include "train_lanes.h"

/* Stream ids (see spectrum.c and mf.c for the others). */
enum { STREAM_TRAIN_DATA = 10, STREAM_VAL_DATA = 11, STREAM_TEACHER = 12, STREAM_NOISE = 13,
       STREAM_SHUFFLE = 14 };

/* Complex products in the hot loops: C99's operator* checks for NaN and
 * may call __muldc3; every value here is finite, so the textbook formula
 * is exact enough and several times faster. */
static inline double complex cmul(double complex a, double complex b)
{
    return CMPLX(creal(a) * creal(b) - cimag(a) * cimag(b), creal(a) * cimag(b) + cimag(a) * creal(b));
}

/* Powers are recomputed exactly every so many steps (a running product
 * drifts by one ulp per step). */
#define POWER_RESTART 256

/* ---- tasks and data ------------------------------------------------------------------ */

static const char *const task_names[] = {"delay", "teacher", "multi-delay"};

const char *ssm_task_name(ssm_task_type type)
{
    return (unsigned)type <= SSM_TASK_MULTI_DELAY ? task_names[type] : "?";
}

ssm_status ssm_task_parse(const char *name, ssm_task_type *type, ssm_error *err)
{
    for (int k = 0; k <= SSM_TASK_MULTI_DELAY; ++k)
        if (strcmp(name, task_names[k]) == 0) {
            *type = (ssm_task_type)k;
            return SSM_OK;
        }
    return ssm_fail_param(err, SSM_EINVAL, "task_type", "unknown task '%s' (expected delay, teacher or multi-delay)", name);
}

void ssm_task_defaults(ssm_task *t)
{
    memset(t, 0, sizeof *t);
    t->type = SSM_TASK_DELAY;
    t->length = 1024;
    t->n_delays = 1;
    t->delays[0] = 100;
    t->teacher_memory = 100;
    t->teacher_modes = 8;
    t->noise = 0;
    t->washout = SIZE_MAX;   /* the largest delay */
    t->n_train = 256;
    t->n_val = 64;
    t->seed = 0;
}

size_t ssm_task_outputs(const ssm_task *t)
{
    return t->type == SSM_TASK_MULTI_DELAY ? t->n_delays : 1;
}

size_t ssm_task_washout(const ssm_task *t)
{
    if (t->washout != SIZE_MAX)
        return t->washout;
    size_t w = 0;
    if (t->type != SSM_TASK_TEACHER)
        for (size_t k = 0; k < t->n_delays; ++k)
            w = t->delays[k] > w ? t->delays[k] : w;
    else
        w = (size_t)fmin(ceil(3 * t->teacher_memory), (double)t->length / 2);
    return w;
}

ssm_status ssm_task_validate(const ssm_task *t, ssm_error *err)
{
    ssm_status st;
    if (!SSM_PARAM_IN(t->length, SSM_PARAM_LENGTH))
        return ssm_fail_param(err, SSM_EINVAL, "length", "%zu is outside " SSM_PARAM_MIN_TEXT(SSM_PARAM_LENGTH) ".."
                              SSM_PARAM_MAX_TEXT(SSM_PARAM_LENGTH), t->length);
    if (t->n_delays < 1 || t->n_delays > SSM_MAX_OUTPUTS)
        return ssm_fail_param(err, SSM_EINVAL, "delay", "between 1 and %d delays", SSM_MAX_OUTPUTS);
    /* shorter than the length, hence within the row */
    for (size_t k = 0; k < t->n_delays && t->type != SSM_TASK_TEACHER; ++k)
        if (t->delays[k] >= t->length)
            return ssm_fail_param(err, SSM_EINVAL, "delay", "delay %zu must be shorter than the sequence length %zu",
                            t->delays[k], t->length);
    if (t->type == SSM_TASK_TEACHER) {
        if (!(t->teacher_memory >= SSM_PARAM_MIN(SSM_PARAM_TEACHER_MEMORY) && isfinite(t->teacher_memory)))
            return ssm_fail_param(err, SSM_EINVAL, "teacher_memory", "must be positive, got %g", t->teacher_memory);
        if ((st = SSM_PARAM_CHECK(t->teacher_memory, SSM_PARAM_TEACHER_MEMORY, err)))
            return st;
        if (!SSM_PARAM_IN(t->teacher_modes, SSM_PARAM_TEACHER_MODES))
            return ssm_fail_param(err, SSM_EINVAL, "teacher_modes", "%zu is outside " SSM_PARAM_MIN_TEXT(SSM_PARAM_TEACHER_MODES)
                                  ".." SSM_PARAM_MAX_TEXT(SSM_PARAM_TEACHER_MODES), t->teacher_modes);
    }
    if (!(t->noise >= SSM_PARAM_MIN(SSM_PARAM_NOISE) && isfinite(t->noise)))
        return ssm_fail_param(err, SSM_EINVAL, "noise", "must be non-negative, got %g", t->noise);
    if ((st = SSM_PARAM_CHECK(t->noise, SSM_PARAM_NOISE, err)))
        return st;
    /* shorter than the length, hence within the row */
    if (ssm_task_washout(t) >= t->length)
        return ssm_fail_param(err, SSM_EINVAL, "washout", "%zu leaves no time step of the length %zu for the loss",
                        ssm_task_washout(t), t->length);
    /* one message for the two counts; it names the one at fault */
    const int train_below = t->n_train < SSM_PARAM_MIN(SSM_PARAM_N_TRAIN);
    if (train_below || t->n_val < SSM_PARAM_MIN(SSM_PARAM_N_VAL))
        return ssm_fail_param(err, SSM_EINVAL, train_below ? "n_train" : "n_val",
                              "need at least one training and one validation sequence");   /* both rows start at 1 */
    const int train_beyond = t->n_train > SSM_PARAM_MAX(SSM_PARAM_N_TRAIN);
    if (train_beyond || t->n_val > SSM_PARAM_MAX(SSM_PARAM_N_VAL))
        return ssm_fail_param(err, SSM_EINVAL, train_beyond ? "n_train" : "n_val",
                              "%zu training and %zu validation sequences, the limit is %s", t->n_train, t->n_val,
                              train_beyond ? SSM_PARAM_MAX_TEXT(SSM_PARAM_N_TRAIN) : SSM_PARAM_MAX_TEXT(SSM_PARAM_N_VAL));
    return SSM_OK;
}

/* The teacher: teacher_modes random pairs with |lambda| = exp(-1/memory),
 * random angles and weights, scaled so that the target has unit variance
 * per unit input variance.  Its kernel over the sequence length. */
static ssm_status teacher_kernel(const ssm_task *t, double *kernel, ssm_error *err)
{
    ssm_rng rng;
    double radius = exp(-1.0 / t->teacher_memory), norm = 0;
    ssm_rng_init(&rng, t->seed, 0, STREAM_TEACHER);
    memset(kernel, 0, t->length * sizeof *kernel);
    for (size_t j = 0; j < t->teacher_modes; ++j) {
        double complex l = radius * cexp(I * M_PI * ssm_rng_uniform(&rng));
        double complex c = CMPLX(ssm_rng_normal(&rng), ssm_rng_normal(&rng));
        double complex z = 1.0;
        for (size_t tau = 0; tau < t->length; ++tau) {
            if (tau % POWER_RESTART == 0)
                z = ssm_power(l, tau);
            kernel[tau] += creal(c * z);
            z *= l;
        }
    }
    for (size_t tau = 0; tau < t->length; ++tau)
        norm += kernel[tau] * kernel[tau];
    if (!(norm > 0))
        return ssm_fail(err, SSM_ENUMERIC, "teacher kernel vanishes");
    for (size_t tau = 0; tau < t->length; ++tau)
        kernel[tau] /= sqrt(norm);
    return SSM_OK;
}

ssm_status ssm_dataset_make(const ssm_task *t, int split, ssm_dataset *out, ssm_error *err)
{
    ssm_status st = ssm_task_validate(t, err);
    double *kernel = NULL;
    memset(out, 0, sizeof *out);
    if (st)
        return st;
    const size_t L = t->length, n_out = ssm_task_outputs(t), n = split ? t->n_val : t->n_train;
    out->n_seq = n;
    out->length = L;
    out->n_out = n_out;
    out->u = malloc(n * L * sizeof *out->u);
    out->d = calloc(n * n_out * L, sizeof *out->d);
    if (t->type == SSM_TASK_TEACHER)
        kernel = malloc(L * sizeof *kernel);
    if (!out->u || !out->d || (t->type == SSM_TASK_TEACHER && !kernel)) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory for %zu sequences of length %zu", n, L);
        goto done;
    }
    if (kernel && (st = teacher_kernel(t, kernel, err)))
        goto done;
    for (size_t s = 0; s < n; ++s) {
        ssm_rng rng, noise;
        double *u = out->u + s * L;
        /* each sequence has its own stream: the data do not depend on n */
        ssm_rng_init(&rng, t->seed, s, split ? STREAM_VAL_DATA : STREAM_TRAIN_DATA);
        ssm_rng_init(&noise, t->seed, s, STREAM_NOISE + 16 * (uint64_t)split);
        for (size_t i = 0; i < L; ++i)
            u[i] = 2.0 * ssm_rng_uniform(&rng) - 1.0;
        for (size_t o = 0; o < n_out; ++o) {
            double *d = out->d + (s * n_out + o) * L;
            if (t->type == SSM_TASK_TEACHER) {
                /* direct causal convolution: done once per dataset */
                for (size_t i = 0; i < L; ++i) {
                    double acc = 0;
                    for (size_t tau = 0; tau <= i; ++tau)
                        acc += kernel[tau] * u[i - tau];
                    d[i] = acc;
                }
            } else {
                size_t tau = t->delays[o];
                for (size_t i = tau; i < L; ++i)
                    d[i] = u[i - tau];
            }
            if (t->noise > 0)
                for (size_t i = 0; i < L; ++i)
                    d[i] += t->noise * ssm_rng_normal(&noise);
        }
    }
done:
    free(kernel);
    if (st)
        ssm_dataset_free(out);
    return st;
}

/* The caches ssm_dataset_prepare adds, freed and forgotten. */
static void drop_caches(ssm_dataset *d)
{
    fftw_free(d->uf);
    free(d->uf32);
    free(d->d32);
    d->uf = NULL;
    d->uf32 = NULL;
    d->d32 = NULL;
}

void ssm_dataset_free(ssm_dataset *d)
{
    if (!d)
        return;
    free(d->u);
    free(d->d);
    d->u = d->d = NULL;
    drop_caches(d);
}

/* ---- loss and gradient ------------------------------------------------------------------ */

ssm_status ssm_dataset_prepare(ssm_dataset *d, ssm_precision prec, ssm_error *err)
{
    const size_t L = d->length, nf = L + 1, n = 2 * L, rows = d->n_seq ? d->n_seq : 1;
    ssm_status st = SSM_OK;
    drop_caches(d);
    double *buf = fftw_malloc(n * sizeof *buf);
    fftw_complex *spec = fftw_malloc(nf * sizeof *spec);
    fftw_plan plan = buf && spec ? fftw_plan_dft_r2c_1d((int)n, buf, spec, FFTW_ESTIMATE) : NULL;
    /* the passes transform at ssm_rfft_good_length(2 L): spectra of length
     * 2 L are of use to them only when that is 2 L itself */
    const int spectra = ssm_rfft_good_length(n) == n;
    if (prec == SSM_F32) {
        d->uf32 = spectra ? malloc(rows * nf * sizeof *d->uf32) : NULL;
        d->d32 = malloc(rows * d->n_out * L * sizeof *d->d32);
    } else if (spectra) {
        d->uf = fftw_malloc(rows * nf * sizeof *d->uf);
    }
    if (!plan || (spectra && !d->uf && !d->uf32) || (prec == SSM_F32 && !d->d32)) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory for the input spectra");
        drop_caches(d);
        goto done;
    }
    for (size_t s = 0; s < d->n_seq && spectra; ++s) {
        memcpy(buf, d->u + s * L, L * sizeof *buf);
        memset(buf + L, 0, L * sizeof *buf);
        fftw_execute(plan);
        for (size_t f = 0; f < nf; ++f) {
            if (prec == SSM_F32)
                d->uf32[s * nf + f] = (float complex)spec[f];
            else
                d->uf[s * nf + f] = spec[f];
        }
    }
    if (prec == SSM_F32)
        for (size_t i = 0; i < d->n_seq * d->n_out * L; ++i)
            d->d32[i] = (float)d->d[i];
done:
    if (plan)
        fftw_destroy_plan(plan);
    fftw_free(buf);
    fftw_free(spec);
    return st;
}

/* The passes themselves are train_lanes.c's, one per precision; the
 * workspace holds the one of its precision. */
struct ssm_grad_work {
    size_t length, batch;
    train_work_f32 *f32;
    train_work_f64 *f64;
};

ssm_status ssm_grad_work_new(const ssm_dssm *m, size_t length, size_t batch, ssm_precision prec,
                             ssm_grad_work **out, ssm_error *err)
{
    ssm_grad_work *w = calloc(1, sizeof *w);
    *out = NULL;
    if (!w)
        return ssm_fail(err, SSM_ENOMEM, "out of memory");
    w->length = length;
    w->batch = batch;
    const ssm_status st = prec == SSM_F32 ? train_work_new_f32(m, length, &w->f32, err)
                                          : train_work_new_f64(m, length, &w->f64, err);
    if (st) {
        free(w);
        return st;
    }
    *out = w;
    return SSM_OK;
}

void ssm_grad_work_free(ssm_grad_work *w)
{
    if (!w)
        return;
    train_work_free_f32(w->f32);
    train_work_free_f64(w->f64);
    free(w);
}

void ssm_train_mode_gradients(const ssm_dssm *m, const double complex *lambda, const double complex *bbars,
                              const double *s0r, const double *s0i, const double *s1r, const double *s1i,
                              double *grad)
{
    const size_t no = m->n_out, nm = ssm_dssm_n_modes(m);
    const double dt = ssm_dssm_dt(m);
    double ddt = 0;
    for (size_t k = 0; k < nm; ++k) {
        const double complex l = lambda[k], bbar = bbars[k];
        double complex s0[SSM_MAX_OUTPUTS], s1[SSM_MAX_OUTPUTS];
        for (size_t o = 0; o < no; ++o) {
            s0[o] = CMPLX(s0r[o * nm + k], s0i[o * nm + k]);
            s1[o] = CMPLX(s1r[o * nm + k], s1i[o * nm + k]);
        }
        /* K_o = Re(q_o lambda^tau), q_o = conj(w_o) bbar:
         * delta_q = conj(s0), delta_lambda = sum_o conj(q_o s1_o) */
        double complex d_lambda = 0, d_bbar = 0;
        for (size_t o = 0; o < no; ++o) {
            double complex wo = ssm_dssm_readout(m, o, k), q = conj(wo) * bbar, dq = conj(s0[o]);
            d_lambda += conj(q * s1[o]);
            d_bbar += wo * dq;
            double *c = grad + m->offset[SSM_GROUP_C] + o * m->n_features;
            if (k < m->n_real) {
                c[k] += creal(dq) * creal(bbar);
            } else {
                size_t f = m->n_real + 2 * (k - m->n_real);
                c[f] += creal(dq) * creal(bbar) + cimag(dq) * cimag(bbar);
                c[f + 1] += creal(dq) * cimag(bbar) - cimag(dq) * creal(bbar);
            }
        }
        if (k < m->n_real) {   /* a real mode sees only real parts */
            d_lambda = creal(d_lambda);
            d_bbar = creal(d_bbar);
        }
        double complex a, b;
        ssm_dssm_mode(m, k, &a, &b);
        double complex dl_da, dl_ddt, db_da, db_ddt, phi;
        if (m->disc == SSM_DISC_BILINEAR) {
            double complex den = 1.0 - 0.5 * dt * a;
            dl_da = dt / (den * den);
            dl_ddt = a / (den * den);
            phi = dt / den;
            db_da = 0.5 * dt * dt / (den * den) * b;
            db_ddt = b / (den * den);
        } else {
            phi = (l - 1.0) / a;
            dl_da = dt * l;
            dl_ddt = a * l;
            db_da = (dt * l * a - (l - 1.0)) / (a * a) * b;
            db_ddt = l * b;
        }
        double complex d_a = conj(dl_da) * d_lambda + conj(db_da) * d_bbar;
        double complex d_b = conj(phi) * d_bbar;
        ddt += creal(conj(d_lambda) * dl_ddt) + creal(conj(d_bbar) * db_ddt);
        grad[m->offset[SSM_GROUP_A_RE] + k] += creal(d_a) * creal(a);   /* Re a = -exp(p_re) */
        if (k < m->n_real) {
            grad[m->offset[SSM_GROUP_B] + k] += creal(d_b);
        } else {
            size_t p = k - m->n_real, f = m->n_real + 2 * p;
            grad[m->offset[SSM_GROUP_A_IM] + p] += cimag(d_a);
            grad[m->offset[SSM_GROUP_B] + f] += creal(d_b);
            grad[m->offset[SSM_GROUP_B] + f + 1] += cimag(d_b);
        }
    }
    grad[m->offset[SSM_GROUP_DT]] += ddt * dt;   /* p_dt = log dt */
}

ssm_status ssm_loss_grad(const ssm_dssm *m, const ssm_dataset *data, size_t first, size_t count,
                         size_t washout, ssm_grad_work *w, double *loss, double *grad, ssm_error *err)
{
    if (data->length != w->length || count > w->batch || first + count > data->n_seq || m->n_out != data->n_out)
        return ssm_fail(err, SSM_EINVAL, "internal: batch does not fit the workspace");
    if (w->f32)
        return train_loss_grad_f32(m, data, first, count, washout, w->f32, loss, grad, err);
    return train_loss_grad_f64(m, data, first, count, washout, w->f64, loss, grad, err);
}

/* ---- training ---------------------------------------------------------------------------- */

void ssm_train_options_defaults(ssm_train_options *o)
{
    ssm_optim_defaults(&o->optim);
    o->epochs = 50;
    o->batch = 32;
    o->frozen = 0;
    o->threshold = 0.1;
    o->precision = SSM_F64;
}

static int is_ssm_group(int g)
{
    return g == SSM_GROUP_A_RE || g == SSM_GROUP_A_IM || g == SSM_GROUP_DT;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static ssm_status mean_loss(const ssm_dssm *m, const ssm_dataset *data, size_t washout, ssm_grad_work *w,
                            double *out, ssm_error *err)
{
    double sum = 0;
    for (size_t first = 0; first < data->n_seq; first += w->batch) {
        size_t count = data->n_seq - first < w->batch ? data->n_seq - first : w->batch;
        double loss = 0;
        ssm_status st = ssm_loss_grad(m, data, first, count, washout, w, &loss, NULL, err);
        if (st)
            return st;
        sum += loss * (double)count;
    }
    *out = sum / (double)data->n_seq;
    return SSM_OK;
}

ssm_status ssm_train_options_validate(const ssm_train_options *o, ssm_error *err)
{
    /* one message for the two counts; it names the one at fault */
    const int batch_below = o->batch < SSM_PARAM_MIN(SSM_PARAM_BATCH), epochs_beyond = o->epochs > SSM_PARAM_MAX(SSM_PARAM_EPOCHS);
    ssm_status st;
    if (batch_below || o->epochs < SSM_PARAM_MIN(SSM_PARAM_EPOCHS))
        return ssm_fail_param(err, SSM_EINVAL, batch_below ? "batch" : "epochs", "batch size and epochs must be at least "
                              SSM_PARAM_MIN_TEXT(SSM_PARAM_BATCH));   /* both rows start at 1 */
    if (epochs_beyond || o->batch > SSM_PARAM_MAX(SSM_PARAM_BATCH))
        return ssm_fail_param(err, SSM_EINVAL, epochs_beyond ? "epochs" : "batch",
                              "epochs and batch size %zu and %zu, the limit is %s", o->epochs, o->batch,
                              epochs_beyond ? SSM_PARAM_MAX_TEXT(SSM_PARAM_EPOCHS) : SSM_PARAM_MAX_TEXT(SSM_PARAM_BATCH));
    if ((st = SSM_PARAM_CHECK(o->threshold, SSM_PARAM_THRESHOLD, err)))
        return st;
    return ssm_optim_validate(&o->optim, err);
}

/* A dataset of `batch` sequences for the arrays of `data` a pass reads:
 * the inputs only when no spectra are cached (D enters the kernel, so a
 * pass reads the inputs only to transform them), the float64 targets only
 * when there is no float32 copy (the float32 pass reads that). */
static ssm_status batch_view_new(const ssm_dataset *data, size_t batch, ssm_dataset *view, ssm_error *err)
{
    const size_t L = data->length, nf = L + 1, no = data->n_out;
    *view = (ssm_dataset){.n_seq = batch, .length = L, .n_out = no};
    int ok = 1;
    if (!data->uf && !data->uf32)
        ok = ok && (view->u = malloc(batch * L * sizeof *view->u));
    if (!data->d32)
        ok = ok && (view->d = malloc(batch * no * L * sizeof *view->d));
    if (data->uf)
        ok = ok && (view->uf = fftw_malloc(batch * nf * sizeof *view->uf));
    if (data->uf32)
        ok = ok && (view->uf32 = malloc(batch * nf * sizeof *view->uf32));
    if (data->d32)
        ok = ok && (view->d32 = malloc(batch * no * L * sizeof *view->d32));
    if (!ok) {
        ssm_dataset_free(view);
        return ssm_fail(err, SSM_ENOMEM, "out of memory for a batch of %zu sequences", batch);
    }
    return SSM_OK;
}

/* Sequence `from` of data into row `to` of view, in every array view holds. */
static void copy_sequence(ssm_dataset *view, size_t to, const ssm_dataset *data, size_t from)
{
    const size_t L = data->length, nf = L + 1, no = data->n_out;
    if (view->u)
        memcpy(view->u + to * L, data->u + from * L, L * sizeof *view->u);
    if (view->d)
        memcpy(view->d + to * no * L, data->d + from * no * L, no * L * sizeof *view->d);
    if (view->uf)
        memcpy(view->uf + to * nf, data->uf + from * nf, nf * sizeof *view->uf);
    if (view->uf32)
        memcpy(view->uf32 + to * nf, data->uf32 + from * nf, nf * sizeof *view->uf32);
    if (view->d32)
        memcpy(view->d32 + to * no * L, data->d32 + from * no * L, no * L * sizeof *view->d32);
}

ssm_status ssm_train(ssm_dssm *m, const ssm_task *task, const ssm_train_options *opt, ssm_epoch_callback cb,
                     void *ctx, ssm_train_summary *summary, ssm_error *err)
{
    ssm_dataset train = {0}, val = {0};
    ssm_grad_work *w = NULL;
    double *grad = NULL;
    ssm_optim_state state = {0};
    size_t *order = NULL;
    const size_t washout = ssm_task_washout(task);
    ssm_status st = ssm_task_validate(task, err);
    memset(summary, 0, sizeof *summary);
    summary->epochs_to_threshold = -1;
    if (st)
        return st;
    if ((st = ssm_train_options_validate(opt, err)))
        return st;
    if (ssm_task_outputs(task) != m->n_out)
        return ssm_fail(err, SSM_EINVAL, "the model has %zu outputs, the task %zu", m->n_out,
                        ssm_task_outputs(task));
    const size_t batch = opt->batch < task->n_train ? opt->batch : task->n_train;
    st = ssm_dataset_make(task, 0, &train, err);
    if (st == SSM_OK)
        st = ssm_dataset_make(task, 1, &val, err);
    /* both passes reuse the inputs' spectra */
    if (st == SSM_OK)
        st = ssm_dataset_prepare(&train, opt->precision, err);
    if (st == SSM_OK)
        st = ssm_dataset_prepare(&val, opt->precision, err);
    if (st == SSM_OK)
        st = ssm_grad_work_new(m, task->length, batch > 64 ? batch : 64, opt->precision, &w, err);
    if (st)
        goto done;
    grad = calloc(m->n_params, sizeof *grad);
    order = malloc(train.n_seq * sizeof *order);
    if ((st = ssm_optim_state_new(&state, m->n_params, err)))
        goto done;
    if (!grad || !order) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory for the optimizer");
        goto done;
    }
    double t0 = seconds_now();
    if ((st = mean_loss(m, &val, washout, w, &summary->init_val_loss, err)))
        goto done;
    const size_t steps_per_epoch = (train.n_seq + batch - 1) / batch, total_steps = steps_per_epoch * opt->epochs;
    size_t step = 0;
    ssm_param_block blocks[SSM_GROUP_COUNT];
    for (int g = 0; g < SSM_GROUP_COUNT; ++g)
        blocks[g] = (ssm_param_block){m->offset[g], m->length[g], is_ssm_group(g), !!(opt->frozen & (1u << g))};
    ssm_rng shuffle;
    ssm_rng_init(&shuffle, task->seed, 0, STREAM_SHUFFLE);
    for (size_t i = 0; i < train.n_seq; ++i)
        order[i] = i;
    /* batches are gathered in shuffled order into a copy */
    ssm_dataset view;
    if ((st = batch_view_new(&train, batch, &view, err)))
        goto done;
    for (size_t epoch = 1; epoch <= opt->epochs; ++epoch) {
        double epoch_loss = 0;
        ssm_rng_shuffle(&shuffle, order, train.n_seq);
        for (size_t first = 0; first < train.n_seq; first += batch, ++step) {
            size_t count = train.n_seq - first < batch ? train.n_seq - first : batch;
            for (size_t s = 0; s < count; ++s)
                copy_sequence(&view, s, &train, order[first + s]);
            double loss;
            if ((st = ssm_loss_grad(m, &view, 0, count, washout, w, &loss, grad, err)))
                break;
            epoch_loss += loss * (double)count;
            ssm_optim_step(&opt->optim, blocks, SSM_GROUP_COUNT,
                           ssm_lr_schedule((double)step / (double)total_steps, opt->optim.warmup), m->theta, grad,
                           &state);
        }
        if (st)
            break;
        ssm_epoch_record rec = {epoch, epoch_loss / (double)train.n_seq, 0, 0};
        if ((st = mean_loss(m, &val, washout, w, &rec.val_loss, err)))
            break;
        rec.seconds = seconds_now() - t0;
        summary->epochs_run = epoch;
        summary->final_val_loss = rec.val_loss;
        summary->final_train_loss = rec.train_loss;
        if (summary->epochs_to_threshold < 0 && rec.val_loss <= opt->threshold)
            summary->epochs_to_threshold = (long)epoch;
        if (cb && cb(ctx, &rec, m))
            break;
    }
    summary->seconds = seconds_now() - t0;
    ssm_dataset_free(&view);
done:
    ssm_dataset_free(&train);
    ssm_dataset_free(&val);
    ssm_grad_work_free(w);
    free(grad);
    ssm_optim_state_free(&state);
    free(order);
    return st;
}

/* ---- state features (ridge readout, teacher information) ---------------------------------------- */

/* Runs the recurrence over u and writes the features of every step:
 * z[i * ldz + f], f < n_features. */
static void simulate_features(const ssm_dssm *m, const double complex *lambda, const double complex *bbar,
                              const double *u, size_t L, double *z, size_t ldz)
{
    const size_t nm = ssm_dssm_n_modes(m);
    double complex *x = calloc(nm ? nm : 1, sizeof *x);
    if (!x)
        return;
    for (size_t i = 0; i < L; ++i) {
        double *row = z + i * ldz;
        for (size_t k = 0; k < nm; ++k) {
            x[k] = lambda[k] * x[k] + bbar[k] * u[i];
            if (k < m->n_real) {
                row[k] = creal(x[k]);
            } else {
                size_t f = m->n_real + 2 * (k - m->n_real);
                row[f] = creal(x[k]);
                row[f + 1] = cimag(x[k]);
            }
        }
    }
    free(x);
}

ssm_status ssm_ridge_readout(ssm_dssm *m, const ssm_task *task, double ridge, ssm_error *err)
{
    ssm_dataset train = {0};
    const size_t nf = m->n_features, p = nf + 2, no = m->n_out, washout = ssm_task_washout(task);
    double complex *lambda = malloc(ssm_dssm_n_modes(m) * sizeof *lambda), *bbar = malloc(ssm_dssm_n_modes(m) * sizeof *bbar);
    double *z = NULL, *gram = calloc(p * p, sizeof *gram), *rhs = calloc(p * no, sizeof *rhs);
    ssm_status st = ssm_dataset_make(task, 0, &train, err);
    if (st)
        goto done;
    z = malloc(train.length * p * sizeof *z);
    if (!lambda || !bbar || !z || !gram || !rhs) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory for the ridge readout");
        goto done;
    }
    if (!(ridge >= 0 && isfinite(ridge))) {
        st = ssm_fail_param(err, SSM_EINVAL, "ridge", "must be non-negative, got %g", ridge);
        goto done;
    }
    ssm_dssm_discretize(m, lambda, bbar);
    /* regressors: the features, the input (D) and 1 (bias) */
    for (size_t s = 0; s < train.n_seq; ++s) {
        const double *u = train.u + s * train.length;
        simulate_features(m, lambda, bbar, u, train.length, z, p);
        for (size_t i = 0; i < train.length; ++i) {
            z[i * p + nf] = u[i];
            z[i * p + nf + 1] = 1.0;
        }
        size_t rows = train.length - washout;
        const double *zs = z + washout * p;
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)p, (int)rows, 1.0, zs, (int)p, 1.0, gram, (int)p);
        for (size_t o = 0; o < no; ++o)
            cblas_dgemv(CblasRowMajor, CblasTrans, (int)rows, (int)p, 1.0, zs, (int)p,
                        train.d + (s * no + o) * train.length + washout, 1, 1.0, rhs + o, (int)no);
    }
    for (size_t i = 0; i < p; ++i)
        gram[i * p + i] += ridge * (double)train.n_seq * (double)(train.length - washout);
    /* a symmetric solve with pivoting: the Gram of S4D features is close to
     * singular, and ridge = 0 must still give the least-squares answer */
    lapack_int rank;
    double *sv = malloc(p * sizeof *sv);
    if (!sv) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < p; ++i)
        for (size_t j = 0; j < i; ++j)
            gram[i * p + j] = gram[j * p + i];
    lapack_int info = LAPACKE_dgelsd(LAPACK_ROW_MAJOR, (lapack_int)p, (lapack_int)p, (lapack_int)no, gram,
                                     (lapack_int)p, rhs, (lapack_int)no, sv, 1e-13, &rank);
    free(sv);
    if (info != 0) {
        st = ssm_fail(err, SSM_ENUMERIC, "ridge regression failed (dgelsd info %d)", (int)info);
        goto done;
    }
    for (size_t o = 0; o < no; ++o) {
        for (size_t f = 0; f < nf; ++f)
            m->theta[m->offset[SSM_GROUP_C] + o * nf + f] = rhs[f * no + o];
        m->theta[m->offset[SSM_GROUP_D] + o] = rhs[nf * no + o];
        m->theta[m->offset[SSM_GROUP_BIAS] + o] = rhs[(nf + 1) * no + o];
    }
done:
    ssm_dataset_free(&train);
    free(lambda);
    free(bbar);
    free(z);
    free(gram);
    free(rhs);
    return st;
}

/* Closed-form covariances over an infinite i.i.d. input (variance s2):
 *   Sigma_x = s2 sum_tau r_tau r_tau^T,  <d x> = s2 sum_tau k_tau r_tau,
 * with r_tau the features' impulse responses (bbar included) and k the
 * target kernel; the information is <d x>^T Sigma_x^+ <d x> / <d^2>. */
ssm_status ssm_teacher_information(const ssm_dssm *m, const ssm_task *task, size_t out, double *info,
                                   ssm_error *err)
{
    const size_t nf = m->n_features, nm = ssm_dssm_n_modes(m);
    ssm_projector proj = {0};
    double complex *lambda = malloc(nm * sizeof *lambda), *bbar = malloc(nm * sizeof *bbar);
    double *gram = malloc(nf * nf * sizeof *gram), *c = calloc(nf, sizeof *c), *kernel = NULL;
    ssm_status st = SSM_OK;
    if (!lambda || !bbar || !gram || !c) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory");
        goto done;
    }
    if (out >= m->n_out || out >= ssm_task_outputs(task)) {
        st = ssm_fail(err, SSM_EINVAL, "output %zu does not exist", out);
        goto done;
    }
    ssm_dssm_discretize(m, lambda, bbar);
    /* Gram of the scaled features: each mode's response is bbar lambda^tau,
     * so the real form of ssm_diagonal applies with lambda and a feature
     * rotation by bbar; compute it directly */
    for (size_t a = 0; a < nm; ++a)
        for (size_t b = 0; b < nm; ++b) {
            double complex g1 = bbar[a] * bbar[b] / (1.0 - lambda[a] * lambda[b]);
            double complex g2 = bbar[a] * conj(bbar[b]) / (1.0 - lambda[a] * conj(lambda[b]));
            size_t ia = a < m->n_real ? a : m->n_real + 2 * (a - m->n_real);
            size_t ib = b < m->n_real ? b : m->n_real + 2 * (b - m->n_real);
            int pa = a >= m->n_real, pb = b >= m->n_real;
            gram[ia * nf + ib] = 0.5 * creal(g1 + g2);
            if (pb)
                gram[ia * nf + ib + 1] = 0.5 * cimag(g1 - g2);
            if (pa)
                gram[(ia + 1) * nf + ib] = 0.5 * cimag(g1 + g2);
            if (pa && pb)
                gram[(ia + 1) * nf + ib + 1] = 0.5 * creal(g2 - g1);
        }
    double d2 = 0;
    if (task->type == SSM_TASK_TEACHER) {
        kernel = malloc(task->length * sizeof *kernel);
        if (!kernel) {
            st = ssm_fail(err, SSM_ENOMEM, "out of memory");
            goto done;
        }
        if ((st = teacher_kernel(task, kernel, err)))
            goto done;
    }
    size_t n_tau = task->type == SSM_TASK_TEACHER ? task->length : 1;
    for (size_t j = 0; j < n_tau; ++j) {
        size_t tau = task->type == SSM_TASK_TEACHER ? j : task->delays[out];
        double kt = task->type == SSM_TASK_TEACHER ? kernel[j] : 1.0;
        d2 += kt * kt;
        for (size_t k = 0; k < nm; ++k) {
            double complex r = bbar[k] * ssm_power(lambda[k], tau);
            if (k < m->n_real) {
                c[k] += kt * creal(r);
            } else {
                size_t f = m->n_real + 2 * (k - m->n_real);
                c[f] += kt * creal(r);
                c[f + 1] += kt * cimag(r);
            }
        }
    }
    st = ssm_projector_build(nf, gram, sqrt(10.0 * (double)nf * DBL_EPSILON), &proj, err);
    if (st)
        goto done;
    double *wk = malloc((proj.rank ? proj.rank : 1) * sizeof *wk);
    if (!wk) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory");
        goto done;
    }
    ssm_projector_norms(&proj, 1, c, 1, 1.0 / d2, info, wk);
    free(wk);
done:
    ssm_projector_free(&proj);
    free(lambda);
    free(bbar);
    free(gram);
    free(c);
    free(kernel);
    return st;
}

/* The training engine: exact gradients against central differences for
 * every parameter group and task, the FFT forward pass against the
 * step-by-step recurrence, the teacher information against MF(tau*), the
 * ridge readout against the memory function, and training itself. */
#include "config.h"

#include <float.h>
#include <string.h>

#include "ssm/mf.h"
#include "ssm/rng.h"
#include "ssm/train.h"
#include "testutil.h"

static ssm_model model_of(ssm_init_kind init, long n, double dt, ssm_disc disc)
{
    ssm_model m;
    ssm_model_defaults(&m);
    m.init = init;
    m.n = n;
    m.dt = dt;
    m.disc = disc;
    return m;
}

static ssm_task small_task(ssm_task_type type)
{
    ssm_task t;
    ssm_task_defaults(&t);
    t.type = type;
    t.length = 96;
    t.delays[0] = 7;
    if (type == SSM_TASK_MULTI_DELAY) {
        t.n_delays = 3;
        t.delays[1] = 2;
        t.delays[2] = 15;
    }
    t.teacher_memory = 10;
    t.teacher_modes = 3;
    t.noise = type == SSM_TASK_TEACHER ? 0.1 : 0;
    t.n_train = 5;
    t.n_val = 2;
    t.seed = 4;
    return t;
}

/* Non-trivial parameters everywhere, so every gradient is non-zero. */
static void randomize(ssm_dssm *m, uint64_t seed)
{
    ssm_rng r;
    ssm_rng_init(&r, seed, 0, 99);
    for (int g = SSM_GROUP_B; g < SSM_GROUP_COUNT; ++g)
        for (size_t i = 0; i < m->length[g]; ++i)
            m->theta[m->offset[g] + i] += 0.5 * ssm_rng_normal(&r);
}

static double loss_at(const ssm_dssm *m, const ssm_dataset *d, size_t washout, ssm_grad_work *w)
{
    double loss;
    ssm_error err;
    ssm_loss_grad(m, d, 0, d->n_seq, washout, w, &loss, NULL, &err);
    return loss;
}

/* Every gradient of the float64 pass against fourth-order central
 * differences of the float64 loss; the float32 pass against both. */
static void gradient_check(const char *name, ssm_model model, ssm_task task)
{
    ssm_dssm m;
    ssm_dataset data;
    ssm_grad_work *w, *w32;
    ssm_error err;
    size_t washout = 10;
    if (ssm_dssm_init(&m, &model, ssm_task_outputs(&task), &err) != SSM_OK ||
        ssm_dataset_make(&task, 0, &data, &err) != SSM_OK ||
        ssm_grad_work_new(&m, task.length, data.n_seq, SSM_F64, &w, &err) != SSM_OK ||
        ssm_grad_work_new(&m, task.length, data.n_seq, SSM_F32, &w32, &err) != SSM_OK) {
        CHECK(0, "%s: set-up: %s", name, err.message);
        return;
    }
    randomize(&m, 3);
    double *grad = malloc(m.n_params * sizeof *grad), *g32 = malloc(m.n_params * sizeof *g32), loss, l32;
    CHECK(ssm_loss_grad(&m, &data, 0, data.n_seq, washout, w, &loss, grad, &err) == SSM_OK, "%s: loss", name);
    const ssm_status st32 = ssm_loss_grad(&m, &data, 0, data.n_seq, washout, w32, &l32, g32, &err);
    CHECK(st32 == SSM_OK && fabs(l32 - loss) <= 1e-6 * loss, "%s: float32 loss %.10g == float64 loss %.10g to 1e-6",
          name, l32, loss);
    for (int g = 0; g < SSM_GROUP_COUNT; ++g) {
        if (m.length[g] == 0)
            continue;
        double diff2 = 0, norm2 = 0, diff32 = 0, diff32_64 = 0;
        for (size_t i = m.offset[g]; i < m.offset[g] + m.length[g]; ++i) {
            double keep = m.theta[i], h = 1e-5 * fmax(1.0, fabs(keep));
            /* fourth-order central difference: truncation ~h^4 */
            double f[4];
            const double steps[4] = {-2, -1, 1, 2};
            for (int s = 0; s < 4; ++s) {
                m.theta[i] = keep + steps[s] * h;
                f[s] = loss_at(&m, &data, washout, w);
            }
            m.theta[i] = keep;
            double fd = (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h);
            diff2 += (grad[i] - fd) * (grad[i] - fd);
            diff32 += (g32[i] - fd) * (g32[i] - fd);
            diff32_64 += (g32[i] - grad[i]) * (g32[i] - grad[i]);
            norm2 += grad[i] * grad[i];
        }
        const double norm = fmax(sqrt(norm2), 1e-300), rel = sqrt(diff2) / norm;
        CHECK(rel < 1e-6 && norm2 > 0, "%s: group %s gradient matches finite differences (rel %.2g, |g| %.2g)",
              name, ssm_group_name(g), rel, sqrt(norm2));
        CHECK(sqrt(diff32) / norm < 1e-4 && sqrt(diff32_64) / norm < 1e-4,
              "%s: group %s float32 gradient matches finite differences (rel %.2g) and float64 (rel %.2g)", name,
              ssm_group_name(g), sqrt(diff32) / norm, sqrt(diff32_64) / norm);
    }
    free(grad);
    free(g32);
    ssm_grad_work_free(w);
    ssm_grad_work_free(w32);
    ssm_dataset_free(&data);
    ssm_dssm_free(&m);
}

/* The float32 pass at the benchmark's length, with a batch that leaves
 * its second block of 16 lanes partly empty and a batch of one. */
static void float32_long(void)
{
    ssm_model model = model_of(SSM_INIT_S4D_LIN, 64, 0.01, SSM_DISC_ZOH);
    ssm_task task = small_task(SSM_TASK_MULTI_DELAY);
    task.length = 4096;
    task.n_train = 21;
    ssm_dssm m;
    ssm_dataset data;
    ssm_grad_work *w64 = NULL, *w32 = NULL;
    ssm_error err;
    if (ssm_dssm_init(&m, &model, ssm_task_outputs(&task), &err) || ssm_dataset_make(&task, 0, &data, &err) ||
        ssm_grad_work_new(&m, task.length, task.n_train, SSM_F64, &w64, &err) ||
        ssm_grad_work_new(&m, task.length, task.n_train, SSM_F32, &w32, &err)) {
        CHECK(0, "float32 long: set-up: %s", err.message);
        return;
    }
    randomize(&m, 8);
    double *g64 = malloc(m.n_params * sizeof *g64), *g32 = malloc(m.n_params * sizeof *g32);
    double *g32_cached = malloc(m.n_params * sizeof *g32_cached), l32 = NAN, l32_cached = NAN;
    const size_t washout = ssm_task_washout(&task), counts[4] = {21, 1, 21, 21};
    static const char *const source[4] = {"", "", ", cached float64 input spectra", ", cached float32 spectra and targets"};
    for (size_t c = 0; c < 4; ++c) {
        if (c >= 2)   /* from the spectra (and targets) the dataset caches, as ssm_train runs it */
            ssm_dataset_prepare(&data, c == 2 ? SSM_F64 : SSM_F32, &err);
        double l64, num = 0, den = 0;
        ssm_loss_grad(&m, &data, 0, counts[c], washout, w64, &l64, g64, &err);
        ssm_loss_grad(&m, &data, 0, counts[c], washout, w32, &l32, g32, &err);
        for (size_t i = 0; i < m.n_params; ++i) {
            num += (g32[i] - g64[i]) * (g32[i] - g64[i]);
            den += g64[i] * g64[i];
        }
        CHECK(fabs(l32 - l64) <= 1e-6 * l64 && sqrt(num / den) < 1e-4,
              "float32, L = 4096, N = 64, 3 outputs, batch %zu%s: loss rel %.2g, gradient rel %.2g (float64 reference)",
              counts[c], source[c], fabs(l32 - l64) / l64, sqrt(num / den));
        if (c == 2) {
            l32_cached = l32;
            memcpy(g32_cached, g32, m.n_params * sizeof *g32);
        }
    }
    /* the float32 caches hold the float64 ones rounded as the pass rounds them */
    CHECK(l32 == l32_cached && memcmp(g32, g32_cached, m.n_params * sizeof *g32) == 0,
          "float32 pass from float32 caches == from float64 caches, bit for bit");
    free(g32_cached);
    free(g64);
    free(g32);
    ssm_grad_work_free(w64);
    ssm_grad_work_free(w32);
    ssm_dataset_free(&data);
    ssm_dssm_free(&m);
}

/* y from the FFT kernel path (float64 and float32) against the recurrence
 * x = lambda x + bbar u */
static void forward_matches_recurrence(void)
{
    ssm_model model = model_of(SSM_INIT_S4D_INV, 12, 0.05, SSM_DISC_ZOH);
    ssm_task task = small_task(SSM_TASK_DELAY);
    ssm_dssm m;
    ssm_dataset data;
    ssm_grad_work *w;
    ssm_error err;
    task.length = 300;
    ssm_dssm_init(&m, &model, 1, &err);
    randomize(&m, 5);
    ssm_dataset_make(&task, 0, &data, &err);
    ssm_grad_work_new(&m, task.length, 1, SSM_F64, &w, &err);
    /* loss over all steps of one sequence, so it determines sum (y - d)^2 */
    double loss;
    ssm_loss_grad(&m, &data, 0, 1, 0, w, &loss, NULL, &err);
    size_t nm = m.n_real + m.n_pair;
    double complex *lambda = malloc(nm * sizeof *lambda), *bbar = malloc(nm * sizeof *bbar), *x = calloc(nm, sizeof *x);
    ssm_dssm_discretize(&m, lambda, bbar);
    const double *c = m.theta + m.offset[SSM_GROUP_C];
    double D = m.theta[m.offset[SSM_GROUP_D]], bias = m.theta[m.offset[SSM_GROUP_BIAS]], sum = 0;
    for (size_t i = 0; i < task.length; ++i) {
        double u = data.u[i], y = D * u + bias;
        for (size_t k = 0; k < nm; ++k) {
            x[k] = lambda[k] * x[k] + bbar[k] * u;
            size_t f = m.n_real + 2 * (k - m.n_real);
            y += k < m.n_real ? c[k] * creal(x[k]) : c[f] * creal(x[k]) + c[f + 1] * cimag(x[k]);
        }
        sum += (y - data.d[i]) * (y - data.d[i]);
    }
    CHECK_REL(loss, sum / task.length, 1e-12, "FFT convolution == step-by-step recurrence");
    ssm_grad_work *w32 = NULL;
    double loss32 = NAN;
    if (ssm_grad_work_new(&m, task.length, 1, SSM_F32, &w32, &err) == SSM_OK)
        ssm_loss_grad(&m, &data, 0, 1, 0, w32, &loss32, NULL, &err);
    CHECK_REL(loss32, sum / task.length, 1e-6, "float32 pass == step-by-step recurrence (float64) to 1e-6");
    ssm_grad_work_free(w32);
    free(lambda);
    free(bbar);
    free(x);
    ssm_grad_work_free(w);
    ssm_dataset_free(&data);
    ssm_dssm_free(&m);
}

/* <d x>^T Sigma^+ <d x> / <d^2> at readout zero equals MF(tau*) */
static void teacher_information(void)
{
    static const struct { double dt; size_t tau; } cases[] = {{0.01, 50}, {0.01, 200}, {0.1, 10}, {0.1, 200}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        ssm_model model = model_of(SSM_INIT_S4D_INV, 16, cases[c].dt, SSM_DISC_ZOH);
        ssm_task task;
        ssm_dssm m;
        ssm_error err;
        ssm_mf_options o;
        ssm_mf_result r;
        double info;
        ssm_task_defaults(&task);
        task.length = 4096;
        task.delays[0] = cases[c].tau;
        ssm_dssm_init(&m, &model, 1, &err);
        ssm_mf_options_defaults(&o);
        o.method = SSM_MF_BLASCHKE;
        o.tau_max = cases[c].tau;
        if (ssm_teacher_information(&m, &task, 0, &info, &err) != SSM_OK || ssm_mf_model(&model, &o, &r, &err)) {
            CHECK(0, "teacher information: %s", err.message);
            continue;
        }
        double mf = r.mf[cases[c].tau];
        CHECK_ABS(info, mf, 1e-6, "dt %g tau* %zu: whitened |grad|^2 / <d^2> = MF(tau*) = %.3g", cases[c].dt,
                  cases[c].tau, mf);
        if (mf < 1e-6)
            CHECK(info < 1e-5, "dt %g tau* %zu: no teacher information where MF is zero (%.2g)", cases[c].dt,
                  cases[c].tau, info);
        ssm_mf_result_free(&r);
        ssm_dssm_free(&m);
    }
}

/* The RC baseline: the closed-form readout reaches the loss the memory
 * function predicts, (1 - MF(tau*)) <u^2> with <u^2> = 1/3. */
static void ridge_matches_memory(void)
{
    ssm_model model = model_of(SSM_INIT_S4D_INV, 16, 0.05, SSM_DISC_ZOH);
    ssm_task task;
    ssm_dssm m;
    ssm_error err;
    ssm_mf_options o;
    ssm_mf_result r;
    ssm_task_defaults(&task);
    task.length = 4000;
    task.delays[0] = 30;
    task.washout = 1000;
    task.n_train = 20;
    task.n_val = 10;
    ssm_dssm_init(&m, &model, 1, &err);
    CHECK(ssm_ridge_readout(&m, &task, 0.0, &err) == SSM_OK, "ridge readout: %s", err.message);
    ssm_dataset val;
    ssm_grad_work *w;
    ssm_dataset_make(&task, 1, &val, &err);
    ssm_grad_work_new(&m, task.length, val.n_seq, SSM_F64, &w, &err);
    double loss = loss_at(&m, &val, task.washout, w);
    ssm_mf_options_defaults(&o);
    o.method = SSM_MF_BLASCHKE;
    o.tau_max = 30;
    ssm_mf_model(&model, &o, &r, &err);
    double predicted = (1 - r.mf[30]) / 3;
    /* sampling: 10 x 3000 validation steps, 16 regressors from 60 000 */
    CHECK_ABS(loss, predicted, 0.05 * predicted + 2e-3, "ridge validation loss %.4f vs (1 - MF)/3 = %.4f", loss,
              predicted);
    ssm_mf_result_free(&r);
    ssm_grad_work_free(w);
    ssm_dataset_free(&val);
    ssm_dssm_free(&m);
}

static int count_epochs(void *ctx, const ssm_epoch_record *rec, const ssm_dssm *m)
{
    (void)m;
    double *last = ctx;
    *last = rec->val_loss;
    return 0;
}

static void training(void)
{
    ssm_model model = model_of(SSM_INIT_S4D_INV, 16, 0.02, SSM_DISC_ZOH);
    ssm_task task;
    ssm_train_options opt;
    ssm_train_summary s1, s2, s3;
    ssm_dssm a, b, c;
    ssm_error err;
    double last = NAN;
    ssm_task_defaults(&task);
    task.length = 256;
    task.delays[0] = 20;
    task.n_train = 64;
    task.n_val = 16;
    ssm_train_options_defaults(&opt);
    opt.epochs = 15;
    opt.batch = 16;
    opt.optim.lr = 0.05;
    ssm_dssm_init(&a, &model, 1, &err);
    ssm_dssm_copy(&b, &a, &err);
    ssm_dssm_copy(&c, &a, &err);
    CHECK(ssm_train(&a, &task, &opt, count_epochs, &last, &s1, &err) == SSM_OK, "training runs: %s", err.message);
    /* the best a readout can do is (1 - MF(tau*)) <u^2>: training must get
     * most of the way there */
    ssm_mf_options o;
    ssm_mf_result r;
    ssm_mf_options_defaults(&o);
    o.method = SSM_MF_BLASCHKE;
    o.tau_max = 20;
    ssm_mf_model(&model, &o, &r, &err);
    double best = (1 - r.mf[20]) / 3;
    ssm_mf_result_free(&r);
    CHECK(s1.final_val_loss < s1.init_val_loss - 0.8 * (s1.init_val_loss - best),
          "training gets 80%% of the way to the memory limit (%.4f -> %.4f, limit %.4f)", s1.init_val_loss,
          s1.final_val_loss, best);
    CHECK(last == s1.final_val_loss && s1.epochs_run == 15, "callback sees every epoch");
    ssm_train(&b, &task, &opt, NULL, NULL, &s2, &err);
    CHECK(memcmp(a.theta, b.theta, a.n_params * sizeof *a.theta) == 0, "training is bit-reproducible");
    /* float32: the same run to about float32's rounding, and reproducible */
    ssm_dssm f1, f2;
    ssm_train_summary t1, t2;
    ssm_dssm_init(&f1, &model, 1, &err);
    ssm_dssm_copy(&f2, &f1, &err);
    opt.precision = SSM_F32;
    {
        const ssm_status st = ssm_train(&f1, &task, &opt, NULL, NULL, &t1, &err);
        CHECK(st == SSM_OK, "float32 training runs (%s)", st ? err.message : "ok");
    }
    ssm_train(&f2, &task, &opt, NULL, NULL, &t2, &err);
    CHECK(fabs(t1.final_val_loss - s1.final_val_loss) < 1e-3 * s1.final_val_loss &&
              memcmp(f1.theta, f2.theta, f1.n_params * sizeof *f1.theta) == 0,
          "float32 training: final validation loss %.6f against float64 %.6f, bit-reproducible", t1.final_val_loss,
          s1.final_val_loss);
    /* a length whose 2 L is no FFT length of the float32 pass (448 = 2^6 7:
     * it transforms at 450), so its batches carry the inputs, not spectra */
    ssm_task odd = task;
    odd.length = 224;
    ssm_dssm o32, o64;
    ssm_train_summary u32, u64;
    ssm_dssm_copy(&o32, &f2, &err);
    ssm_dssm_copy(&o64, &f2, &err);
    opt.epochs = 2;
    {
        const ssm_status st = ssm_train(&o32, &odd, &opt, NULL, NULL, &u32, &err);
        opt.precision = SSM_F64;
        ssm_train(&o64, &odd, &opt, NULL, NULL, &u64, &err);
        CHECK(st == SSM_OK && fabs(u32.final_val_loss - u64.final_val_loss) < 1e-4 * u64.final_val_loss,
              "float32 training at L = 224 (FFT length 450): validation loss %.6f against float64 %.6f",
              u32.final_val_loss, u64.final_val_loss);
    }
    opt.epochs = 15;
    ssm_dssm_free(&o32);
    ssm_dssm_free(&o64);
    ssm_dssm_free(&f1);
    ssm_dssm_free(&f2);
    opt.frozen = 1u << SSM_GROUP_A_RE | 1u << SSM_GROUP_A_IM | 1u << SSM_GROUP_DT;
    ssm_train(&c, &task, &opt, NULL, NULL, &s3, &err);
    int same = 1;
    ssm_dssm init;
    ssm_dssm_init(&init, &model, 1, &err);
    for (int g = SSM_GROUP_A_RE; g <= SSM_GROUP_DT; ++g)
        same &= memcmp(c.theta + c.offset[g], init.theta + init.offset[g], c.length[g] * sizeof *c.theta) == 0;
    CHECK(same, "RC mode: A and dt stay exactly as initialized");
    CHECK(s3.final_val_loss < s3.init_val_loss, "RC mode still learns the readout (%.4f -> %.4f)", s3.init_val_loss,
          s3.final_val_loss);
    /* plain SGD trains too, slowly: without Adam's scaling the readout of
     * features of size |bbar| ~ dt is ill-conditioned (step 1.5 diverges) */
    ssm_dssm d;
    ssm_train_summary s4;
    ssm_dssm_init(&d, &model, 1, &err);
    opt.frozen = 0;
    opt.optim.optimizer = SSM_OPT_SGD;
    opt.optim.lr = 1.0;
    opt.frozen = 1u << SSM_GROUP_A_RE | 1u << SSM_GROUP_A_IM | 1u << SSM_GROUP_DT;
    ssm_status sgd = ssm_train(&d, &task, &opt, NULL, NULL, &s4, &err);
    CHECK(sgd == SSM_OK && s4.final_val_loss < s4.init_val_loss - 0.2 * (s4.init_val_loss - best),
          "SGD gets a fifth of the way to the memory limit in 15 epochs (%.4f -> %.4f)%s%s", s4.init_val_loss,
          s4.final_val_loss,
          sgd ? ": " : "", sgd ? err.message : "");
    ssm_dssm_free(&d);
    ssm_dssm_free(&init);
    ssm_dssm_free(&a);
    ssm_dssm_free(&b);
    ssm_dssm_free(&c);
}

static void groups(void)
{
    unsigned mask;
    ssm_error err;
    CHECK(ssm_groups_parse("A,dt", &mask, &err) == SSM_OK &&
              mask == (1u << SSM_GROUP_A_RE | 1u << SSM_GROUP_A_IM | 1u << SSM_GROUP_DT), "--freeze A,dt");
    CHECK(ssm_groups_parse("A,dt,B", &mask, &err) == SSM_OK && (mask & 1u << SSM_GROUP_B), "--freeze A,dt,B");
    CHECK(ssm_groups_parse("A,foo", &mask, &err) == SSM_EINVAL && strstr(err.message, "foo"), "bad group: %s",
          err.message);
}

int main(void)
{
    static const ssm_task_type tasks[] = {SSM_TASK_DELAY, SSM_TASK_TEACHER, SSM_TASK_MULTI_DELAY};
    for (size_t t = 0; t < 3; ++t) {
        char name[96];
        snprintf(name, sizeof name, "s4d-inv zoh %s", ssm_task_name(tasks[t]));
        gradient_check(name, model_of(SSM_INIT_S4D_INV, 8, 0.1, SSM_DISC_ZOH), small_task(tasks[t]));
        snprintf(name, sizeof name, "s4d-lin bilinear %s", ssm_task_name(tasks[t]));
        gradient_check(name, model_of(SSM_INIT_S4D_LIN, 6, 0.05, SSM_DISC_BILINEAR), small_task(tasks[t]));
        snprintf(name, sizeof name, "s4d-real (real modes) %s", ssm_task_name(tasks[t]));
        gradient_check(name, model_of(SSM_INIT_S4D_REAL, 4, 0.1, SSM_DISC_ZOH), small_task(tasks[t]));
    }
    gradient_check("step (discrete family, a negative real mode) delay",
                   model_of(SSM_INIT_STEP, 8, 0.1, SSM_DISC_ZOH), small_task(SSM_TASK_DELAY));
    float32_long();
    forward_matches_recurrence();
    teacher_information();
    ridge_matches_memory();
    training();
    groups();
    return test_summary("test_train");
}

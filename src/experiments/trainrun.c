#include "config.h"

#include "trainrun.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_h5.h"
#include "ssm/param_check.h"

void sw_train_config_defaults(sw_train_config *c)
{
    memset(c, 0, sizeof *c);
    ssm_model_defaults(&c->model);
    c->model.n = 64;
    ssm_task_defaults(&c->task);
    ssm_train_options_defaults(&c->train);
    c->ridge = -1;
}

ssm_status sw_train_validate(const sw_train_config *c, ssm_error *err)
{
    ssm_status st = ssm_model_validate(&c->model, err);
    if (st == SSM_OK && c->model.init == SSM_INIT_LEGS_DENSE)
        st = ssm_fail_param(err, SSM_EINVAL, "init", "legs-dense is not diagonal; train s4d-real, its diagonal form");
    if (st == SSM_OK)
        st = ssm_dssm_size_validate(&c->model, err);
    if (st == SSM_OK)
        st = ssm_task_validate(&c->task, err);
    if (st == SSM_OK)
        st = ssm_train_options_validate(&c->train, err);
    if (st == SSM_OK)
        st = SSM_PARAM_CHECK(c->ridge, SSM_PARAM_RIDGE, err);
    return st;
}

typedef struct {
    sw_train_outcome *out;
    size_t capacity;
    ssm_epoch_callback user;
    void *user_ctx;
} curve_ctx;

static int record_epoch(void *ctx, const ssm_epoch_record *rec, const ssm_dssm *m)
{
    curve_ctx *c = ctx;
    sw_train_outcome *o = c->out;
    if (o->n_epochs < c->capacity) {
        o->train_loss[o->n_epochs] = rec->train_loss;
        o->val_loss[o->n_epochs] = rec->val_loss;
        ++o->n_epochs;
    }
    return c->user ? c->user(c->user_ctx, rec, m) : 0;
}

/* MF of the model's current eigenvalues over the sequence window, by the
 * exact engine (no Gram matrix: trained spectra can be ill-conditioned). */
static ssm_status model_mf(const ssm_dssm *m, double complex *eig, size_t n_eig, size_t tau_max,
                           ssm_mf_result *out, ssm_error *err)
{
    ssm_spectrum sp = {n_eig, eig};
    ssm_mf_options o;
    ssm_dssm_eigenvalues(m, eig);
    ssm_mf_options_defaults(&o);
    o.method = SSM_MF_BLASCHKE;
    o.tau_max = tau_max;
    return ssm_mf_spectrum(&sp, &o, out, err);
}

ssm_status sw_train_run(const sw_train_config *c, ssm_epoch_callback cb, void *ctx, sw_train_outcome *out,
                        ssm_error *err)
{
    ssm_dssm m = {0};
    ssm_status st;
    memset(out, 0, sizeof *out);
    if ((st = sw_train_validate(c, err)))
        return st;
    if (c->import_path) {
        st = sw_model_import(c->import_path, &m, err);
        if (st == SSM_OK && m.n_out != ssm_task_outputs(&c->task))
            st = ssm_fail_param(err, SSM_EINVAL, "import", "the model has %zu outputs, the task %zu", m.n_out,
                          ssm_task_outputs(&c->task));
    } else {
        st = ssm_dssm_init(&m, &c->model, ssm_task_outputs(&c->task), err);
    }
    if (st)
        goto done;
    const size_t tau_max = c->task.length - 1, delay = c->task.type == SSM_TASK_TEACHER ? 0 : c->task.delays[0];
    out->n_eig = m.n_real + 2 * m.n_pair;
    out->eig_init = malloc(out->n_eig * sizeof *out->eig_init);
    out->eig_final = malloc(out->n_eig * sizeof *out->eig_final);
    out->train_loss = malloc(c->train.epochs * sizeof *out->train_loss);
    out->val_loss = malloc(c->train.epochs * sizeof *out->val_loss);
    if (!out->eig_init || !out->eig_final || !out->train_loss || !out->val_loss) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory");
        goto done;
    }
    if ((st = model_mf(&m, out->eig_init, out->n_eig, tau_max, &out->mf_init, err)) ||
        (st = ssm_teacher_information(&m, &c->task, 0, &out->teacher_info, err)))
        goto done;
    if (c->ridge >= 0) {
        /* the RC baseline: eigenvalues fixed, readout in closed form */
        ssm_dataset val;
        ssm_grad_work *w = NULL;
        double loss = NAN;
        st = ssm_ridge_readout(&m, &c->task, c->ridge, err);
        if (st == SSM_OK)
            st = ssm_dataset_make(&c->task, 1, &val, err);
        if (st == SSM_OK) {
            st = ssm_grad_work_new(&m, c->task.length, val.n_seq, c->train.precision, &w, err);
            size_t washout = ssm_task_washout(&c->task);
            if (st == SSM_OK)
                st = ssm_loss_grad(&m, &val, 0, val.n_seq, washout, w, &loss, NULL, err);
            ssm_grad_work_free(w);
            ssm_dataset_free(&val);
        }
        out->summary.final_val_loss = loss;
        out->summary.init_val_loss = NAN;
        out->summary.final_train_loss = NAN;
        out->summary.epochs_to_threshold = -1;
    } else {
        curve_ctx cc = {out, c->train.epochs, cb, ctx};
        st = ssm_train(&m, &c->task, &c->train, record_epoch, &cc, &out->summary, err);
    }
    if (st)
        goto done;
    if ((st = model_mf(&m, out->eig_final, out->n_eig, tau_max, &out->mf_final, err)))
        goto done;
    for (size_t k = 0; k < out->n_eig; ++k)
        out->drift = fmax(out->drift, cabs(out->eig_final[k] - out->eig_init[k]));
    out->mf_tau_init = out->mf_init.mf[delay];
    out->mf_tau_final = out->mf_final.mf[delay];
    if (c->export_path)
        st = sw_model_export(c->export_path, &m, err);
done:
    ssm_dssm_free(&m);
    if (st)
        sw_train_outcome_free(out);
    return st;
}

void sw_train_outcome_print(const sw_train_config *c, const sw_train_outcome *o, FILE *fp)
{
    const ssm_train_summary *s = &o->summary;
    size_t delay = c->task.type == SSM_TASK_TEACHER ? 0 : c->task.delays[0];
    fprintf(fp, "validation loss: %.6g -> %.6g (train %.6g), %zu epochs in %.2f s\n", s->init_val_loss,
            s->final_val_loss, s->final_train_loss, s->epochs_run, s->seconds);
    if (s->epochs_to_threshold >= 0)
        fprintf(fp, "epochs to loss <= %g: %ld\n", c->train.threshold, s->epochs_to_threshold);
    else
        fprintf(fp, "epochs to loss <= %g: not reached\n", c->train.threshold);
    fprintf(fp, "MC: %.4f -> %.4f; memory length: %.2f -> %.2f steps\n", o->mf_init.mc, o->mf_final.mc,
            ssm_mf_memory_length(&o->mf_init), ssm_mf_memory_length(&o->mf_final));
    if (c->task.type != SSM_TASK_TEACHER)
        fprintf(fp, "MF(tau* = %zu): %.6g -> %.6g\n", delay, o->mf_tau_init, o->mf_tau_final);
    fprintf(fp, "teacher information at init: %.6g\n", o->teacher_info);
    fprintf(fp, "eigenvalue drift: max |lambda_end - lambda_init| = %.3g\n", o->drift);
}

void sw_train_outcome_free(sw_train_outcome *o)
{
    if (!o)
        return;
    free(o->eig_init);
    free(o->eig_final);
    free(o->train_loss);
    free(o->val_loss);
    ssm_mf_result_free(&o->mf_init);
    ssm_mf_result_free(&o->mf_final);
    memset(o, 0, sizeof *o);
}

/* The arrays of ssm_train (src/ssm/train.c), in doubles: per data set of n
 * sequences the inputs and targets and the input spectra (L + 1 complex
 * each); the gradient workspace, sized for at least 64 sequences; the
 * shuffled batch; the memory functions of length L, by the blaschke engine. */
double sw_train_peak_bytes(const sw_train_config *c)
{
    const double L = (double)c->task.length, outs = (double)ssm_task_outputs(&c->task), n = (double)c->model.n;
    const double n_train = (double)c->task.n_train, n_val = (double)c->task.n_val;
    const double batch = fmin((double)c->train.batch, n_train), work_batch = fmax(batch, 64);
    const double per_seq = L * (1 + outs) + 2 * (L + 1);
    const double data = (n_train + n_val) * per_seq;
    const double work = 2 * outs * L + 2 * L + 2 * outs * (L + 1) + 2 * work_batch * (L + 1) + 4 * (L + 1) + L +
                        (8 + 4 * outs) * n;
    const double view = batch * per_seq;
    const double curves = 3 * L + 4 * L;   /* the engine's blaschke array and MF, start and end, and their copies */
    if (c->ridge >= 0)   /* one data set, the regressors over its length, the validation set */
        return 8 * (n_train * L * (1 + outs) + L * (2 * n + 2) + n_val * per_seq + work + curves);
    return 8 * (data + work + view + curves);
}

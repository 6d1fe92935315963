/* Gradient training of a single-layer diagonal SSM on long-memory tasks.
 *
 * Model (the S4D parameterization): modes k with continuous eigenvalue
 * a_k = -exp(p_re,k) + i p_im,k (real modes have no p_im), a shared step
 * dt = exp(p_dt), input weights b_k (complex for pairs), discretized by
 * ZOH or bilinear to lambda_k, bbar_k; state x_t = lambda x_{t-1} + bbar u_t;
 * outputs y_{m,t} = sum_k w_{m,k} . features_k(x_t) + D_m u_t + bias_m, with
 * features Re x, Im x for a pair and x for a real mode.
 *
 * Because the model is linear in the input, y_m = K_m * u + D_m u + bias_m
 * with the kernel K_m[tau] = sum_k Re(conj(w_mk) bbar_k lambda_k^tau) (real
 * modes: w bbar lambda^tau): forward and backward passes are O(N L) for
 * the kernel plus batched FFT convolutions (FFTW), and every gradient is
 * written out (checked against finite differences in tests/test_train.c).
 *
 * Parameter groups (each can be frozen): A_RE (p_re), A_IM (p_im), DT
 * (p_dt), B, C (readout w), D, BIAS.  "RC mode" freezes A_RE, A_IM, DT. */
#ifndef SSM_TRAIN_H
#define SSM_TRAIN_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "model.h"
#include "optim.h"
#include "s4d.h"

/* ---- tasks and data ---------------------------------------------------------- */

typedef enum { SSM_TASK_DELAY, SSM_TASK_TEACHER, SSM_TASK_MULTI_DELAY } ssm_task_type;

typedef struct {
    ssm_task_type type;
    size_t length;             /* sequence length L */
    size_t n_delays;           /* delay: 1; multi-delay: outputs */
    size_t delays[SSM_MAX_OUTPUTS];
    double teacher_memory;     /* teacher: e-folding time of its modes (steps) */
    size_t teacher_modes;      /* teacher: conjugate pairs */
    double noise;              /* std of additive target noise */
    size_t washout;            /* the loss ignores t < washout */
    size_t n_train, n_val;     /* sequences */
    uint64_t seed;
} ssm_task;

/* delay 100, L 1024, 1 output, teacher memory 100 with 8 pairs, no noise,
 * washout = largest delay, 256 train and 64 validation sequences. */
void ssm_task_defaults(ssm_task *t);
ssm_status ssm_task_validate(const ssm_task *t, ssm_error *err);
size_t ssm_task_outputs(const ssm_task *t);
/* The steps the loss ignores: --washout, or the largest delay (teacher:
 * three memory times, at most half the length). */
size_t ssm_task_washout(const ssm_task *t);
const char *ssm_task_name(ssm_task_type type);
ssm_status ssm_task_parse(const char *name, ssm_task_type *type, ssm_error *err);

typedef struct {
    size_t n_seq, length, n_out;
    double *u;          /* n_seq x length */
    double *d;          /* n_seq x n_out x length */
    /* optional, from ssm_dataset_prepare: spectra of u zero-padded to
     * 2 length, n_seq x (length + 1), in float64 (uf) or, with the targets,
     * in float32 (uf32 and d32: what the float32 pass reads, half the bytes) */
    double complex *uf;
    float complex *uf32;
    float *d32;         /* n_seq x n_out x length */
} ssm_dataset;

/* The train (split 0) or validation (split 1) set: inputs uniform on
 * [-1, 1), a pure function of (task seed, split, sequence index). */
ssm_status ssm_dataset_make(const ssm_task *t, int split, ssm_dataset *out, ssm_error *err);
void ssm_dataset_free(ssm_dataset *d);
/* Caches the inputs' spectra for passes of precision prec (ssm_loss_grad
 * then skips those FFTs), when the passes transform at 2 length
 * (ssm_rfft_good_length): in float64, or in float32 with float32 targets. */
ssm_status ssm_dataset_prepare(ssm_dataset *d, ssm_precision prec, ssm_error *err);

/* ---- loss and gradient ----------------------------------------------------------- */

typedef struct ssm_grad_work ssm_grad_work;

/* prec: SSM_F64 computes everything in float64; SSM_F32 the kernels,
 * convolutions and residuals in float32 (the chain rule to the mode
 * parameters, the loss sum and the parameters stay float64). */
ssm_status ssm_grad_work_new(const ssm_dssm *m, size_t length, size_t batch, ssm_precision prec,
                             ssm_grad_work **out, ssm_error *err);
void ssm_grad_work_free(ssm_grad_work *w);

/* Mean squared error over sequences first..first+count-1 of data, outputs
 * and t >= washout; grad (n_params, may be NULL) receives its gradient. */
ssm_status ssm_loss_grad(const ssm_dssm *m, const ssm_dataset *data, size_t first, size_t count,
                         size_t washout, ssm_grad_work *w, double *loss, double *grad,
                         ssm_error *err);

/* ---- training ----------------------------------------------------------------------- */

typedef struct {
    ssm_optim_options optim;       /* lr: readout, B, D, bias; lr_ssm: A and dt */
    size_t epochs, batch;
    unsigned frozen;               /* bit mask of ssm_param_group */
    double threshold;              /* loss for epochs-to-threshold */
    ssm_precision precision;       /* of the passes (ssm_grad_work_new) */
} ssm_train_options;

/* AdamW, 50 epochs, batch 32, lr 1e-2, lr_ssm 1e-3, wd 0.01, warm-up 0.1,
 * betas 0.9/0.999, eps 1e-8, nothing frozen, threshold 0.1, float64 */
void ssm_train_options_defaults(ssm_train_options *o);
/* Epochs, batch size, threshold and optimizer against their rows of
 * param.h; err names the parameter at fault. */
ssm_status ssm_train_options_validate(const ssm_train_options *o, ssm_error *err);

typedef struct {
    size_t epoch;                  /* 1-based */
    double train_loss, val_loss, seconds;
} ssm_epoch_record;

/* Called after every epoch; a non-zero return stops training early. */
typedef int (*ssm_epoch_callback)(void *ctx, const ssm_epoch_record *rec, const ssm_dssm *m);

typedef struct {
    double init_val_loss, final_val_loss, final_train_loss;
    size_t epochs_run;
    long epochs_to_threshold;      /* -1: never reached */
    double seconds;
} ssm_train_summary;

ssm_status ssm_train(ssm_dssm *m, const ssm_task *task, const ssm_train_options *opt,
                     ssm_epoch_callback cb, void *ctx, ssm_train_summary *summary, ssm_error *err);

/* Closed-form ridge regression of the readout (C, D, bias) on the training
 * set with the eigenvalues fixed: the reservoir-computing baseline. */
ssm_status ssm_ridge_readout(ssm_dssm *m, const ssm_task *task, double ridge, ssm_error *err);

/* ---- what the theory predicts ------------------------------------------------------ */

/* The teacher information of output `out` at readout zero: the squared norm
 * of the readout gradient in whitened state coordinates divided by <d^2>,
 * with exact expectations over the i.i.d. input (infinite sequence).  For a
 * delay target it equals MF(tau*) of the eigenvalues (paper-notes.md,
 * section 4). */
ssm_status ssm_teacher_information(const ssm_dssm *m, const ssm_task *task, size_t out,
                                   double *info, ssm_error *err);

#endif

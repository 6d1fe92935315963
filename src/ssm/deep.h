/* A deep S4D sequence classifier (the state-spaces "minimal S4D" recipe).
 *
 *   x [B, T] --linear 1->H--> X0 [B, H, T]
 *   L blocks:  Y  = K_h * X + D_h X        (S4D convolution per channel h)
 *              G  = dropout(GELU(Y))
 *              O  = GLU(W G + b)           (pointwise H -> 2H, gated back to H)
 *              X' = LayerNorm_h(dropout(O) + X)   (post-norm, over channels)
 *   mean over time -> linear H->classes -> cross-entropy.
 *
 * The S4D kernel of channel h: K_h[t] = sum_k w_k Re(C_hk Bbar_hk lambda_hk^t)
 * with a_hk = -exp(p_re,hk) + i p_im,hk, dt_h = exp(p_dt,h), lambda = exp(a dt)
 * and Bbar = (lambda - 1)/a (zero-order hold, B = 1 folded into C), w = 2
 * for a conjugate pair and 1 for a real mode.  Every channel starts from
 * the same continuous eigenvalues (any diagonal family of model.h, mapped
 * as ssm_dssm_init does) with its own dt, log-uniform in [dt_min, dt_max].
 *
 * Compute: the kernel and its gradient in float64 (Vandermonde power
 * walks); the long convolutions by the lane FFTs of rfft.h (real
 * transforms of length 2T, several channels a vector); the pointwise
 * layer's GEMMs by deep_gemm.h (bit-identical on every instruction set);
 * activations in float32 (SSM_F32) or float64 (SSM_F64, used to check
 * the gradients against finite differences); the loss in float64.
 * Parameters and the optimizer state are float64.  Layout of the
 * activations: [batch, channel, time], time contiguous, so a channel's
 * sequence is one transform and the pointwise layer one GEMM per sequence. */
#ifndef SSM_DEEP_H
#define SSM_DEEP_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "model.h"
#include "optim.h"
#include "s4d.h"

/* Parameter blocks of one layer, in storage order. */
typedef enum {
    SSM_DEEP_A_RE,    /* p_re [H, modes] */
    SSM_DEEP_A_IM,    /* p_im [H, pairs] */
    SSM_DEEP_DT,      /* p_dt [H] */
    SSM_DEEP_C_RE,    /* [H, modes] */
    SSM_DEEP_C_IM,    /* [H, pairs] */
    SSM_DEEP_D,       /* skip [H] */
    SSM_DEEP_MIX_W,   /* [2H, H] row-major */
    SSM_DEEP_MIX_B,   /* [2H] */
    SSM_DEEP_NORM_G,  /* LayerNorm gain [H] */
    SSM_DEEP_NORM_B,  /* LayerNorm bias [H] */
    SSM_DEEP_LAYER_BLOCKS
} ssm_deep_layer_block;

/* Blocks outside the layers. */
enum { SSM_DEEP_ENC_W, SSM_DEEP_ENC_B, SSM_DEEP_DEC_W, SSM_DEEP_DEC_B, SSM_DEEP_OUTER_BLOCKS };

typedef struct {
    size_t d_model;          /* H */
    size_t n_layers;         /* L */
    size_t n_classes;
    double dt_min, dt_max;   /* range of the log-uniform step sizes */
    double dropout;          /* probability, after GELU and after GLU; 0: none */
    ssm_model eig;           /* eigenvalue family; eig.n is the state size N */
} ssm_deep_config;

/* H 64, 4 layers, 10 classes, dt in [0.001, 0.1], no dropout, S4D-Lin N 64. */
void ssm_deep_config_defaults(ssm_deep_config *c);
/* Sizes, step range, dropout, zoh, and the eigenvalue model; the message
 * names the option. */
ssm_status ssm_deep_config_validate(const ssm_deep_config *c, ssm_error *err);

typedef struct {
    ssm_deep_config cfg;
    size_t n_real, n_pair, n_modes;      /* modes per channel */
    size_t n_params;
    size_t outer_off[SSM_DEEP_OUTER_BLOCKS], outer_len[SSM_DEEP_OUTER_BLOCKS];
    size_t layer_len[SSM_DEEP_LAYER_BLOCKS];
    size_t *layer_off;                   /* n_layers x SSM_DEEP_LAYER_BLOCKS */
    double *theta;
} ssm_deep;

/* Draws the initial parameters from `seed` (PyTorch's default
 * initializations for the linear layers, C complex normal, D normal). */
ssm_status ssm_deep_init(ssm_deep *m, const ssm_deep_config *cfg, uint64_t seed, ssm_error *err);
ssm_status ssm_deep_copy(ssm_deep *dst, const ssm_deep *src, ssm_error *err);
void ssm_deep_free(ssm_deep *m);

static inline double *ssm_deep_param(const ssm_deep *m, size_t layer, ssm_deep_layer_block b)
{
    return m->theta + m->layer_off[layer * SSM_DEEP_LAYER_BLOCKS + b];
}

/* Discrete eigenvalues of channel h of a layer: n_real + 2 n_pair values,
 * pairs as (lambda, conj lambda), as the MF engines take them. */
void ssm_deep_eigenvalues(const ssm_deep *m, size_t layer, size_t channel, double complex *lambda);

/* The optimizer's view: 4 + 10 L blocks; with freeze_ssm (reservoir
 * mode) A and dt of every layer are frozen.  out must hold
 * ssm_deep_n_blocks(m) entries. */
size_t ssm_deep_n_blocks(const ssm_deep *m);
void ssm_deep_blocks(const ssm_deep *m, int freeze_ssm, ssm_param_block *out);

/* ---- forward and backward ------------------------------------------------------ */

typedef struct ssm_deep_work ssm_deep_work;

/* Workspace for sequences of `length` in batches of at most max_batch. */
ssm_status ssm_deep_work_new(const ssm_deep *m, size_t length, size_t max_batch, ssm_precision prec,
                             ssm_deep_work **out, ssm_error *err);
void ssm_deep_work_free(ssm_deep_work *w);
/* Bytes of the workspace (activations kept for the backward pass). */
size_t ssm_deep_work_bytes(const ssm_deep_work *w);
/* Threads of a step: 1 (default) or 2.  A batch is always split into the
 * same two halves whose gradients are added in the same order, so the
 * results do not depend on the thread count. */
void ssm_deep_work_set_threads(ssm_deep_work *w, size_t threads);
/* The same without allocating: what ssm_deep_work_bytes will report for a
 * workspace of this configuration, or up to N x 32 bytes more (see
 * deep.c); tests/test_memory.c checks the two. */
double ssm_deep_work_size(const ssm_deep_config *cfg, size_t length, size_t max_batch, ssm_precision prec);

/* A batch of `count` sequences x (count x length, row-major) with labels.
 *   loss     mean cross-entropy (float64)
 *   correct  number of arg-max predictions equal to the label (may be NULL)
 *   grad     n_params: gradient of loss (NULL: forward only)
 *   logits   count x n_classes (may be NULL)
 * Dropout is applied only when grad is non-NULL (training), with masks
 * drawn from (dropout_seed, dropout_step).  mode_recurrent computes the
 * SSM by stepping the diagonal recurrence instead of the FFT convolution
 * (forward only; a check of the convolution). */
typedef struct {
    uint64_t dropout_seed, dropout_step;
    int recurrent;
} ssm_deep_pass;

ssm_status ssm_deep_loss_grad(const ssm_deep *m, ssm_deep_work *w, const float *x, const uint8_t *label,
                              size_t count, const ssm_deep_pass *pass, double *loss, size_t *correct,
                              double *grad, double *logits, ssm_error *err);

/* ---- training ------------------------------------------------------------------- */

typedef struct {
    size_t n, length;
    const float *x;          /* n x length */
    const uint8_t *label;    /* n, each < n_classes */
} ssm_class_data;

typedef struct {
    ssm_optim_options optim;
    size_t epochs, batch;
    int freeze_ssm;          /* reservoir mode: A and dt fixed */
    ssm_precision precision;
    uint64_t seed;           /* shuffling and dropout */
    size_t threads;          /* 1 or 2 (ssm_deep_work_set_threads: the same bits either way) */
} ssm_deep_train_options;

/* AdamW lr 0.01, lr_ssm 0.001, wd 0.01, warm-up 0.1; 10 epochs of batch
 * 50; nothing frozen; float32; seed 0; one thread. */
void ssm_deep_train_options_defaults(ssm_deep_train_options *o);

typedef struct {
    size_t epoch;            /* 1-based */
    double train_loss, train_acc;   /* running means over the epoch's batches */
    double val_loss, val_acc;
    double seconds;          /* wall time of this epoch (training and validation) */
} ssm_deep_epoch;

/* After every epoch, with the model and optimizer state a checkpoint
 * needs; a non-zero return stops training (no error). */
typedef int (*ssm_deep_callback)(void *ctx, const ssm_deep_epoch *rec, const ssm_deep *m,
                                 const ssm_optim_state *state);

/* Trains m on `train`, evaluating on `val` after every epoch.  state
 * (n_params moments) carries the optimizer: a fresh one starts at epoch
 * 1, one restored from a checkpoint taken at the end of epoch e resumes
 * at e + 1 and continues exactly as if never stopped (shuffling and
 * dropout are pure functions of seed, epoch and step). */
ssm_status ssm_deep_train(ssm_deep *m, ssm_optim_state *state, const ssm_deep_train_options *o,
                          const ssm_class_data *train, const ssm_class_data *val, ssm_deep_callback cb,
                          void *ctx, ssm_error *err);

/* Mean loss and accuracy over a data set (no dropout), on a workspace of
 * the data's length (in batches of its size), or on a new one. */
ssm_status ssm_deep_evaluate_work(const ssm_deep *m, ssm_deep_work *w, const ssm_class_data *d, double *loss,
                                  double *accuracy, ssm_error *err);
ssm_status ssm_deep_evaluate(const ssm_deep *m, const ssm_class_data *d, ssm_precision prec, size_t batch,
                             double *loss, double *accuracy, ssm_error *err);

#endif

/* The optimizer shared by the trainers (train.c, deep.c): AdamW or SGD
 * with a linear warm-up and cosine decay, over a flat parameter vector cut
 * into blocks that differ in learning rate, weight decay and freezing.
 *
 * SSM blocks (eigenvalues, step sizes) take lr_ssm and no weight decay,
 * as in the S4/S4D training recipe; every other block takes lr and
 * weight_decay (decoupled, AdamW).  A frozen block is never touched. */
#ifndef SSM_OPTIM_H
#define SSM_OPTIM_H

#include <stddef.h>

#include "error.h"

typedef enum { SSM_OPT_ADAMW, SSM_OPT_SGD } ssm_optimizer;

typedef struct {
    ssm_optimizer optimizer;
    double lr, lr_ssm;             /* peak learning rates */
    double weight_decay;           /* not applied to SSM blocks */
    double warmup;                 /* fraction of the steps with linear warm-up */
    double beta1, beta2, eps;
} ssm_optim_options;

typedef struct {
    size_t offset, length;         /* in the parameter vector */
    int ssm;                       /* lr_ssm, no weight decay */
    int frozen;
} ssm_param_block;

/* Moments of AdamW and the step count: everything a resumed run needs. */
typedef struct {
    size_t n_params;
    size_t step;                   /* steps taken */
    double *mom, *vel;
} ssm_optim_state;

/* AdamW, lr 1e-2, lr_ssm 1e-3, weight decay 0.01, warm-up 0.1, betas
 * 0.9 / 0.999, eps 1e-8 (the S4D example's settings). */
void ssm_optim_defaults(ssm_optim_options *o);
/* Learning rates non-negative and finite, betas in [0, 1), warm-up in [0, 1]. */
ssm_status ssm_optim_validate(const ssm_optim_options *o, ssm_error *err);

ssm_status ssm_optim_state_new(ssm_optim_state *s, size_t n_params, ssm_error *err);
void ssm_optim_state_free(ssm_optim_state *s);

/* Learning-rate factor at progress in [0, 1]: linear warm-up over the
 * first `warmup` of training, then a cosine decay to zero. */
double ssm_lr_schedule(double progress, double warmup);

/* One update of theta by grad at learning-rate factor `factor`
 * (ssm_lr_schedule of the progress); increments s->step. */
void ssm_optim_step(const ssm_optim_options *o, const ssm_param_block *blocks, size_t n_blocks,
                    double factor, double *theta, const double *grad, ssm_optim_state *s);

#endif

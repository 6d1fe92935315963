#include "config.h"

#include "optim.h"
#include "param_check.h"

#include <math.h>
#include <stdlib.h>

void ssm_optim_defaults(ssm_optim_options *o)
{
    o->optimizer = SSM_OPT_ADAMW;
    o->lr = 1e-2;
    o->lr_ssm = 1e-3;
    o->weight_decay = 0.01;
    o->warmup = 0.1;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
}

ssm_status ssm_optim_validate(const ssm_optim_options *o, ssm_error *err)
{
    ssm_status st;
    /* one message for the two rates; it names the one at fault */
    const int lr_bad = !(o->lr >= SSM_PARAM_MIN(SSM_PARAM_LR) && isfinite(o->lr));
    if (lr_bad || !(o->lr_ssm >= SSM_PARAM_MIN(SSM_PARAM_LR_SSM) && isfinite(o->lr_ssm)))
        return ssm_fail_param(err, SSM_EINVAL, lr_bad ? "lr" : "lr_ssm", "learning rates must be non-negative and finite");
    if (!(o->weight_decay >= SSM_PARAM_MIN(SSM_PARAM_WEIGHT_DECAY) && isfinite(o->weight_decay)))
        return ssm_fail_param(err, SSM_EINVAL, "weight_decay", "must be non-negative and finite");
    if (!SSM_PARAM_IN(o->warmup, SSM_PARAM_WARMUP))
        return ssm_fail_param(err, SSM_EINVAL, "warmup", "must be a fraction in [" SSM_PARAM_MIN_TEXT(SSM_PARAM_WARMUP) ", "
                              SSM_PARAM_MAX_TEXT(SSM_PARAM_WARMUP) "]");
    if ((st = SSM_PARAM_CHECK(o->lr, SSM_PARAM_LR, err)) || (st = SSM_PARAM_CHECK(o->lr_ssm, SSM_PARAM_LR_SSM, err)) ||
        (st = SSM_PARAM_CHECK(o->weight_decay, SSM_PARAM_WEIGHT_DECAY, err)))
        return st;
    if (!(o->beta1 >= 0 && o->beta1 < 1 && o->beta2 >= 0 && o->beta2 < 1 && o->eps > 0))
        return ssm_fail(err, SSM_EINVAL, "AdamW: betas must be in [0, 1) and eps positive");
    return SSM_OK;
}

ssm_status ssm_optim_state_new(ssm_optim_state *s, size_t n_params, ssm_error *err)
{
    s->n_params = n_params;
    s->step = 0;
    s->mom = calloc(n_params ? n_params : 1, sizeof *s->mom);
    s->vel = calloc(n_params ? n_params : 1, sizeof *s->vel);
    if (!s->mom || !s->vel) {
        ssm_optim_state_free(s);
        return ssm_fail(err, SSM_ENOMEM, "out of memory for the optimizer state (%zu parameters)", n_params);
    }
    return SSM_OK;
}

void ssm_optim_state_free(ssm_optim_state *s)
{
    if (!s)
        return;
    free(s->mom);
    free(s->vel);
    s->mom = s->vel = NULL;
}

double ssm_lr_schedule(double progress, double warmup)
{
    if (warmup > 0 && progress < warmup)
        return (progress + 1e-12) / warmup;
    double p = warmup < 1 ? (progress - warmup) / (1 - warmup) : 1;
    return 0.5 * (1 + cos(M_PI * fmin(fmax(p, 0), 1)));
}

void ssm_optim_step(const ssm_optim_options *o, const ssm_param_block *blocks, size_t n_blocks,
                    double factor, double *theta, const double *grad, ssm_optim_state *s)
{
    const double t = (double)(s->step + 1);
    /* bias corrections of Adam, once per step */
    const double c1 = 1 - pow(o->beta1, t), c2 = 1 - pow(o->beta2, t);
    for (size_t b = 0; b < n_blocks; ++b) {
        if (blocks[b].frozen)
            continue;
        const double lr = (blocks[b].ssm ? o->lr_ssm : o->lr) * factor;
        const double wd = blocks[b].ssm ? 0.0 : o->weight_decay;
        const size_t end = blocks[b].offset + blocks[b].length;
        for (size_t i = blocks[b].offset; i < end; ++i) {
            if (o->optimizer == SSM_OPT_SGD) {
                theta[i] -= lr * (grad[i] + wd * theta[i]);
                continue;
            }
            s->mom[i] = o->beta1 * s->mom[i] + (1 - o->beta1) * grad[i];
            s->vel[i] = o->beta2 * s->vel[i] + (1 - o->beta2) * grad[i] * grad[i];
            theta[i] -= lr * ((s->mom[i] / c1) / (sqrt(s->vel[i] / c2) + o->eps) + wd * theta[i]);
        }
    }
    ++s->step;
}

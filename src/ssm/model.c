#include "config.h"

#include "model.h"
#include "param_check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SSM_FAMILY_ROW(kind, name, continuous, even_n, fill, help) [kind] = {name, continuous, even_n, help},
static const ssm_family families[SSM_INIT_COUNT] = {SSM_FAMILIES(SSM_FAMILY_ROW)};
#undef SSM_FAMILY_ROW

const ssm_family *ssm_family_of(ssm_init_kind kind)
{
    return (unsigned)kind < SSM_INIT_COUNT ? &families[kind] : NULL;
}

void ssm_model_defaults(ssm_model *model)
{
    memset(model, 0, sizeof *model);
    model->init = SSM_INIT_S4D_INV;
    model->n = 32;
    model->dt = 0.01;
    model->disc = SSM_DISC_ZOH;
    model->rho = 0.99;
    model->groups = 4;
    model->real_part = 0.5;
    model->imag_scale = 1.0;
    model->seed = 0;
    model->file = NULL;
}

const char *ssm_init_name(ssm_init_kind kind)
{
    return (unsigned)kind < SSM_INIT_COUNT ? families[kind].name : "?";
}

ssm_status ssm_init_parse(const char *name, ssm_init_kind *kind, ssm_error *err)
{
    char known[256] = "";
    size_t len = 0;
    for (int k = 0; k < SSM_INIT_COUNT; ++k) {
        if (strcmp(name, families[k].name) == 0) {
            *kind = (ssm_init_kind)k;
            return SSM_OK;
        }
        const char *sep = k == 0 ? "" : k == SSM_INIT_COUNT - 1 ? " or " : ", ";
        len += (size_t)snprintf(known + len, len < sizeof known ? sizeof known - len : 0, "%s%s", sep,
                                families[k].name);
    }
    return ssm_fail_param(err, SSM_EINVAL, "init", "unknown initialization '%s' (expected %s)", name, known);
}

const char *ssm_disc_name(ssm_disc disc)
{
    return disc == SSM_DISC_BILINEAR ? "bilinear" : "zoh";
}

ssm_status ssm_disc_parse(const char *name, ssm_disc *disc, ssm_error *err)
{
    if (strcmp(name, "zoh") == 0)
        *disc = SSM_DISC_ZOH;
    else if (strcmp(name, "bilinear") == 0)
        *disc = SSM_DISC_BILINEAR;
    else
        return ssm_fail_param(err, SSM_EINVAL,
                        "disc", "unknown discretization '%s' (expected zoh or bilinear)", name);
    return SSM_OK;
}

int ssm_init_is_continuous(ssm_init_kind kind)
{
    return (unsigned)kind < SSM_INIT_COUNT && families[kind].continuous;
}

ssm_status ssm_model_validate(const ssm_model *m, ssm_error *err)
{
    if ((unsigned)m->init >= SSM_INIT_COUNT)
        return ssm_fail_param(err, SSM_EINVAL, "init", "invalid initialization");
    if (m->init == SSM_INIT_FILE) {
        if (!m->file || !*m->file)
            return ssm_fail_param(err, SSM_EINVAL, "file", "required when init is file");
        return SSM_OK;   /* N comes from the file */
    }
    if (m->n < SSM_PARAM_MIN(SSM_PARAM_N))
        return ssm_fail_param(err, SSM_EINVAL, "N", "state size must be at least " SSM_PARAM_MIN_TEXT(SSM_PARAM_N) ", got %ld",
                              m->n);
    if (m->n > SSM_MAX_N)
        return ssm_fail_param(err, SSM_EINVAL, "N", "state size %ld exceeds the limit %ld", m->n, SSM_MAX_N);
    if (families[m->init].even_n && m->n % 2 != 0)
        return ssm_fail_param(err, SSM_EINVAL,
                        "N", "%s uses N/2 conjugate pairs, so N must be even (got %ld)",
                        ssm_init_name(m->init), m->n);
    ssm_status st;
    if (ssm_init_is_continuous(m->init)) {
        if (!(isfinite(m->dt) && m->dt >= SSM_PARAM_MIN(SSM_PARAM_DT)))
            return ssm_fail_param(err, SSM_EINVAL, "dt", "must be a positive finite number, got %g", m->dt);
        if (!(isfinite(m->real_part) && m->real_part >= SSM_PARAM_MIN(SSM_PARAM_REAL_PART)))
            return ssm_fail_param(err, SSM_EINVAL,
                            "real_part", "must be positive and finite (stable modes), got %g",
                            m->real_part);
        if (!(isfinite(m->imag_scale) && m->imag_scale >= SSM_PARAM_MIN(SSM_PARAM_IMAG_SCALE)))
            return ssm_fail_param(err, SSM_EINVAL,
                            "imag_scale", "must be non-negative and finite, got %g", m->imag_scale);
        if ((st = SSM_PARAM_CHECK(m->dt, SSM_PARAM_DT, err)) || (st = SSM_PARAM_CHECK(m->real_part, SSM_PARAM_REAL_PART, err)) ||
            (st = SSM_PARAM_CHECK(m->imag_scale, SSM_PARAM_IMAG_SCALE, err)))
            return st;
    } else {
        if (!SSM_PARAM_IN(m->rho, SSM_PARAM_RHO))
            return ssm_fail_param(err, SSM_EINVAL, "rho", "radius must lie in (0, 1), got %g", m->rho);
    }
    if (m->init == SSM_INIT_STEP) {
        /* a divisor of N, hence within the row's maximum, which is N's */
        if (m->groups < SSM_PARAM_MIN(SSM_PARAM_GROUPS))
            return SSM_PARAM_CHECK(m->groups, SSM_PARAM_GROUPS, err);
        if (m->n % m->groups != 0)
            return ssm_fail_param(err, SSM_EINVAL,
                            "groups", "N = %ld is not a multiple of the group size %ld",
                            m->n, m->groups);
    }
    return SSM_OK;
}

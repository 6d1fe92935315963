#include "config.h"

#include "ffi.h"

#include <complex.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf.h"
#include "model.h"
#include "spectrum.h"

int ssm_ffi_version(void)
{
    return SSM_FFI_VERSION;
}

/* The status of err; its message copied for the caller, after the name of
 * the parameter at fault as the core names it (tau_max, T, dt: the names of
 * the specs and of the Python package's arguments), as the CLI puts its
 * option name there. */
static int report(const ssm_error *err, char *message, size_t size)
{
    if (message && size)
        snprintf(message, size, "%.*s%s%.*s", (int)sizeof err->param, err->param, err->param[0] ? ": " : "",
                 (int)sizeof err->message, err->message);
    return err->code;
}

/* ---- ssm_ffi_mf ------------------------------------------------------------------ */

static ssm_status mf_arguments(size_t n, const double *re, const double *im, const char *method, size_t tau_max,
                               size_t T, double rcond, ssm_mf_options *opts, ssm_error *err)
{
    ssm_mf_options_defaults(opts);
    ssm_status status = ssm_mf_method_parse(method ? method : "", &opts->method, err);
    if (status)
        return status;
    opts->tau_max = tau_max;
    if (T)
        opts->T = T;
    opts->rcond = rcond > 0 ? rcond : 0;
    status = ssm_mf_options_validate(opts, err);
    if (status)
        return status;
    if (n < 1)
        return ssm_fail(err, SSM_EINVAL, "no eigenvalues");
    if (n > (size_t)SSM_MAX_N)
        return ssm_fail(err, SSM_EINVAL, "%zu eigenvalues exceed the limit of N, %ld", n, SSM_MAX_N);
    if (!re || !im)
        return ssm_fail(err, SSM_EINVAL, "no eigenvalue array");
    for (size_t k = 0; k < n; ++k)
        if (!isfinite(re[k]) || !isfinite(im[k]))
            return ssm_fail(err, SSM_EINVAL, "eigenvalue %zu is not a pair of finite numbers (%g%+gi)", k, re[k],
                            im[k]);
    return SSM_OK;
}

int ssm_ffi_mf(size_t n, const double *re, const double *im, const char *method, size_t tau_max, size_t T,
               double rcond, double *mf, double *stats, char *message, size_t message_size)
{
    ssm_error err;
    ssm_error_clear(&err);
    ssm_mf_options opts;
    ssm_spectrum sp = {0, NULL};
    ssm_mf_result res = {0};
    if (mf_arguments(n, re, im, method, tau_max, T, rcond, &opts, &err) || !mf)
        goto done;
    sp.lambda = malloc(n * sizeof *sp.lambda);
    if (!sp.lambda) {
        ssm_fail(&err, SSM_ENOMEM, "out of memory for %zu eigenvalues", n);
        goto done;
    }
    sp.n = n;
    for (size_t k = 0; k < n; ++k)
        sp.lambda[k] = CMPLX(re[k], im[k]);
    if (ssm_mf_spectrum(&sp, &opts, &res, &err))
        goto done;
    memcpy(mf, res.mf, res.n_tau * sizeof *mf);
    if (stats) {
        stats[SSM_FFI_MC] = res.mc;
        stats[SSM_FFI_RANK] = (double)res.rank;
        stats[SSM_FFI_MEMORY_LENGTH] = ssm_mf_memory_length(&res);
        stats[SSM_FFI_COND] = res.cond;
        stats[SSM_FFI_RCOND] = res.rcond;
    }
done:
    ssm_mf_result_free(&res);
    ssm_spectrum_free(&sp);
    return report(&err, message, message_size);
}

/* ---- ssm_ffi_eig ----------------------------------------------------------------- */

typedef enum { PARAM_REAL, PARAM_LONG, PARAM_U64, PARAM_DISC, PARAM_TEXT } param_type;

/* The model's parameters by their names in the sweep specs. */
static const struct {
    const char *name;
    param_type type;
    size_t offset;
} model_params[] = {
    {"dt", PARAM_REAL, offsetof(ssm_model, dt)},
    {"disc", PARAM_DISC, offsetof(ssm_model, disc)},
    {"rho", PARAM_REAL, offsetof(ssm_model, rho)},
    {"groups", PARAM_LONG, offsetof(ssm_model, groups)},
    {"real_part", PARAM_REAL, offsetof(ssm_model, real_part)},
    {"imag_scale", PARAM_REAL, offsetof(ssm_model, imag_scale)},
    {"seed", PARAM_U64, offsetof(ssm_model, seed)},
    {"file", PARAM_TEXT, offsetof(ssm_model, file)},
};
#define N_MODEL_PARAMS (sizeof model_params / sizeof model_params[0])

/* Parses value into *field as type; 0 or -1 when it is not a whole
 * number of that type. */
static int parse_as(param_type type, const char *value, void *field)
{
    char *end = NULL;
    errno = 0;
    switch (type) {
    case PARAM_REAL:
        *(double *)field = strtod(value, &end);
        break;
    case PARAM_LONG:
        *(long *)field = strtol(value, &end, 10);
        break;
    case PARAM_U64:
        if (value[strspn(value, " \t")] == '-')
            return -1;
        *(uint64_t *)field = strtoull(value, &end, 10);
        break;
    default:
        return -1;
    }
    return end != value && *end == '\0' && errno == 0 ? 0 : -1;
}

static ssm_status set_param(ssm_model *model, const char *name, const char *value, ssm_error *err)
{
    if (!name || !value)
        return ssm_fail(err, SSM_EINVAL, "a parameter without a name or value");
    for (size_t k = 0; k < N_MODEL_PARAMS; ++k) {
        if (strcmp(name, model_params[k].name) != 0)
            continue;
        void *field = (char *)model + model_params[k].offset;
        switch (model_params[k].type) {
        case PARAM_DISC:
            return ssm_disc_parse(value, (ssm_disc *)field, err);
        case PARAM_TEXT:
            *(const char **)field = value;
            return SSM_OK;
        default:
            if (parse_as(model_params[k].type, value, field) == 0)
                return SSM_OK;
            return ssm_fail(err, SSM_EINVAL, "%s: expected %s, got '%s'", name,
                            model_params[k].type == PARAM_REAL ? "a number" : "a whole number", value);
        }
    }
    return ssm_fail(err, SSM_EINVAL,
                    "unknown parameter '%s' (known: dt, disc, rho, groups, real_part, imag_scale, seed, file)", name);
}

int ssm_ffi_eig(const char *init, long n, size_t n_params, const char *const *names, const char *const *values,
                double *re, double *im, size_t capacity, size_t *count, char *message, size_t message_size)
{
    ssm_error err;
    ssm_error_clear(&err);
    ssm_model model;
    ssm_spectrum sp = {0, NULL};
    ssm_model_defaults(&model);
    model.n = n;
    if (ssm_init_parse(init ? init : "", &model.init, &err))
        goto done;
    for (size_t k = 0; k < n_params; ++k)
        if (set_param(&model, names[k], values[k], &err))
            goto done;
    if (ssm_model_validate(&model, &err) || ssm_spectrum_build(&model, &sp, &err))
        goto done;
    if (count)
        *count = sp.n;
    if (re && im && capacity >= sp.n)
        for (size_t k = 0; k < sp.n; ++k) {
            re[k] = creal(sp.lambda[k]);
            im[k] = cimag(sp.lambda[k]);
        }
done:
    ssm_spectrum_free(&sp);
    return report(&err, message, message_size);
}

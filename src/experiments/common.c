#include "config.h"

#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EX_FAMILY_NAME(kind, name, continuous, even_n, fill, help) name,
const char *const ex_init_choices[] = {SSM_FAMILIES(EX_FAMILY_NAME) NULL};
#undef EX_FAMILY_NAME
const char *const ex_disc_choices[] = {"zoh", "bilinear", NULL};
const char *const ex_precision_choices[] = {"float32", "float64", NULL};

void ex_model_from_params(const sw_value *p, uint64_t seed, ssm_model *m)
{
    enum { INIT, N, DT, DISC, RHO, GROUPS, REAL_PART, IMAG_SCALE };
    ssm_error ignored;
    ssm_model_defaults(m);
    ssm_init_parse(p[INIT].s, &m->init, &ignored);
    ssm_disc_parse(p[DISC].s, &m->disc, &ignored);
    m->n = (long)p[N].i;
    m->dt = p[DT].r;
    m->rho = p[RHO].r;
    m->groups = (long)p[GROUPS].i;
    m->real_part = p[REAL_PART].r;
    m->imag_scale = p[IMAG_SCALE].r;
    m->seed = seed;
}

double *ex_copy_of(const double *src, size_t n)
{
    double *dst = malloc((n ? n : 1) * sizeof *dst);
    if (dst)
        memcpy(dst, src, n * sizeof *dst);
    return dst;
}

double *ex_parts_of(const double complex *z, size_t n, int imag)
{
    double *dst = malloc((n ? n : 1) * sizeof *dst);
    for (size_t k = 0; dst && k < n; ++k)
        dst[k] = imag ? cimag(z[k]) : creal(z[k]);
    return dst;
}

ssm_status ex_take_curves(sw_result *out, double **curves, const size_t *lens, size_t n, ssm_error *err)
{
    ssm_status st = SSM_OK;
    for (size_t k = 0; k < n; ++k) {
        if (!curves[k])
            st = ssm_fail(err, SSM_ENOMEM, "out of memory");
        sw_result_set_curve(out, k, curves[k], curves[k] ? lens[k] : 0);
    }
    return st;
}

#include "config.h"

#include "kinds.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sw_error_text(const ssm_error *err, char *buf, size_t size)
{
    if (err->param[0])
        snprintf(buf, size, "%s: %s", err->param, err->message);
    else
        snprintf(buf, size, "%s", err->message);
}

const sw_kind *sw_registry_find(const sw_registry *registry, const char *name)
{
    for (size_t k = 0; registry && k < registry->n_kinds; ++k)
        if (strcmp(registry->kinds[k]->name, name) == 0)
            return registry->kinds[k];
    return NULL;
}

int sw_kind_param_index(const sw_kind *kind, const char *name)
{
    for (size_t k = 0; k < kind->n_params; ++k)
        if (strcmp(kind->params[k].name, name) == 0)
            return (int)k;
    return -1;
}

ssm_status sw_result_init(sw_result *r, const sw_kind *kind, ssm_error *err)
{
    memset(r, 0, sizeof *r);
    r->n_scalars = kind->n_scalars;
    r->n_curves = kind->n_curves;
    r->scalars = malloc((r->n_scalars ? r->n_scalars : 1) * sizeof *r->scalars);
    r->curves = calloc(r->n_curves ? r->n_curves : 1, sizeof *r->curves);
    r->curve_len = calloc(r->n_curves ? r->n_curves : 1, sizeof *r->curve_len);
    if (!r->scalars || !r->curves || !r->curve_len) {
        sw_result_free(r);
        return ssm_fail(err, SSM_ENOMEM, "out of memory for a result record");
    }
    for (size_t k = 0; k < r->n_scalars; ++k)
        r->scalars[k] = NAN;
    return SSM_OK;
}

void sw_result_set_curve(sw_result *r, size_t c, double *values, size_t len)
{
    free(r->curves[c]);
    r->curves[c] = values;
    r->curve_len[c] = len;
}

void sw_result_free(sw_result *r)
{
    if (!r)
        return;
    for (size_t c = 0; r->curves && c < r->n_curves; ++c)
        free(r->curves[c]);
    free(r->curves);
    free(r->curve_len);
    free(r->scalars);
    memset(r, 0, sizeof *r);
}

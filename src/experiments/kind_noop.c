#include "config.h"

#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "ssm/rng.h"

/* ---- kind "noop": a controllable task for tests and overhead benchmarks ---- */

enum { NOOP_VALUE, NOOP_SLEEP, NOOP_FAIL, NOOP_LENGTH, NOOP_REPEAT, NOOP_N_PARAMS };

static const sw_param_desc noop_params[NOOP_N_PARAMS] = {
    [NOOP_VALUE] = {"value", SW_REAL, "0", -1e300, 1e300, NULL, "1", "input value"},
    [NOOP_SLEEP] = {"sleep", SW_REAL, "0", 0, 3600, NULL, "s", "time the task sleeps"},
    [NOOP_FAIL] = {"fail", SW_INT, "0", 0, 1, NULL, "1", "1: the task fails on purpose"},
    [NOOP_LENGTH] = {"length", SW_INT, "0", 0, 1000000, NULL, "1", "length of the ramp curve"},
    [NOOP_REPEAT] = {"repeat", SW_INT, "0", 0, 1e9, NULL, "1", "replica index"},
};

static const sw_output_desc noop_scalars[] = {
    {"square", "1", "value squared"},
    {"draw", "1", "first uniform number of the task's random stream"},
};

static const sw_curve_desc noop_curves[] = {{"ramp", "index", "1", "value + index"}};

static ssm_status noop_check(const sw_value *p, ssm_error *err)
{
    (void)p;
    (void)err;
    return SSM_OK;
}

static double noop_cost(const sw_value *p)
{
    return 1 + 1e9 * p[NOOP_SLEEP].r + (double)p[NOOP_LENGTH].i;
}

static size_t noop_curve_length(const sw_value *p, size_t c)
{
    (void)c;
    return (size_t)p[NOOP_LENGTH].i;
}

static double noop_memory(const sw_value *p)
{
    return 8 * (double)p[NOOP_LENGTH].i;   /* the ramp */
}

static ssm_status noop_run(const sw_value *p, uint64_t seed, const sw_task_env *env, sw_result *out,
                           ssm_error *err)
{
    (void)env;   /* short tasks: no checkpoints */
    if (p[NOOP_SLEEP].r > 0) {
        double s = p[NOOP_SLEEP].r;
        struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    if (p[NOOP_FAIL].i)
        return ssm_fail(err, SSM_ENUMERIC, "failed on purpose (fail = 1)");
    ssm_rng rng;
    ssm_rng_init(&rng, seed, 0, 0);
    out->scalars[0] = p[NOOP_VALUE].r * p[NOOP_VALUE].r;
    out->scalars[1] = ssm_rng_uniform(&rng);
    size_t len = (size_t)p[NOOP_LENGTH].i;
    if (len) {
        double *ramp = malloc(len * sizeof *ramp);
        if (!ramp)
            return ssm_fail(err, SSM_ENOMEM, "out of memory");
        for (size_t k = 0; k < len; ++k)
            ramp[k] = p[NOOP_VALUE].r + (double)k;
        sw_result_set_curve(out, 0, ramp, len);
    }
    return SSM_OK;
}

const sw_kind ex_kind_noop = {
    .name = "noop",
    .summary = "a trivial task (tests, coordinator overhead benchmark)",
    .params = noop_params, .n_params = NOOP_N_PARAMS,
    .scalars = noop_scalars, .n_scalars = 2,
    .curves = noop_curves, .n_curves = 1,
    .check = noop_check, .cost = noop_cost, .memory = noop_memory, .curve_length = noop_curve_length,
    .run = noop_run,
};

/* The parameter ranges of src/ssm/param.h, the one place they are stated:
 *   - every row is well formed (min <= max, integral bounds for integers,
 *     the texts messages quote read back as the bounds);
 *   - every numeric parameter of every registered task kind that has the
 *     key of a row takes that row's type and bounds (a kind that wrote a
 *     range of its own for such a key would fail here);
 *   - the core's validation (and sw_train_validate) accepts each row's
 *     bounds and refuses the values just beyond them, naming the row's key. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/registry.h"
#include "experiments/trainrun.h"
#include "ssm/deep.h"
#include "ssm/mf.h"
#include "ssm/optim.h"
#include "ssm/param.h"
#include "ssm/train.h"
#include "testutil.h"

typedef struct {
    const char *name, *key;
    int integer;
    double min, max;
    const char *min_text, *max_text;
} row;

#define ROW(r) {#r, SSM_PARAM_KEY(r), SSM_PARAM_INTEGER(r), SSM_PARAM_MIN(r), SSM_PARAM_MAX(r), \
                SSM_PARAM_MIN_TEXT(r), SSM_PARAM_MAX_TEXT(r)},
static const row rows[] = {SSM_PARAMS(ROW)};
#undef ROW
#define N_ROWS (sizeof rows / sizeof *rows)

static void check_rows(void)
{
    for (size_t k = 0; k < N_ROWS; ++k) {
        const row *r = &rows[k];
        /* an open bound has no text of its own: its message says "positive" or "below 1" */
        int min_reads = r->min == SSM_POSITIVE || strtod(r->min_text, NULL) == r->min;
        int max_reads = r->max == SSM_BELOW_ONE || strtod(r->max_text, NULL) == r->max;
        int integral = !r->integer || (r->min == floor(r->min) && r->max == floor(r->max));
        CHECK(*r->key && r->min <= r->max && integral && min_reads && max_reads,
              "%s: key %s, %s [%s, %s]", r->name, r->key, r->integer ? "integer" : "real", r->min_text, r->max_text);
    }
}

/* The numeric parameters that are their kind's alone ("kind.name"). */
static const char *const own_params[] = {"mf.repeat", "train.repeat", "sfmnist.repeat", "noop.repeat", "noop.value",
                                         "noop.sleep", "noop.fail", "noop.length"};

static int is_own(const sw_kind *kind, const char *name)
{
    char full[96];
    snprintf(full, sizeof full, "%s.%s", kind->name, name);
    for (size_t k = 0; k < sizeof own_params / sizeof *own_params; ++k)
        if (strcmp(own_params[k], full) == 0)
            return 1;
    return 0;
}

/* Each kind's numeric parameters: a row of their key, or their kind's own. */
static void check_kinds(void)
{
    size_t from_rows = 0, own = 0;
    for (size_t k = 0; k < ex_registry.n_kinds; ++k) {
        const sw_kind *kind = ex_registry.kinds[k];
        for (size_t p = 0; p < kind->n_params; ++p) {
            const sw_param_desc *d = &kind->params[p];
            int keyed = 0, same = 0;   /* a key with rows; one of them is this parameter's */
            if (d->type == SW_STRING)
                continue;
            for (size_t r = 0; r < N_ROWS; ++r)
                if (strcmp(rows[r].key, d->name) == 0) {
                    keyed = 1;
                    same |= (d->type == SW_INT) == rows[r].integer && d->min == rows[r].min && d->max == rows[r].max;
                }
            if (is_own(kind, d->name)) {
                ++own;
                CHECK(1, "kind %s, %s: [%g, %g], the kind's own", kind->name, d->name, d->min, d->max);
                continue;
            }
            CHECK(same, "kind %s, %s: [%g, %g] %s is a row of param.h", kind->name, d->name, d->min, d->max,
                  d->type == SW_INT ? "integer" : "real");
            from_rows += keyed;
        }
    }
    CHECK(own == sizeof own_params / sizeof *own_params && from_rows >= 54,
          "%zu numeric kind parameters take their rows, %zu are their kind's own", from_rows, own);
}

/* ---- the core's checks --------------------------------------------------------------- */

enum {
    F_N, F_DT, F_RHO, F_GROUPS, F_REAL_PART, F_IMAG_SCALE, F_TAU_MAX, F_T, F_RCOND, F_LENGTH, F_NOISE,
    F_TEACHER_MEMORY, F_TEACHER_MODES, F_N_TRAIN, F_N_VAL, F_EPOCHS, F_BATCH, F_LR, F_LR_SSM, F_WEIGHT_DECAY,
    F_WARMUP, F_THRESHOLD, F_RIDGE, F_N_TRAINED, F_D_MODEL, F_LAYERS, F_DT_MIN, F_DT_MAX, F_DROPOUT, F_DEEP_BATCH,
    F_DEEP_N
};

/* A default configuration with one value set, through the validation
 * that guards it. */
static ssm_status validate_with(int field, double v, ssm_error *err)
{
    ssm_model m;
    ssm_mf_options o;
    sw_train_config c;
    ssm_deep_config d;
    ssm_deep_train_options dt;
    ssm_class_data none = {0};
    ssm_error_clear(err);
    ssm_model_defaults(&m);
    ssm_mf_options_defaults(&o);
    sw_train_config_defaults(&c);
    ssm_deep_config_defaults(&d);
    memset(&dt, 0, sizeof dt);
    ssm_optim_defaults(&dt.optim);
    dt.epochs = dt.batch = 1;
    switch (field) {
    case F_N: m.init = SSM_INIT_S4D_REAL; m.n = (long)v; return ssm_model_validate(&m, err);
    case F_DT: m.dt = v; return ssm_model_validate(&m, err);
    case F_RHO: m.init = SSM_INIT_LIN; m.rho = v; return ssm_model_validate(&m, err);
    case F_GROUPS: m.init = SSM_INIT_STEP; m.n = 65536; m.groups = (long)v; return ssm_model_validate(&m, err);
    case F_REAL_PART: m.real_part = v; return ssm_model_validate(&m, err);
    case F_IMAG_SCALE: m.imag_scale = v; return ssm_model_validate(&m, err);
    case F_TAU_MAX: o.tau_max = (size_t)v; return ssm_mf_options_validate(&o, err);
    case F_T: o.method = SSM_MF_FINITE; o.tau_max = 0; o.T = (size_t)v; return ssm_mf_options_validate(&o, err);
    case F_RCOND: o.rcond = v; return ssm_mf_options_validate(&o, err);
    case F_LENGTH: c.task.delays[0] = 0; c.task.length = (size_t)v; return sw_train_validate(&c, err);
    case F_NOISE: c.task.noise = v; return sw_train_validate(&c, err);
    case F_TEACHER_MEMORY: c.task.type = SSM_TASK_TEACHER; c.task.teacher_memory = v; return sw_train_validate(&c, err);
    case F_TEACHER_MODES: c.task.type = SSM_TASK_TEACHER; c.task.teacher_modes = (size_t)v; return sw_train_validate(&c, err);
    case F_N_TRAIN: c.task.n_train = (size_t)v; return sw_train_validate(&c, err);
    case F_N_VAL: c.task.n_val = (size_t)v; return sw_train_validate(&c, err);
    case F_EPOCHS: c.train.epochs = (size_t)v; return sw_train_validate(&c, err);
    case F_BATCH: c.train.batch = (size_t)v; return sw_train_validate(&c, err);
    case F_LR: c.train.optim.lr = v; return sw_train_validate(&c, err);
    case F_LR_SSM: c.train.optim.lr_ssm = v; return sw_train_validate(&c, err);
    case F_WEIGHT_DECAY: c.train.optim.weight_decay = v; return sw_train_validate(&c, err);
    case F_WARMUP: c.train.optim.warmup = v; return sw_train_validate(&c, err);
    case F_THRESHOLD: c.train.threshold = v; return sw_train_validate(&c, err);
    case F_RIDGE: c.ridge = v; return sw_train_validate(&c, err);
    case F_N_TRAINED: c.model.init = SSM_INIT_S4D_REAL; c.model.n = (long)v; return sw_train_validate(&c, err);
    case F_D_MODEL: d.d_model = (size_t)v; return ssm_deep_config_validate(&d, err);
    case F_LAYERS: d.n_layers = (size_t)v; return ssm_deep_config_validate(&d, err);
    case F_DT_MIN: d.dt_min = v; d.dt_max = fmax(v, d.dt_max); return ssm_deep_config_validate(&d, err);
    case F_DT_MAX:
        d.dt_max = v;
        d.dt_min = v > 0 ? fmin(v, d.dt_min) : d.dt_min;
        return ssm_deep_config_validate(&d, err);
    case F_DROPOUT: d.dropout = v; return ssm_deep_config_validate(&d, err);
    case F_DEEP_N: d.eig.init = SSM_INIT_S4D_REAL; d.eig.n = (long)v; return ssm_deep_config_validate(&d, err);
    case F_DEEP_BATCH:   /* checked before the (empty) data: the rest of a call fails without naming a parameter */
        dt.batch = (size_t)v;
        return ssm_deep_train(NULL, NULL, &dt, &none, &none, NULL, NULL, err);
    }
    return SSM_EINVAL;
}

typedef struct {
    const char *name, *key;
    int integer;
    double min, max;
    int field;
    int below, beyond;   /* the value just below min (beyond max) can be set and is the core's to refuse */
} core_case;

#define CASE(r, field, below, beyond) \
    {#r, SSM_PARAM_KEY(r), SSM_PARAM_INTEGER(r), SSM_PARAM_MIN(r), SSM_PARAM_MAX(r), field, below, beyond}
#define CASE_MAX(r, max, field, below, beyond) \
    {#r, SSM_PARAM_KEY(r), SSM_PARAM_INTEGER(r), SSM_PARAM_MIN(r), max, field, below, beyond}
/* Not here: washout and delay (held below the length, itself within its
 * row), the mf washout (finite and simulate hold it to SSM_MF_MAX_LENGTH,
 * the others ignore it), minima of 0 of unsigned fields, the spec's -1 of
 * washout, and the rows of the deep classifier's data (the spec's alone:
 * the core holds n_val below the image count of the file). */
static const core_case cases[] = {
    CASE(SSM_PARAM_N, F_N, 1, 1),
    CASE(SSM_PARAM_DT, F_DT, 1, 1),
    CASE(SSM_PARAM_RHO, F_RHO, 1, 1),
    CASE(SSM_PARAM_GROUPS, F_GROUPS, 1, 1),
    CASE(SSM_PARAM_REAL_PART, F_REAL_PART, 1, 1),
    CASE(SSM_PARAM_IMAG_SCALE, F_IMAG_SCALE, 1, 1),
    CASE(SSM_PARAM_TAU_MAX, F_TAU_MAX, 0, 1),
    CASE_MAX(SSM_PARAM_T, SSM_MF_MAX_LENGTH, F_T, 1, 1),   /* finite and simulate: T is theirs */
    CASE(SSM_PARAM_RCOND, F_RCOND, 1, 1),
    CASE(SSM_PARAM_LENGTH, F_LENGTH, 1, 1),
    CASE(SSM_PARAM_NOISE, F_NOISE, 1, 1),
    CASE(SSM_PARAM_TEACHER_MEMORY, F_TEACHER_MEMORY, 1, 1),
    CASE(SSM_PARAM_TEACHER_MODES, F_TEACHER_MODES, 1, 1),
    CASE(SSM_PARAM_N_TRAIN, F_N_TRAIN, 1, 1),
    CASE(SSM_PARAM_N_VAL, F_N_VAL, 1, 1),
    CASE(SSM_PARAM_EPOCHS, F_EPOCHS, 1, 1),
    CASE(SSM_PARAM_BATCH, F_BATCH, 1, 1),
    CASE(SSM_PARAM_LR, F_LR, 1, 1),
    CASE(SSM_PARAM_LR_SSM, F_LR_SSM, 1, 1),
    CASE(SSM_PARAM_WEIGHT_DECAY, F_WEIGHT_DECAY, 1, 1),
    CASE(SSM_PARAM_WARMUP, F_WARMUP, 1, 1),
    CASE(SSM_PARAM_THRESHOLD, F_THRESHOLD, 1, 1),
    CASE(SSM_PARAM_RIDGE, F_RIDGE, 1, 1),
    CASE(SSM_PARAM_N_TRAINED, F_N_TRAINED, 1, 1),
    CASE(SSM_PARAM_N_TRAINED, F_DEEP_N, 1, 1),
    CASE(SSM_PARAM_D_MODEL, F_D_MODEL, 1, 1),
    CASE(SSM_PARAM_LAYERS, F_LAYERS, 1, 1),
    CASE(SSM_PARAM_DT_MIN, F_DT_MIN, 1, 1),
    CASE(SSM_PARAM_DT_MAX, F_DT_MAX, 1, 1),
    CASE(SSM_PARAM_DROPOUT, F_DROPOUT, 1, 1),
    CASE(SSM_PARAM_DEEP_BATCH, F_DEEP_BATCH, 1, 1),
};

/* v is accepted (or refused for another reason than this key) / refused naming it */
static int blames(const core_case *c, double v, ssm_error *err)
{
    return validate_with(c->field, v, err) == SSM_EINVAL && strcmp(err->param, c->key) == 0;
}

static void check_core(void)
{
    ssm_error err;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; ++k) {
        const core_case *c = &cases[k];
        /* N_TRAINED is within N's row, whose own minimum is N's */
        CHECK(!blames(c, c->min, &err) && !blames(c, c->max, &err), "%s (%s): %.17g and %.17g accepted (%s)", c->name,
              c->key, c->min, c->max, err.message);
        double below = c->integer ? c->min - 1 : nextafter(c->min, -INFINITY);
        double beyond = c->integer ? c->max + 1 : nextafter(c->max, INFINITY);
        if (c->below)
            CHECK(blames(c, below, &err), "%s: %.17g refused: %s: %s", c->name, below, err.param, err.message);
        if (c->beyond)
            CHECK(blames(c, beyond, &err), "%s: %.17g refused: %s: %s", c->name, beyond, err.param, err.message);
    }
}

int main(void)
{
    check_rows();
    check_kinds();
    check_core();
    return test_summary("test_params");
}

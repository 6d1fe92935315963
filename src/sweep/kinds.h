/* Task kinds: the interface through which the sweep engine knows about
 * experiments.
 *
 * A kind declares its parameters (names, types, defaults, ranges), the
 * scalar results and per-delay (or per-epoch) curves it produces, a cost
 * estimate for scheduling, a peak-memory estimate, and a run function that turns one parameter
 * vector into one result record.  The spec parser, the scheduler, the
 * journal and the HDF5 writer are written against this description only.
 * The engine holds no kind of its own: the program that links it hands in
 * a registry (src/experiments/registry.c for the command line; a test may
 * make its own). */
#ifndef SW_KINDS_H
#define SW_KINDS_H

#include <stddef.h>
#include <stdint.h>

#include "ssm/error.h"

typedef enum { SW_INT, SW_REAL, SW_STRING } sw_type;

typedef struct {
    sw_type type;
    long long i;
    double r;
    const char *s;   /* SW_STRING: owned by the task table / spec */
} sw_value;

typedef struct {
    const char *name;        /* as in specs and HDF5 (/params/<name>) */
    sw_type type;
    const char *def;         /* default as YAML text; NULL: required */
    double min, max;         /* inclusive numeric range (ignored for strings) */
    const char *const *choices;  /* SW_STRING: NULL-terminated allowed values, or NULL */
    const char *units;       /* CF units attribute ("1" for dimensionless) */
    const char *long_name;   /* CF long_name */
    unsigned flags;          /* SW_PARAM_* */
} sw_param_desc;

/* Left out of a task's canonical text (hence of its hash and seed) while
 * it holds its default: a parameter added to a kind later keeps the
 * hashes of every spec written before it. */
#define SW_PARAM_SILENT_DEFAULT 1u

typedef struct {
    const char *name;        /* /results/<name> */
    const char *units;
    const char *long_name;
} sw_output_desc;

/* A curve is a result indexed by a second axis (tau, epoch). */
typedef struct {
    const char *name;        /* /results/<name>, shape [task, axis] */
    const char *axis;        /* name of the shared dimension scale: "tau", "epoch" */
    const char *units;
    const char *long_name;
} sw_curve_desc;

/* One task's outcome.  Scalars and curve values are doubles (NaN where a
 * value does not exist); the record owns its curve buffers. */
typedef struct {
    size_t n_scalars, n_curves;
    double *scalars;          /* n_scalars */
    double **curves;          /* n_curves arrays */
    size_t *curve_len;        /* n_curves lengths */
} sw_result;

/* Where a task runs: long tasks may checkpoint into checkpoint_dir (created
 * on demand; NULL: no checkpoints) in the file sw_checkpoint_path names
 * (ckpt.h), and continue from there when the sweep is resumed.  A kind
 * never deletes that file: the engine does, once the task's journal
 * record is durable. */
typedef struct {
    const char *checkpoint_dir;
    uint64_t task_hash;
} sw_task_env;

typedef struct sw_kind {
    const char *name;
    const char *summary;
    const sw_param_desc *params;
    size_t n_params;
    const sw_output_desc *scalars;
    size_t n_scalars;
    const sw_curve_desc *curves;
    size_t n_curves;
    /* Cross-parameter validation after each value passed its range check
     * (e.g. T >= tau_max); the message names the parameter. */
    ssm_status (*check)(const sw_value *params, ssm_error *err);
    /* Relative cost (about flops) for most-expensive-first scheduling. */
    double (*cost)(const sw_value *params);
    /* Peak bytes one task allocates, about: a model of its arrays built
     * on the core's own workspace-size functions, checked against measured
     * peak RSS (tests/test_memory.c).  `plan` shows it; `run` refuses a
     * sweep whose largest task cannot fit in a rank's memory (memory.h).
     * A double, so absurd sizes do not overflow. */
    double (*memory)(const sw_value *params);
    /* Length of curve c for these parameters (sizes the HDF5 axis). */
    size_t (*curve_length)(const sw_value *params, size_t c);
    /* Runs the task; seed is derived from (master seed, task hash).  On
     * failure the result is left empty and err says why. */
    ssm_status (*run)(const sw_value *params, uint64_t seed, const sw_task_env *env, sw_result *out,
                      ssm_error *err);
} sw_kind;

/* The kinds a program offers, in the order messages list them. */
typedef struct {
    const sw_kind *const *kinds;
    size_t n_kinds;
} sw_registry;

/* The kind of that name in registry, or NULL. */
const sw_kind *sw_registry_find(const sw_registry *registry, const char *name);
/* Index of a parameter by name, or -1. */
int sw_kind_param_index(const sw_kind *kind, const char *name);

/* An error as a sweep shows it: "param: message" when a parameter is at
 * fault (its name is the spec key), else the message. */
void sw_error_text(const ssm_error *err, char *buf, size_t size);

/* Result records. */
ssm_status sw_result_init(sw_result *r, const sw_kind *kind, ssm_error *err);
/* Takes ownership of values (malloc'ed, len doubles) as curve c. */
void sw_result_set_curve(sw_result *r, size_t c, double *values, size_t len);
void sw_result_free(sw_result *r);

#endif

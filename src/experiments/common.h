/* What the experiments share: the block of model parameters every kind
 * built on an ssm_model declares, its conversion into an ssm_model, and
 * the hand-over of result curves to a record. */
#ifndef EX_COMMON_H
#define EX_COMMON_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

#include "ssm/model.h"
#include "ssm/param.h"
#include "sweep/kinds.h"

/* The choices of the init and disc parameters. */
extern const char *const ex_init_choices[];
extern const char *const ex_disc_choices[];
extern const char *const ex_precision_choices[];   /* float32, float64 */

/* The first fields of a parameter descriptor (name, type, default, range)
 * from its row in ssm/param.h: {EX_PARAM(SSM_PARAM_DT, "0.01"), NULL, "1",
 * "discretization step"}. */
#define EX_PARAM(...) EX_PARAM_(__VA_ARGS__)   /* (row, default); variadic: a macro may hand on an expanded row */
#define EX_PARAM_(key, integer, min, max, def) key, (integer) ? SW_INT : SW_REAL, def, min, max

/* The model parameters every kind built on an ssm_model shares (P is the
 * kind's enum prefix, N_ROW the row of N: SSM_PARAM_N, or
 * SSM_PARAM_N_TRAINED for a model that is trained). */
#define SW_MODEL_PARAMS(P, N_ROW, N_DEF)                                                                  \
    [P##INIT] = {"init", SW_STRING, "s4d-inv", 0, 0, ex_init_choices, "1", "eigenvalue configuration (at init)"}, \
    [P##N] = {EX_PARAM(N_ROW, N_DEF), NULL, "1", "real state dimension"},                                     \
    [P##DT] = {EX_PARAM(SSM_PARAM_DT, "0.01"), NULL, "1", "discretization step (at init)"},                  \
    [P##DISC] = {"disc", SW_STRING, "zoh", 0, 0, ex_disc_choices, "1", "discretization"},                          \
    [P##RHO] = {EX_PARAM(SSM_PARAM_RHO, "0.99"), NULL, "1", "radius of lin, step and random"},                 \
    [P##GROUPS] = {EX_PARAM(SSM_PARAM_GROUPS, "4"), NULL, "1", "roots of unity per radius (step)"},              \
    [P##REAL_PART] = {EX_PARAM(SSM_PARAM_REAL_PART, "0.5"), NULL, "1", "-Re A_n of the S4D families"},          \
    [P##IMAG_SCALE] = {EX_PARAM(SSM_PARAM_IMAG_SCALE, "1"), NULL, "1", "factor on Im A_n"}

/* The ssm_model of the SW_MODEL_PARAMS block that starts at p (its INIT
 * entry); the choices were checked by the spec parser. */
void ex_model_from_params(const sw_value *p, uint64_t seed, ssm_model *m);

/* Copies of result arrays for a record (malloc'ed; NULL when out of memory). */
double *ex_copy_of(const double *src, size_t n);
double *ex_parts_of(const double complex *z, size_t n, int imag);

/* Hands curves[k] (length lens[k]) to the record; a NULL curve (its
 * allocation failed) is an out-of-memory error, the others are kept. */
ssm_status ex_take_curves(sw_result *out, double **curves, const size_t *lens, size_t n, ssm_error *err);

#endif

/* Model description: which eigenvalue configuration, its size and how it is
 * discretized.  A plain value type, so a sweep task can hold one by value. */
#ifndef SSM_MODEL_H
#define SSM_MODEL_H

#include <stdint.h>

#include "error.h"
#include "family.h"
#include "param.h"

/* The families and their formulas: family.h. */
#define SSM_FAMILY_ENUM(kind, name, continuous, even_n, fill, help) kind,
typedef enum { SSM_FAMILIES(SSM_FAMILY_ENUM) SSM_INIT_COUNT } ssm_init_kind;
#undef SSM_FAMILY_ENUM

/* A family's row (family.h); the fill function is spectrum.c's. */
typedef struct {
    const char *name;
    int continuous;   /* A_n, discretized with dt; else lambda_k directly */
    int even_n;       /* N/2 modes with implicit conjugates: N must be even */
    const char *help;
} ssm_family;

/* The row of kind (NULL outside the enum). */
const ssm_family *ssm_family_of(ssm_init_kind kind);

typedef enum { SSM_DISC_ZOH, SSM_DISC_BILINEAR } ssm_disc;

/* Largest N we accept (its row in param.h): the dense engines need N^2
 * doubles and LAPACK ints; an eigenvalue file holds at most this many
 * values too. */
#define SSM_MAX_N ((long)SSM_PARAM_MAX(SSM_PARAM_N))

typedef struct {
    ssm_init_kind init;
    long n;               /* real state dimension, conjugates counted */
    double dt;            /* discretization step (continuous families) */
    ssm_disc disc;
    double rho;           /* radius of the discrete families, in (0, 1) */
    long groups;          /* c of the `step` family */
    double real_part;     /* a = -Re A_n of the S4D families */
    double imag_scale;    /* s, multiplies Im A_n */
    uint64_t seed;        /* random families */
    const char *file;     /* SSM_INIT_FILE: path of the CSV, not owned */
} ssm_model;

/* Defaults: n = 32, dt = 0.01, zoh, rho = 0.99, groups = 4,
 * real_part = 0.5, imag_scale = 1, seed = 0. */
void ssm_model_defaults(ssm_model *model);

/* Checks every field the chosen family uses against its row of param.h;
 * err names the parameter that is out of range. */
ssm_status ssm_model_validate(const ssm_model *model, ssm_error *err);

/* Names as used on the command line and in sweep specs ("s4d-inv", ...). */
const char *ssm_init_name(ssm_init_kind kind);
ssm_status ssm_init_parse(const char *name, ssm_init_kind *kind, ssm_error *err);
const char *ssm_disc_name(ssm_disc disc);
ssm_status ssm_disc_parse(const char *name, ssm_disc *disc, ssm_error *err);

/* True for the families defined by continuous A_n and a step dt. */
int ssm_init_is_continuous(ssm_init_kind kind);

#endif

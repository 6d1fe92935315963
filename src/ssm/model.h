/* Model description: which eigenvalue configuration, its size and how it is
 * discretized.  A plain value type, so a sweep task can hold one by value. */
#ifndef SSM_MODEL_H
#define SSM_MODEL_H

#include <stdint.h>

#include "error.h"

typedef enum {
    SSM_INIT_S4D_INV,     /* A_n = -a + i s (N/pi)(N/(2n+1) - 1)          */
    SSM_INIT_S4D_LIN,     /* A_n = -a + i s pi n                           */
    SSM_INIT_S4D_REAL,    /* A_n = -(n+1), n = 0..N-1 (N real modes)       */
    SSM_INIT_S4D_RANDOM,  /* A_n = -a + i s exp(eps_n), eps_n ~ N(0,1)     */
    SSM_INIT_S4D_LEGS,    /* A_n = -a + i s omega_n, normal part of LegS   */
    SSM_INIT_LIN,         /* lambda_k = rho k/N, k = 1..N (real, discrete) */
    SSM_INIT_STEP,        /* rho (i/p) exp(2 pi i j/c): a staircase of |l| */
    SSM_INIT_RANDOM,      /* conjugate pairs uniform in the rho-disk       */
    SSM_INIT_FILE,        /* discrete eigenvalues read from a CSV file     */
    SSM_INIT_LEGS_DENSE,  /* the dense HiPPO-LegS system of S4             */
    SSM_INIT_COUNT
} ssm_init_kind;

typedef enum { SSM_DISC_ZOH, SSM_DISC_BILINEAR } ssm_disc;

/* Largest N we accept: the dense engines need N^2 doubles and LAPACK
 * ints; an eigenvalue file holds at most this many values too. */
#define SSM_MAX_N 65536L

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

/* Checks every field the chosen family uses; the message names the option
 * (as the CLI spells it) that is out of range. */
ssm_status ssm_model_validate(const ssm_model *model, ssm_error *err);

/* Names as used on the command line and in sweep specs ("s4d-inv", ...). */
const char *ssm_init_name(ssm_init_kind kind);
ssm_status ssm_init_parse(const char *name, ssm_init_kind *kind, ssm_error *err);
const char *ssm_disc_name(ssm_disc disc);
ssm_status ssm_disc_parse(const char *name, ssm_disc *disc, ssm_error *err);

/* True for the families defined by continuous A_n and a step dt. */
int ssm_init_is_continuous(ssm_init_kind kind);

#endif

/* One training experiment with everything a run records: the model and
 * its memory before and after, the teacher information at the start, the
 * loss curves, epochs to a threshold, the eigenvalue drift.  Shared by
 * `ssmsweep train` and the sweep task kind "train". */
#ifndef SW_TRAINRUN_H
#define SW_TRAINRUN_H

#include <stdio.h>

#include "ssm/mf.h"
#include "ssm/train.h"

typedef struct {
    ssm_model model;
    ssm_task task;
    ssm_train_options train;
    double ridge;                 /* < 0: gradient training; >= 0: closed-form readout only */
    const char *import_path;      /* start from these parameters (HDF5), or NULL */
    const char *export_path;      /* write the final parameters, or NULL */
} sw_train_config;

typedef struct {
    ssm_train_summary summary;
    size_t n_eig;
    double complex *eig_init, *eig_final;   /* discrete spectra, conjugates included */
    ssm_mf_result mf_init, mf_final;        /* infinite sequence, tau = 0 .. length-1 */
    double teacher_info;                    /* output 0, at the initial eigenvalues */
    double mf_tau_init, mf_tau_final;       /* MF at the (first) delay */
    double drift;                           /* max |lambda_final - lambda_init| */
    size_t n_epochs;
    double *train_loss, *val_loss;          /* per epoch */
} sw_train_outcome;

/* s4d-inv N 64 dt 0.01; task defaults; training defaults; no ridge. */
void sw_train_config_defaults(sw_train_config *c);
ssm_status sw_train_validate(const sw_train_config *c, ssm_error *err);
/* cb (may be NULL) sees each epoch as it ends. */
ssm_status sw_train_run(const sw_train_config *c, ssm_epoch_callback cb, void *ctx, sw_train_outcome *out,
                        ssm_error *err);
void sw_train_outcome_print(const sw_train_config *c, const sw_train_outcome *o, FILE *fp);
void sw_train_outcome_free(sw_train_outcome *o);

/* Peak bytes of sw_train_run for c (about: the data sets, their spectra,
 * the gradient workspace, a batch and the memory functions), a double so
 * that absurd sizes do not overflow; checked against measured RSS in
 * tests/test_memory.c. */
double sw_train_peak_bytes(const sw_train_config *c);

#endif

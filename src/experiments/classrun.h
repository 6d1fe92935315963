/* One sequence-classification experiment (sequential Fashion-MNIST with
 * the deep S4D classifier) with everything it records: per-epoch loss,
 * accuracy and wall time; test accuracy; epochs to a validation-accuracy
 * threshold; per layer the memory capacity and memory length of the
 * eigenvalues before and after training and their drift.  Checkpoints at
 * epoch ends let an interrupted run continue exactly where it stopped.
 * Used by the sweep task kind "sfmnist". */
#ifndef SW_CLASSRUN_H
#define SW_CLASSRUN_H

#include <stdint.h>

#include "ssm/deep.h"
#include "ssm/idx.h"

typedef struct {
    ssm_deep_config model;
    ssm_deep_train_options train;
    ssm_fmnist_options data;
    const char *data_dir;        /* NULL: SSM_FMNIST_DEFAULT_DIR */
    size_t test_subset;          /* first k test images; 0: all */
    double threshold;            /* validation accuracy for epochs-to-threshold */
    uint64_t init_seed;          /* model initialization */
    size_t mf_tau_max;           /* delays of the per-layer memory functions */
    const char *checkpoint;      /* this run's checkpoint file, or NULL */
    uint64_t checkpoint_key;     /* identifies the run a checkpoint belongs to */
} sw_class_config;

/* Per-layer memory of the eigenvalues: means over the channels. */
typedef struct {
    double mc_init, mc_final;            /* sum of MF over 0..tau_max */
    double memlen_init, memlen_final;    /* MF-weighted mean delay */
    double drift;                        /* mean |lambda_final - lambda_init| */
    double dt_drift;                     /* mean |log dt_final - log dt_init| */
} sw_layer_memory;

typedef struct {
    size_t n_epochs;
    ssm_deep_epoch *epochs;      /* n_epochs, including those before a resume */
    size_t resumed_at;           /* first epoch this process ran (1: fresh start) */
    double test_loss, test_acc, best_val_acc;
    long epochs_to_threshold;    /* -1: not reached */
    size_t n_layers;
    sw_layer_memory *layers;
    size_t n_params, n_train, n_val, n_test;
    double workspace_mib;
} sw_class_outcome;

/* Threads per rank for the deep step from SSMSWEEP_THREADS: "1" (or
 * unset) 1, "2" 2, "auto" 2 when this rank has at least two CPUs to
 * itself, else 1; 0 for any other setting.  A rank's CPUs: the ones it is
 * bound to (affinity_cpus) when the launcher bound it (fewer than the
 * node's online_cpus), else the node's CPUs over its local_ranks.  The
 * results are the same bits whatever it is. */
size_t sw_class_threads(const char *setting, size_t affinity_cpus, size_t online_cpus, size_t local_ranks);

/* Fills the defaults, with SSMSWEEP_THREADS read as above for this
 * process (its affinity, the online CPUs, and the ranks on this node that
 * Open MPI's or MPICH's launcher announce). */
void sw_class_config_defaults(sw_class_config *c);
ssm_status sw_class_run(const sw_class_config *c, sw_class_outcome *out, ssm_error *err);
void sw_class_outcome_free(sw_class_outcome *o);
/* Frees the Fashion-MNIST files the runs of this process keep (they are
 * read once per directory and part, then shared by every task). */
void sw_class_forget_data(void);

#endif

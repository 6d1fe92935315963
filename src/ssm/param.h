/* The range of every numeric parameter of the core's computations (the
 * models, the engines, training, the deep classifier and its data), one
 * row each: its
 * key (as in sweep specs; the command line spells it --key with dashes),
 * whether it is an integer, and its inclusive bounds.  The core's
 * validation, the task kinds' parameter tables (hence the spec parser) and
 * the command line's integer options all take the numbers from here: a
 * bound is changed in its row and nowhere else.
 *
 * Bounds are written as messages quote them (SSM_PARAM_MAX_TEXT gives
 * "1e8").  SSM_POSITIVE as a lower bound means "greater than 0" and
 * SSM_BELOW_ONE as an upper bound "less than 1": they are the doubles next
 * to 0 and 1, so x >= SSM_POSITIVE is exactly x > 0.  Where a spec writes
 * -1 for "automatic" (washout) or "none" (ridge), the row's lower bound is
 * that -1; the core holds "automatic" its own way (SSM_WASHOUT_AUTO).
 * Parameters of an experiment alone (a spec's repeat, the noop kind's) keep
 * their ranges in their kind's table. */
#ifndef SSM_PARAM_H
#define SSM_PARAM_H

#define SSM_POSITIVE 0x1p-1074                 /* the least positive double */
#define SSM_BELOW_ONE 0x1.fffffffffffffp-1     /* the greatest double below 1 */

/*      row                       key               integer  min            max */
/* the model (model.h) */
#define SSM_PARAM_N               "N",              1,       1,             65536
#define SSM_PARAM_N_TRAINED       "N",              1,       1,             4096     /* a model that is trained */
#define SSM_PARAM_DT              "dt",             0,       SSM_POSITIVE,  1e6
#define SSM_PARAM_RHO             "rho",            0,       SSM_POSITIVE,  SSM_BELOW_ONE
#define SSM_PARAM_GROUPS          "groups",         1,       1,             65536    /* and a divisor of N */
#define SSM_PARAM_REAL_PART       "real_part",      0,       SSM_POSITIVE,  1e12
#define SSM_PARAM_IMAG_SCALE      "imag_scale",     0,       0,             1e12
/* the memory function (mf.h); T and washout are used by finite and
 * simulate alone, which hold them to SSM_MF_MAX_LENGTH (1e9) */
#define SSM_PARAM_TAU_MAX         "tau_max",        1,       0,             1e8
#define SSM_PARAM_T               "T",              1,       1,             1e12
#define SSM_PARAM_MF_WASHOUT      "washout",        1,       -1,            1e12     /* -1: automatic */
#define SSM_PARAM_RCOND           "rcond",          0,       0,             SSM_BELOW_ONE  /* 0: the engine's */
/* the training task (train.h) */
#define SSM_PARAM_DELAY           "delay",          1,       0,             1e8
#define SSM_PARAM_LENGTH          "length",         1,       2,             1e8
#define SSM_PARAM_NOISE           "noise",          0,       0,             1e6
#define SSM_PARAM_TEACHER_MEMORY  "teacher_memory", 0,       SSM_POSITIVE,  1e9
#define SSM_PARAM_TEACHER_MODES   "teacher_modes",  1,       1,             4096
#define SSM_PARAM_TASK_WASHOUT    "washout",        1,       -1,            1e8      /* -1: the largest delay */
#define SSM_PARAM_N_TRAIN         "n_train",        1,       1,             1e8
#define SSM_PARAM_N_VAL           "n_val",          1,       1,             1e8
/* training (train.h, optim.h) */
#define SSM_PARAM_EPOCHS          "epochs",         1,       1,             1e6
#define SSM_PARAM_BATCH           "batch",          1,       1,             1e6
#define SSM_PARAM_LR              "lr",             0,       0,             1e3
#define SSM_PARAM_LR_SSM          "lr_ssm",         0,       0,             1e3
#define SSM_PARAM_WEIGHT_DECAY    "weight_decay",   0,       0,             1e3
#define SSM_PARAM_WARMUP          "warmup",         0,       0,             1
#define SSM_PARAM_THRESHOLD       "threshold",      0,       0,             1e300    /* a loss */
#define SSM_PARAM_RIDGE           "ridge",          0,       -1,            1e300    /* -1: train the readout */
/* the deep classifier (deep.h) */
#define SSM_PARAM_D_MODEL         "d_model",        1,       1,             4096
#define SSM_PARAM_LAYERS          "layers",         1,       1,             64
#define SSM_PARAM_DT_MIN          "dt_min",         0,       SSM_POSITIVE,  1e6
#define SSM_PARAM_DT_MAX          "dt_max",         0,       SSM_POSITIVE,  1e6
#define SSM_PARAM_DROPOUT         "dropout",        0,       0,             0.99
#define SSM_PARAM_DEEP_BATCH      "batch",          1,       1,             1e5
/* its data and evaluation (idx.h; the sfmnist kind) */
#define SSM_PARAM_SUBSET          "subset",         1,       0,             1e8      /* 0: every image */
#define SSM_PARAM_FMNIST_N_VAL    "n_val",          1,       0,             59999    /* of 60000 training images */
#define SSM_PARAM_TEST_SUBSET     "test_subset",    1,       0,             1e8      /* 0: every image */
#define SSM_PARAM_ACCURACY        "threshold",      0,       0,             1        /* an accuracy */
#define SSM_PARAM_LAYER_TAU_MAX   "tau_max",        1,       1,             1e7      /* of the per-layer MFs */

/* Every row, for tables and tests: X(row) per row. */
#define SSM_PARAMS(X)                                                                                      \
    X(SSM_PARAM_N) X(SSM_PARAM_N_TRAINED) X(SSM_PARAM_DT) X(SSM_PARAM_RHO) X(SSM_PARAM_GROUPS)             \
    X(SSM_PARAM_REAL_PART) X(SSM_PARAM_IMAG_SCALE) X(SSM_PARAM_TAU_MAX) X(SSM_PARAM_T)                   \
    X(SSM_PARAM_MF_WASHOUT) X(SSM_PARAM_RCOND) X(SSM_PARAM_DELAY) X(SSM_PARAM_LENGTH) X(SSM_PARAM_NOISE)  \
    X(SSM_PARAM_TEACHER_MEMORY) X(SSM_PARAM_TEACHER_MODES) X(SSM_PARAM_TASK_WASHOUT) X(SSM_PARAM_N_TRAIN) \
    X(SSM_PARAM_N_VAL) X(SSM_PARAM_EPOCHS) X(SSM_PARAM_BATCH) X(SSM_PARAM_LR) X(SSM_PARAM_LR_SSM)         \
    X(SSM_PARAM_WEIGHT_DECAY) X(SSM_PARAM_WARMUP) X(SSM_PARAM_THRESHOLD) X(SSM_PARAM_RIDGE)               \
    X(SSM_PARAM_D_MODEL) X(SSM_PARAM_LAYERS) X(SSM_PARAM_DT_MIN) X(SSM_PARAM_DT_MAX) X(SSM_PARAM_DROPOUT) \
    X(SSM_PARAM_DEEP_BATCH) X(SSM_PARAM_SUBSET) X(SSM_PARAM_FMNIST_N_VAL) X(SSM_PARAM_TEST_SUBSET)              \
    X(SSM_PARAM_ACCURACY) X(SSM_PARAM_LAYER_TAU_MAX)

/* The fields of a row: SSM_PARAM_MAX(SSM_PARAM_N).  (Variadic, so that a
 * macro may hand on a row it has already expanded into its fields.) */
#define SSM_PARAM_KEY(...) SSM_PARAM_KEY_(__VA_ARGS__)
#define SSM_PARAM_INTEGER(...) SSM_PARAM_INTEGER_(__VA_ARGS__)
#define SSM_PARAM_MIN(...) SSM_PARAM_MIN_(__VA_ARGS__)
#define SSM_PARAM_MAX(...) SSM_PARAM_MAX_(__VA_ARGS__)
/* the bounds as written in the row, for messages ("1e8") */
#define SSM_PARAM_MIN_TEXT(...) SSM_PARAM_MIN_TEXT_(__VA_ARGS__)
#define SSM_PARAM_MAX_TEXT(...) SSM_PARAM_MAX_TEXT_(__VA_ARGS__)
/* x within the row's bounds (NaN is not): SSM_PARAM_IN(x, SSM_PARAM_N) */
#define SSM_PARAM_IN(x, ...) ((x) >= SSM_PARAM_MIN(__VA_ARGS__) && (x) <= SSM_PARAM_MAX(__VA_ARGS__))

#define SSM_PARAM_KEY_(key, integer, min, max) key
#define SSM_PARAM_INTEGER_(key, integer, min, max) (integer)
#define SSM_PARAM_MIN_(key, integer, min, max) ((double)(min))
#define SSM_PARAM_MAX_(key, integer, min, max) ((double)(max))
#define SSM_PARAM_MIN_TEXT_(key, integer, min, max) #min
#define SSM_PARAM_MAX_TEXT_(key, integer, min, max) #max

#endif

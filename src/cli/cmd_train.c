/* ssmsweep train: one training run of a single-layer diagonal SSM. */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ssm/mf.h"
#include "ssm/train.h"
#include "experiments/model_h5.h"
#include "experiments/trainrun.h"

static const char train_usage[] =
    "Usage: ssmsweep train [model options] [--task delay|teacher|multi-delay] [--tau K[,K...]]\n"
    "                      [--freeze GROUPS] [--epochs E] [--batch B] [--lr R] ...\n"
    "\n"
    "Trains a single-layer diagonal SSM (S4D parameterization) and prints one CSV line\n"
    "per epoch on stdout (epoch,train_loss,val_loss,seconds) and, on stderr, the\n"
    "memory function before and after, the teacher information and the eigenvalue drift.\n"
    "\n"
    "Model (as in 'ssmsweep eig'): --init --N --dt --disc --rho --groups --real-part\n"
    "  --imag-scale --seed --file\n"
    "Task:\n"
    "  --task T            delay (default): target u_{t-tau}; teacher: a random teacher\n"
    "                      SSM; multi-delay: one output per delay in --tau\n"
    "  --tau K[,K...]      delay(s) (default 100)\n"
    "  --length L          sequence length (default 1024)\n"
    "  --noise S           std of target noise (default 0)\n"
    "  --teacher-memory M  teacher e-folding time in steps (default 100)\n"
    "  --teacher-modes P   teacher conjugate pairs (default 8)\n"
    "  --washout W         steps the loss ignores (default: the largest delay)\n"
    "  --train N --val N   sequences (default 256 and 64)\n"
    "Training:\n"
    "  --freeze GROUPS     comma list of A, A_re, A_im, dt, B, C, D, bias (RC mode: A,dt)\n"
    "  --optimizer O       adamw (default) or sgd\n"
    "  --epochs E --batch B (default 50, 32)\n"
    "  --lr R              readout, B and D (default 1e-2)\n"
    "  --lr-ssm R          A and dt, no weight decay (default 1e-3)\n"
    "  --weight-decay W    (default 0.01)   --warmup F  warm-up fraction (default 0.1)\n"
    "  --threshold L       validation loss for epochs-to-threshold (default 0.1)\n"
    "  --ridge R           no gradient training: closed-form ridge readout (RC baseline)\n"
    "  --precision P       float64 (default) or float32: kernels, FFT convolutions and\n"
    "                      residuals in that precision (parameters stay float64)\n"
    "  --import F.h5       start from parameters exported earlier\n"
    "  --export F.h5       write the final parameters (HDF5, readable by any framework)\n";

enum {
    OPT_TASK = 500, OPT_TAU, OPT_LENGTH, OPT_NOISE, OPT_TMEM, OPT_TMODES, OPT_TWASHOUT, OPT_NTRAIN, OPT_NVAL,
    OPT_FREEZE, OPT_OPTIMIZER, OPT_EPOCHS, OPT_BATCH, OPT_LR, OPT_LR_SSM, OPT_WD, OPT_WARMUP, OPT_THRESHOLD,
    OPT_RIDGE, OPT_IMPORT, OPT_EXPORT, OPT_PRECISION
};

/* The numeric options and their rows of ssm/param.h. */
typedef struct {
    int id;
    const char *name;            /* the option */
    int integer;                 /* a size_t in the configuration, else a double */
    double min, max;
    size_t offset;               /* of the value in sw_train_config */
} train_number;

#define TRAIN_NUMBER(id, name, row, field) \
    {id, name, SSM_PARAM_INTEGER(row), SSM_PARAM_MIN(row), SSM_PARAM_MAX(row), offsetof(sw_train_config, field)}

static const train_number train_numbers[] = {
    TRAIN_NUMBER(OPT_LENGTH, "length", SSM_PARAM_LENGTH, task.length),
    TRAIN_NUMBER(OPT_TMODES, "teacher-modes", SSM_PARAM_TEACHER_MODES, task.teacher_modes),
    TRAIN_NUMBER(OPT_TWASHOUT, "washout", SSM_PARAM_TASK_WASHOUT, task.washout),
    TRAIN_NUMBER(OPT_NTRAIN, "train", SSM_PARAM_N_TRAIN, task.n_train),
    TRAIN_NUMBER(OPT_NVAL, "val", SSM_PARAM_N_VAL, task.n_val),
    TRAIN_NUMBER(OPT_EPOCHS, "epochs", SSM_PARAM_EPOCHS, train.epochs),
    TRAIN_NUMBER(OPT_BATCH, "batch", SSM_PARAM_BATCH, train.batch),
    TRAIN_NUMBER(OPT_NOISE, "noise", SSM_PARAM_NOISE, task.noise),
    TRAIN_NUMBER(OPT_TMEM, "teacher-memory", SSM_PARAM_TEACHER_MEMORY, task.teacher_memory),
    TRAIN_NUMBER(OPT_LR, "lr", SSM_PARAM_LR, train.optim.lr),
    TRAIN_NUMBER(OPT_LR_SSM, "lr-ssm", SSM_PARAM_LR_SSM, train.optim.lr_ssm),
    TRAIN_NUMBER(OPT_WD, "weight-decay", SSM_PARAM_WEIGHT_DECAY, train.optim.weight_decay),
    TRAIN_NUMBER(OPT_WARMUP, "warmup", SSM_PARAM_WARMUP, train.optim.warmup),
    TRAIN_NUMBER(OPT_THRESHOLD, "threshold", SSM_PARAM_THRESHOLD, train.threshold),
    TRAIN_NUMBER(OPT_RIDGE, "ridge", SSM_PARAM_RIDGE, ridge),
};

static const train_number *train_number_of(int id)
{
    for (size_t k = 0; k < sizeof train_numbers / sizeof *train_numbers; ++k)
        if (train_numbers[k].id == id)
            return &train_numbers[k];
    return NULL;
}

/* One numeric option into cfg; -1 after the message.  An integer is held
 * to its row's minimum as it is parsed (its maximum is checked by
 * sw_train_validate, with the message a spec gets), a real to its row. */
static int parse_number(const train_number *o, const char *arg, sw_train_config *cfg)
{
    char *at = (char *)cfg + o->offset;
    if (o->integer) {
        long l;
        /* a row's -1 (automatic) is a spec's: here leaving the option out is */
        if (cli_parse_long("train", o->name, arg, o->min < 0 ? 0 : (long)o->min, &l))
            return -1;
        *(size_t *)(void *)at = (size_t)l;
        return 0;
    }
    double v;
    if (cli_parse_double("train", o->name, arg, &v))
        return -1;
    if (!(v >= o->min && v <= o->max)) {
        cli_error("train", "--%s: out of range, got %s", o->name, arg);
        return -1;
    }
    *(double *)(void *)at = v;
    return 0;
}

static int parse_delays(const char *arg, ssm_task *task)
{
    char *end;
    const char *p = arg;
    task->n_delays = 0;
    while (*p) {
        if (task->n_delays == SSM_MAX_OUTPUTS)
            return -1;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || (*end && *end != ','))
            return -1;
        task->delays[task->n_delays++] = (size_t)v;
        p = *end ? end + 1 : end;
    }
    return task->n_delays ? 0 : -1;
}

static int print_epoch(void *ctx, const ssm_epoch_record *rec, const ssm_dssm *m)
{
    (void)ctx;
    (void)m;
    printf("%zu,%.10g,%.10g,%.3f\n", rec->epoch, rec->train_loss, rec->val_loss, rec->seconds);
    fflush(stdout);
    return 0;
}

int cmd_train(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, 0, OPT_HELP}, CLI_MODEL_OPTIONS,
        {"task", required_argument, 0, OPT_TASK}, {"tau", required_argument, 0, OPT_TAU},
        {"length", required_argument, 0, OPT_LENGTH}, {"noise", required_argument, 0, OPT_NOISE},
        {"teacher-memory", required_argument, 0, OPT_TMEM}, {"teacher-modes", required_argument, 0, OPT_TMODES},
        {"washout", required_argument, 0, OPT_TWASHOUT}, {"train", required_argument, 0, OPT_NTRAIN},
        {"val", required_argument, 0, OPT_NVAL}, {"freeze", required_argument, 0, OPT_FREEZE},
        {"optimizer", required_argument, 0, OPT_OPTIMIZER}, {"epochs", required_argument, 0, OPT_EPOCHS},
        {"batch", required_argument, 0, OPT_BATCH}, {"lr", required_argument, 0, OPT_LR},
        {"lr-ssm", required_argument, 0, OPT_LR_SSM}, {"weight-decay", required_argument, 0, OPT_WD},
        {"warmup", required_argument, 0, OPT_WARMUP}, {"threshold", required_argument, 0, OPT_THRESHOLD},
        {"ridge", required_argument, 0, OPT_RIDGE}, {"import", required_argument, 0, OPT_IMPORT},
        {"export", required_argument, 0, OPT_EXPORT}, {"precision", required_argument, 0, OPT_PRECISION},
        {0, 0, 0, 0}};
    sw_train_config cfg;
    sw_train_config_defaults(&cfg);
    const char *import_path = NULL, *export_path = NULL;
    int id;
    while ((id = cli_next_option("train", argc, argv, longopts)) != -1) {
        ssm_error err;
        if (id == OPT_HELP) {
            fputs(train_usage, stdout);
            return EXIT_OK;
        }
        if (id == '?')
            return EXIT_USAGE;
        int used = cli_apply_option("train", id, optarg, &cfg.model, NULL);
        if (used < 0)
            return EXIT_USAGE;
        if (used) {
            if (id == OPT_SEED)
                cfg.task.seed = cfg.model.seed;
            continue;
        }
        const train_number *number = train_number_of(id);
        if (number) {
            if (parse_number(number, optarg, &cfg))
                return EXIT_USAGE;
            continue;
        }
        switch (id) {
        case OPT_TASK:
            if (ssm_task_parse(optarg, &cfg.task.type, &err)) {
                cli_fail("train", &err);
                return EXIT_USAGE;
            }
            break;
        case OPT_TAU:
            if (parse_delays(optarg, &cfg.task)) {
                cli_error("train", "--tau: expected up to %d non-negative integers separated by commas, got '%s'",
                          SSM_MAX_OUTPUTS, optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_FREEZE:
            if (strcmp(optarg, "none") != 0 && ssm_groups_parse(optarg, &cfg.train.frozen, &err)) {
                cli_fail("train", &err);
                return EXIT_USAGE;
            }
            break;
        case OPT_PRECISION:
            if (strcmp(optarg, "float64") == 0)
                cfg.train.precision = SSM_F64;
            else if (strcmp(optarg, "float32") == 0)
                cfg.train.precision = SSM_F32;
            else {
                cli_error("train", "--precision: expected float64 or float32, got '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_OPTIMIZER:
            if (strcmp(optarg, "adamw") == 0)
                cfg.train.optim.optimizer = SSM_OPT_ADAMW;
            else if (strcmp(optarg, "sgd") == 0)
                cfg.train.optim.optimizer = SSM_OPT_SGD;
            else {
                cli_error("train", "--optimizer: expected adamw or sgd, got '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_IMPORT: import_path = optarg; break;
        case OPT_EXPORT: export_path = optarg; break;
        default:
            cli_error("train", "option not valid for train (see 'ssmsweep train --help')");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("train", "unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    if (cfg.task.type != SSM_TASK_MULTI_DELAY && cfg.task.n_delays > 1) {
        cli_error("train", "--tau: several delays need --task multi-delay");
        return EXIT_USAGE;
    }
    cfg.import_path = import_path;
    cfg.export_path = export_path;

    ssm_error err;
    sw_train_outcome out;
    ssm_status st = sw_train_validate(&cfg, &err);
    if (st == SSM_OK) {
        char what[160];
        snprintf(what, sizeof what, "training with --length %zu, --train %zu and --val %zu", cfg.task.length,
                 cfg.task.n_train, cfg.task.n_val);
        int code = cli_memory_gate_bytes("train", sw_train_peak_bytes(&cfg), what);
        if (code)
            return code;
        printf("epoch,train_loss,val_loss,seconds\n");
        st = sw_train_run(&cfg, print_epoch, NULL, &out, &err);
    }
    if (st) {
        cli_fail("train", &err);
        return st == SSM_EINVAL || st == SSM_EIO ? EXIT_USAGE : EXIT_ERROR;
    }
    sw_train_outcome_print(&cfg, &out, stderr);
    sw_train_outcome_free(&out);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
}

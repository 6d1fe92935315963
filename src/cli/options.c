#include "config.h"

#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ssmsweep %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_parse_double(const char *cmd, const char *opt, const char *arg, double *value)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (*arg == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        cli_error(cmd, "--%s: expected a finite number, got '%s'", opt, arg);
        return -1;
    }
    *value = v;
    return 0;
}

int cli_parse_long(const char *cmd, const char *opt, const char *arg, long min, long *value)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || errno == ERANGE) {
        cli_error(cmd, "--%s: expected an integer, got '%s'", opt, arg);
        return -1;
    }
    if (v < min) {
        cli_error(cmd, "--%s: must be at least %ld, got %ld", opt, min, v);
        return -1;
    }
    *value = v;
    return 0;
}

int cli_parse_size(const char *cmd, const char *opt, const char *arg, size_t *value)
{
    long v;
    if (cli_parse_long(cmd, opt, arg, 0, &v))
        return -1;
    *value = (size_t)v;
    return 0;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *arg, unsigned long long *value)
{
    char *end;
    errno = 0;
    if (*arg == '-') {
        cli_error(cmd, "--%s: expected a non-negative integer, got '%s'", opt, arg);
        return -1;
    }
    unsigned long long v = strtoull(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || errno == ERANGE) {
        cli_error(cmd, "--%s: expected a non-negative integer, got '%s'", opt, arg);
        return -1;
    }
    *value = v;
    return 0;
}

/* Options whose name is not the parameter's spec key with dashes. */
static const struct {
    const char *param, *option;
} renamed[] = {{"delay", "tau"}, {"task_type", "task"}, {"n_train", "train"}, {"n_val", "val"}};

void cli_error_text(const ssm_error *err, char *buf, size_t size)
{
    char option[SSM_PARAM_NAME_MAX];
    if (!err->param[0]) {
        snprintf(buf, size, "%s", err->message);
        return;
    }
    snprintf(option, sizeof option, "%s", err->param);
    for (size_t k = 0; k < sizeof renamed / sizeof *renamed; ++k)
        if (strcmp(err->param, renamed[k].param) == 0)
            snprintf(option, sizeof option, "%s", renamed[k].option);
    for (char *c = option; *c; ++c)
        if (*c == '_')
            *c = '-';
    snprintf(buf, size, "--%s: %s", option, err->message);
}

void cli_fail(const char *cmd, const ssm_error *err)
{
    char text[SSM_ERROR_MSG_MAX + SSM_PARAM_NAME_MAX + 8];
    cli_error_text(err, text, sizeof text);
    cli_error(cmd, "%s", text);
}

static int report(const char *cmd, ssm_status status, const ssm_error *err)
{
    if (status == SSM_OK)
        return 1;
    cli_fail(cmd, err);
    return -1;
}

int cli_apply_option(const char *cmd, int id, const char *arg, ssm_model *m, ssm_mf_options *mf)
{
    ssm_error err;
    double d;
    long l;
    size_t z;
    unsigned long long u;
    if (m) {
        switch (id) {
        case OPT_INIT: return report(cmd, ssm_init_parse(arg, &m->init, &err), &err);
        case OPT_DISC: return report(cmd, ssm_disc_parse(arg, &m->disc, &err), &err);
        case OPT_N:
            if (cli_parse_long(cmd, "N", arg, CLI_MIN(SSM_PARAM_N), &l))
                return -1;
            m->n = l;
            return 1;
        case OPT_GROUPS:
            if (cli_parse_long(cmd, "groups", arg, CLI_MIN(SSM_PARAM_GROUPS), &l))
                return -1;
            m->groups = l;
            return 1;
        case OPT_DT:
            if (cli_parse_double(cmd, "dt", arg, &d))
                return -1;
            m->dt = d;
            return 1;
        case OPT_RHO:
            if (cli_parse_double(cmd, "rho", arg, &d))
                return -1;
            m->rho = d;
            return 1;
        case OPT_REAL_PART:
            if (cli_parse_double(cmd, "real-part", arg, &d))
                return -1;
            m->real_part = d;
            return 1;
        case OPT_IMAG_SCALE:
            if (cli_parse_double(cmd, "imag-scale", arg, &d))
                return -1;
            m->imag_scale = d;
            return 1;
        case OPT_SEED:
            if (cli_parse_u64(cmd, "seed", arg, &u))
                return -1;
            m->seed = (uint64_t)u;
            if (mf)
                mf->seed = (uint64_t)u;
            return 1;
        case OPT_FILE:
            m->file = arg;
            return 1;
        default:
            break;
        }
    }
    if (mf) {
        switch (id) {
        case OPT_METHOD: return report(cmd, ssm_mf_method_parse(arg, &mf->method, &err), &err);
        case OPT_TAU_MAX:
            if (cli_parse_size(cmd, "tau-max", arg, &z))
                return -1;
            mf->tau_max = z;
            return 1;
        case OPT_T:
            if (cli_parse_long(cmd, "T", arg, CLI_MIN(SSM_PARAM_T), &l))
                return -1;
            mf->T = (size_t)l;
            return 1;
        case OPT_WASHOUT:
            if (cli_parse_size(cmd, "washout", arg, &z))
                return -1;
            mf->washout = z;
            return 1;
        case OPT_RCOND:
            if (cli_parse_double(cmd, "rcond", arg, &d))
                return -1;
            /* 0, the engine's own cut-off, is what leaving the option out gives */
            if (!(d > 0 && d <= SSM_PARAM_MAX(SSM_PARAM_RCOND))) {
                cli_error(cmd, "--rcond: must lie in (0, 1), got %s", arg);
                return -1;
            }
            mf->rcond = d;
            return 1;
        default:
            break;
        }
    }
    return 0;
}

int cli_next_option_any_order(const char *cmd, int argc, char **argv, const char *shortopts,
                              const struct option *longopts, int loud)
{
    char spec[32];
    /* the leading ':' makes a missing value ':' and an unknown option '?' */
    snprintf(spec, sizeof spec, ":h%s", shortopts);
    opterr = 0;
    optopt = 0;
    int id = getopt_long(argc, argv, spec, longopts, NULL);
    if (id == 'h')
        return OPT_HELP;
    if ((id == '?' || id == ':') && loud) {
        /* permuted or not, the offending word is the one just passed */
        const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
        if (id == ':')
            cli_error(cmd, "option '%s' needs a value (see 'ssmsweep %s --help')", word, cmd);
        else
            cli_error(cmd, "unknown option '%s' (see 'ssmsweep %s --help')", word, cmd);
    }
    return id == ':' ? '?' : id;
}

int cli_next_option(const char *cmd, int argc, char **argv, const struct option *longopts)
{
    opterr = 0;
    optopt = 0;
    int before = optind;
    /* "+" keeps positional arguments in place; "-" would permute them */
    int id = getopt_long(argc, argv, "+h", longopts, NULL);
    if (id == 'h')
        return OPT_HELP;
    if (id == '?' || id == ':') {
        const char *word = before < argc ? argv[before] : "?";
        if (optopt)
            cli_error(cmd, "option '%s' needs a value (see 'ssmsweep %s --help')", word, cmd);
        else
            cli_error(cmd, "unknown option '%s' (see 'ssmsweep %s --help')", word, cmd);
        return '?';
    }
    return id;
}

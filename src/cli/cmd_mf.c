#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "ssm/mf.h"

static const char mf_usage[] =
    "Usage: ssmsweep mf --init NAME [model options] [--method M] [--tau-max K] [--T T]\n"
    "                   [--washout W] [--seed S] [--rcond R]\n"
    "\n"
    "Prints the memory function as CSV tau,mf for tau = 0..K on stdout, and the\n"
    "memory capacity 'MC = <sum>', the numerical rank and the Gram condition number\n"
    "on stderr.  Model options are those of 'ssmsweep eig'; --init legs-dense\n"
    "selects the dense S4 (HiPPO-LegS) system.\n"
    "\n"
    "  --method M     analytic (infinite sequence, default), finite (length T from\n"
    "                 rest), simulate (i.i.d. input, least squares) or blaschke\n"
    "                 (infinite sequence, orthonormal basis; diagonal systems)\n"
    "  --tau-max K    largest delay (default 1000)\n"
    "  --T T          sequence length (finite) or samples (simulate); default 1024\n"
    "  --washout W    simulate: steps discarded first (default: until the\n"
    "                 transient is below machine precision, at least K)\n"
    "  --seed S       seed of the random families and of the simulation input\n"
    "  --rcond R      relative singular-value cut-off of the rank decision\n"
    "                 (default: sqrt(10 N eps); finite: max(T, N) eps)\n"
    "  -h, --help     this text\n";

int cmd_mf(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, 0, OPT_HELP}, CLI_MODEL_OPTIONS, CLI_MF_OPTIONS, {0, 0, 0, 0}};
    ssm_model model;
    ssm_mf_options opts;
    ssm_model_defaults(&model);
    ssm_mf_options_defaults(&opts);
    int id;
    while ((id = cli_next_option("mf", argc, argv, longopts)) != -1) {
        if (id == OPT_HELP) {
            fputs(mf_usage, stdout);
            return EXIT_OK;
        }
        if (id == '?' || cli_apply_option("mf", id, optarg, &model, &opts) < 0)
            return EXIT_USAGE;
    }
    if (optind < argc) {
        cli_error("mf", "unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    ssm_error err;
    ssm_mf_result res;
    ssm_status status = ssm_model_validate(&model, &err);
    if (status == SSM_OK)
        status = ssm_mf_options_validate(&opts, &err);
    size_t n = 0;
    if (status == SSM_OK)
        status = ssm_model_state_size(&model, &n, &err);
    if (status == SSM_OK) {
        char what[160];
        int with_t = opts.method == SSM_MF_FINITE || opts.method == SSM_MF_SIMULATE;
        snprintf(what, sizeof what, "N = %zu, --method %s, --tau-max %zu%s%.0zu", n, ssm_mf_method_name(opts.method),
                 opts.tau_max, with_t ? ", --T " : "", with_t ? opts.T : 0);
        int code = cli_memory_gate_bytes("mf", ssm_mf_peak_bytes(n, model.init == SSM_INIT_LEGS_DENSE, &opts), what);
        if (code)
            return code;
        status = ssm_mf_model(&model, &opts, &res, &err);
    }
    if (status) {
        cli_fail("mf", &err);
        return status == SSM_EINVAL || status == SSM_EIO ? EXIT_USAGE : EXIT_ERROR;
    }
    printf("tau,mf\n");
    for (size_t t = 0; t < res.n_tau; ++t)
        printf("%zu,%.17g\n", t, res.mf[t]);
    fprintf(stderr, "MC = %.17g\n", res.mc);
    fprintf(stderr, "rank = %zu of N = %zu (rcond %.3g)\n", res.rank, res.n, res.rcond);
    if (!isnan(res.cond))
        fprintf(stderr, "cond = %.3g\n", res.cond);
    fprintf(stderr, "memory length = %.6g\n", ssm_mf_memory_length(&res));
    ssm_mf_result_free(&res);
    return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_ERROR;
}

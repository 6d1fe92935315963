#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ssm/mf.h"
#include "ssm/spectrum.h"

static const char figure1_usage[] =
    "Usage: ssmsweep figure1 [--outdir DIR] [--N N] [--T T] [--dt DT] [--rho R]\n"
    "                        [--groups C] [--seed S] [--method M]\n"
    "\n"
    "Computes the paper's figure 1: eigenvalues and memory functions of s4d-inv,\n"
    "s4d-lin, random, lin and step (N = 32, finite sequence T = 1024 by default) and\n"
    "writes DIR/eigenvalues.csv (init,index,re,im,abs), DIR/mf.csv (init,tau,mf) and\n"
    "DIR/summary.csv (init,mc,rank,memory_length).  Files are replaced atomically.\n"
    "\n"
    "  --outdir DIR   output directory, created if missing (default figure1)\n"
    "  --method M     MF engine (default finite, tau = 0..T-1)\n"
    "  other options as in 'ssmsweep mf'\n";

static const ssm_init_kind figure1_inits[] = {
    SSM_INIT_S4D_INV, SSM_INIT_S4D_LIN, SSM_INIT_RANDOM, SSM_INIT_LIN, SSM_INIT_STEP};
#define N_INITS (sizeof figure1_inits / sizeof figure1_inits[0])

typedef struct {
    FILE *fp;
    char final[4096], tmp[4096];
} atomic_file;

static int atomic_open(const char *dir, const char *name, atomic_file *f)
{
    f->fp = NULL;
    if ((size_t)snprintf(f->final, sizeof f->final, "%s/%s", dir, name) >= sizeof f->final ||
        (size_t)snprintf(f->tmp, sizeof f->tmp, "%s/.%s.tmp", dir, name) >= sizeof f->tmp) {
        cli_error("figure1", "--outdir: path too long");
        return -1;
    }
    f->fp = fopen(f->tmp, "w");
    if (!f->fp) {
        cli_error("figure1", "cannot write '%s': %s", f->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

/* Publishes the file only if every write succeeded; otherwise the previous
 * version stays untouched. */
static int atomic_close(atomic_file *f, int ok)
{
    if (!f->fp)
        return -1;
    int failed = !ok || fflush(f->fp) != 0 || ferror(f->fp) || fsync(fileno(f->fp)) != 0;
    failed |= fclose(f->fp) != 0;
    f->fp = NULL;
    if (failed || rename(f->tmp, f->final) != 0) {
        if (ok)
            cli_error("figure1", "cannot write '%s': %s", f->final, strerror(errno));
        unlink(f->tmp);
        return -1;
    }
    return 0;
}

int cmd_figure1(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, 0, OPT_HELP}, CLI_MODEL_OPTIONS, CLI_MF_OPTIONS,
        {"outdir", required_argument, 0, OPT_OUTDIR}, {0, 0, 0, 0}};
    const char *outdir = "figure1";
    ssm_model model;
    ssm_mf_options opts;
    ssm_model_defaults(&model);
    ssm_mf_options_defaults(&opts);
    opts.method = SSM_MF_FINITE;
    int id, tau_max_given = 0;
    while ((id = cli_next_option("figure1", argc, argv, longopts)) != -1) {
        if (id == OPT_HELP) {
            fputs(figure1_usage, stdout);
            return EXIT_OK;
        }
        if (id == '?')
            return EXIT_USAGE;
        if (id == OPT_OUTDIR) {
            outdir = optarg;
            continue;
        }
        if (id == OPT_INIT || id == OPT_FILE) {
            cli_error("figure1", "--init/--file: figure1 always uses its five configurations");
            return EXIT_USAGE;
        }
        tau_max_given |= id == OPT_TAU_MAX;
        if (cli_apply_option("figure1", id, optarg, &model, &opts) < 0)
            return EXIT_USAGE;
    }
    if (optind < argc) {
        cli_error("figure1", "unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    if (!tau_max_given)
        opts.tau_max = opts.T - 1;

    ssm_error err;
    ssm_status status = ssm_mf_options_validate(&opts, &err);
    for (size_t k = 0; status == SSM_OK && k < N_INITS; ++k) {
        model.init = figure1_inits[k];
        status = ssm_model_validate(&model, &err);
    }
    if (status) {
        cli_fail("figure1", &err);
        return EXIT_USAGE;
    }
    char what[160];
    snprintf(what, sizeof what, "N = %ld, --method %s, --tau-max %zu, --T %zu", model.n,
             ssm_mf_method_name(opts.method), opts.tau_max, opts.T);
    int code = cli_memory_gate_bytes("figure1", ssm_mf_peak_bytes((size_t)model.n, 0, &opts), what);
    if (code)
        return code;
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
        cli_error("figure1", "--outdir: cannot create '%s': %s", outdir, strerror(errno));
        return EXIT_ERROR;
    }

    atomic_file eig, mf, summary;
    int ok = atomic_open(outdir, "eigenvalues.csv", &eig) == 0;
    ok = ok && atomic_open(outdir, "mf.csv", &mf) == 0;
    ok = ok && atomic_open(outdir, "summary.csv", &summary) == 0;
    if (ok) {
        fprintf(eig.fp, "init,index,re,im,abs\n");
        fprintf(mf.fp, "init,tau,mf\n");
        fprintf(summary.fp, "init,N,method,T,mc,rank,memory_length\n");
    }
    for (size_t k = 0; ok && k < N_INITS; ++k) {
        ssm_spectrum sp;
        ssm_mf_result res;
        model.init = figure1_inits[k];
        const char *name = ssm_init_name(model.init);
        status = ssm_spectrum_build(&model, &sp, &err);
        if (status == SSM_OK) {
            status = ssm_mf_spectrum(&sp, &opts, &res, &err);
            for (size_t i = 0; i < sp.n; ++i)
                fprintf(eig.fp, "%s,%zu,%.17g,%.17g,%.17g\n", name, i, creal(sp.lambda[i]),
                        cimag(sp.lambda[i]) + 0.0, cabs(sp.lambda[i]));
            ssm_spectrum_free(&sp);
        }
        if (status) {
            char text[SSM_ERROR_MSG_MAX + SSM_PARAM_NAME_MAX + 8];
            cli_error_text(&err, text, sizeof text);
            cli_error("figure1", "%s: %s", name, text);
            ok = 0;
            break;
        }
        for (size_t t = 0; t < res.n_tau; ++t)
            fprintf(mf.fp, "%s,%zu,%.17g\n", name, t, res.mf[t]);
        fprintf(summary.fp, "%s,%ld,%s,%zu,%.17g,%zu,%.17g\n", name, model.n,
                ssm_mf_method_name(opts.method), opts.T, res.mc, res.rank,
                ssm_mf_memory_length(&res));
        fprintf(stderr, "%-9s MC = %-10.6g rank = %-3zu memory length = %.4g\n", name, res.mc,
                res.rank, ssm_mf_memory_length(&res));
        ssm_mf_result_free(&res);
    }
    int failed = 0;
    failed |= atomic_close(&eig, ok) != 0;
    failed |= atomic_close(&mf, ok) != 0;
    failed |= atomic_close(&summary, ok) != 0;
    if (failed)
        return EXIT_ERROR;
    fprintf(stderr, "wrote %s/eigenvalues.csv, %s/mf.csv, %s/summary.csv\n", outdir, outdir, outdir);
    return EXIT_OK;
}

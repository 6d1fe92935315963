/* A user of the installed libssm: compiled by tests/libssm_install.sh with
 * `pkg-config --cflags --libs ssm` against a `make install DESTDIR=...`
 * tree.  Prints what `ssmsweep mf --init s4d-inv --N N --dt DT --method M
 * --tau-max K` prints: tau,mf on stdout, MC and the rank on stderr. */
#include <stdio.h>
#include <stdlib.h>

#include <ssm/ffi.h>
#include <ssm/mf.h>
#include <ssm/spectrum.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s N DT METHOD TAU_MAX\n", argv[0]);
        return 2;
    }
    ssm_error err;
    ssm_model model;
    ssm_mf_options opts;
    ssm_spectrum sp;
    ssm_mf_result res;
    ssm_model_defaults(&model);
    ssm_mf_options_defaults(&opts);
    model.n = atol(argv[1]);
    model.dt = atof(argv[2]);
    opts.tau_max = (size_t)atol(argv[4]);
    if (ssm_ffi_version() < 1 || ssm_init_parse("s4d-inv", &model.init, &err) ||
        ssm_mf_method_parse(argv[3], &opts.method, &err) || ssm_spectrum_build(&model, &sp, &err)) {
        fprintf(stderr, "libssm_client: %s\n", err.message);
        return 1;
    }
    ssm_status status = ssm_mf_spectrum(&sp, &opts, &res, &err);
    ssm_spectrum_free(&sp);
    if (status) {
        fprintf(stderr, "libssm_client: %s (%s)\n", err.message, ssm_status_name(status));
        return 1;
    }
    printf("tau,mf\n");
    for (size_t t = 0; t < res.n_tau; ++t)
        printf("%zu,%.17g\n", t, res.mf[t]);
    fprintf(stderr, "MC = %.17g\nrank = %zu\n", res.mc, res.rank);
    ssm_mf_result_free(&res);
    return 0;
}

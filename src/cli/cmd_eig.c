#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "ssm/spectrum.h"

static const char eig_usage[] =
    "Usage: ssmsweep eig --init NAME [--N N] [--dt DT] [--disc zoh|bilinear] [--rho R]\n"
    "                    [--groups C] [--real-part A] [--imag-scale S] [--seed S] [--file F]\n"
    "\n"
    "Prints the N discrete eigenvalues (conjugates included) as CSV index,re,im,abs.\n"
    "\n"
    "  --init NAME       an eigenvalue family below (default s4d-inv)\n"
    "  --N N             real state dimension (default 32)\n"
    "  --dt DT           step of the continuous families (default 0.01)\n"
    "  --disc D          zoh (default) or bilinear\n"
    "  --rho R           radius of lin, step and random, in (0, 1) (default 0.99)\n"
    "  --groups C        roots of unity per radius for step (default 4)\n"
    "  --real-part A     -Re A_n of the S4D families (default 0.5)\n"
    "  --imag-scale S    factor on Im A_n of the S4D families (default 1)\n"
    "  --seed S          seed of s4d-random and random (default 0)\n"
    "  --file F          CSV of eigenvalues for --init file (columns re,im)\n"
    "  -h, --help        this text\n"
    "\n"
    "Families (a, s: --real-part, --imag-scale; more in ssmsweep(1)):\n";

/* The usage, then one line per family of the core's table. */
static void print_usage(void)
{
    fputs(eig_usage, stdout);
    for (int k = 0; k < SSM_INIT_COUNT; ++k) {
        const ssm_family *f = ssm_family_of((ssm_init_kind)k);
        printf("  %-12s %-10s %s%s\n", f->name, f->continuous ? "continuous" : "discrete", f->help,
               f->even_n ? " (N even)" : "");
    }
}

int cmd_eig(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, 0, OPT_HELP}, CLI_MODEL_OPTIONS, {0, 0, 0, 0}};
    ssm_model model;
    ssm_model_defaults(&model);
    int id;
    while ((id = cli_next_option("eig", argc, argv, longopts)) != -1) {
        if (id == OPT_HELP) {
            print_usage();
            return EXIT_OK;
        }
        if (id == '?' || cli_apply_option("eig", id, optarg, &model, NULL) < 0)
            return EXIT_USAGE;
    }
    if (optind < argc) {
        cli_error("eig", "unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    ssm_error err;
    ssm_spectrum sp;
    ssm_status status = ssm_spectrum_build(&model, &sp, &err);
    if (status) {
        cli_fail("eig", &err);
        return status == SSM_EINVAL || status == SSM_EIO ? EXIT_USAGE : EXIT_ERROR;
    }
    printf("index,re,im,abs\n");
    for (size_t k = 0; k < sp.n; ++k)
        printf("%zu,%.17g,%.17g,%.17g\n", k, creal(sp.lambda[k]),
               cimag(sp.lambda[k]) + 0.0 /* no "-0" */, cabs(sp.lambda[k]));
    ssm_spectrum_free(&sp);
    return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_ERROR;
}

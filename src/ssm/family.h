/* The eigenvalue families, one row each: the enum, the name used on the
 * command line and in specs, whether the family is continuous (A_n,
 * discretized with dt) or discrete (lambda_k directly), whether N counts
 * N/2 modes with their implicit conjugates (N must be even), the function
 * that fills the values, and one line of help.  Everything else (name
 * lists, parsing, validation, `ssmsweep eig --help`, the choices of a
 * spec's init) derives from this table: a new family is a row here and
 * its fill function in spectrum.c. */
#ifndef SSM_FAMILY_H
#define SSM_FAMILY_H

/* X(ENUM, name, continuous, even_n, fill, help); fill is NULL for file
 * (the values come from a CSV). */
#define SSM_FAMILIES(X)                                                                                      \
    X(SSM_INIT_S4D_INV, "s4d-inv", 1, 1, fill_s4d_inv, "A_n = -a + i s (N/pi)(N/(2n+1) - 1), n < N/2")      \
    X(SSM_INIT_S4D_LIN, "s4d-lin", 1, 1, fill_s4d_lin, "A_n = -a + i s pi n, n < N/2")                       \
    X(SSM_INIT_S4D_REAL, "s4d-real", 1, 0, fill_legs_real, "A_n = -(n+1), n < N (N real modes)")            \
    X(SSM_INIT_S4D_RANDOM, "s4d-random", 1, 1, fill_s4d_random, "A_n = -a + i s exp(eps_n), eps_n ~ N(0,1)") \
    X(SSM_INIT_S4D_LEGS, "s4d-legs", 1, 1, fill_s4d_legs, "A_n = -a + i s omega_n, normal part of LegS")     \
    X(SSM_INIT_LIN, "lin", 0, 0, fill_lin, "lambda_k = rho k/N, k = 1..N (real)")                            \
    X(SSM_INIT_STEP, "step", 0, 0, fill_step, "rho (i/p) exp(2 pi i j/c): a staircase of |lambda|")           \
    X(SSM_INIT_RANDOM, "random", 0, 0, fill_random, "conjugate pairs uniform in the rho-disk")               \
    X(SSM_INIT_FILE, "file", 0, 0, NULL, "discrete eigenvalues read from a CSV file (--file)")               \
    X(SSM_INIT_LEGS_DENSE, "legs-dense", 1, 0, fill_legs_real, "the dense HiPPO-LegS system of S4")

#endif

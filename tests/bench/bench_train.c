/* Training-step throughput of the single-layer diagonal SSM (N = 64,
 * length 4096, batch 32 by default): loss, exact gradient and the AdamW
 * update, as in ssm_train.  Prints the median over repetitions in
 * sequences x length per second.  usage: bench_train [N L batch reps [f32|f64]] */
#include "config.h"
#include "benchutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ssm/train.h"

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 64, len = argc > 2 ? atol(argv[2]) : 4096;
    long batch = argc > 3 ? atol(argv[3]) : 32, reps = argc > 4 ? atol(argv[4]) : 20;
    const ssm_precision prec = argc > 5 && strcmp(argv[5], "f32") == 0 ? SSM_F32 : SSM_F64;
    ssm_model model;
    ssm_task task;
    ssm_dssm m;
    ssm_dataset data;
    ssm_grad_work *w;
    ssm_error err;
    ssm_model_defaults(&model);
    model.n = n;
    ssm_task_defaults(&task);
    task.length = (size_t)len;
    task.delays[0] = (size_t)len / 4;
    task.n_train = (size_t)batch;
    /* training caches the input spectra (and, for float32, the targets) once
     * per dataset, in the precision of its passes; so does this */
    if (ssm_dssm_init(&m, &model, 1, &err) || ssm_dataset_make(&task, 0, &data, &err) ||
        ssm_dataset_prepare(&data, prec, &err) ||
        ssm_grad_work_new(&m, task.length, (size_t)batch, prec, &w, &err)) {
        fprintf(stderr, "bench_train: %s\n", err.message);
        return 1;
    }
    double *grad = calloc(m.n_params, sizeof *grad), *mom = calloc(m.n_params, sizeof *mom);
    double *vel = calloc(m.n_params, sizeof *vel), *times = malloc((size_t)reps * sizeof *times), loss;
    for (long r = 0; r < reps; ++r) {
        double t0 = now();
        ssm_loss_grad(&m, &data, 0, (size_t)batch, task.delays[0], w, &loss, grad, &err);
        for (size_t i = 0; i < m.n_params; ++i) {   /* the AdamW update of ssm_train */
            mom[i] = 0.9 * mom[i] + 0.1 * grad[i];
            vel[i] = 0.999 * vel[i] + 0.001 * grad[i] * grad[i];
            m.theta[i] -= 1e-3 * (mom[i] / (sqrt(vel[i]) + 1e-8) + 0.01 * m.theta[i]);
        }
        times[r] = now() - t0;
    }
    qsort(times, (size_t)reps, sizeof *times, by_value);
    double median = times[reps / 2];
    printf("ssmsweep,%s,%ld,%ld,%ld,%.6f,%.4g\n", prec == SSM_F32 ? "float32" : "float64", n, len, batch, median,
           (double)batch * (double)len / median);
    free(grad);
    free(mom);
    free(vel);
    free(times);
    ssm_grad_work_free(w);
    ssm_dataset_free(&data);
    ssm_dssm_free(&m);
    return 0;
}

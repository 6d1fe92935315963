/* Spec mutation fuzzer: mutated YAML through sw_spec_parse, and for the
 * specs it accepts what `plan` then does with the table (canonical texts,
 * the memory estimates, the per-axis maxima and labels).  Allowed: the
 * spec is accepted, or refused with SSM_EINVAL and one line that starts
 * with the file name, or SSM_ENOMEM (a table beyond the fuzzer's memory
 * cap) with one line. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "experiments/registry.h"
#include "sweep/memory.h"
#include "sweep/spec.h"

/* What plan computes from an accepted table, checked for sanity. */
static int use_table(const sw_tasks *t)
{
    char text[512];
    sw_memory_plan p;
    ssm_error err;
    for (size_t row = 0; row < t->n_tasks && row < 64; ++row)
        sw_task_canonical(t, row, text, sizeof text);
    if (sw_memory_plan_make(t, &p, &err) != SSM_OK) {
        fuzz_tally("estimates out of memory");
        return 0;
    }
    int ok = !(p.peak < 0) && !isnan(p.rank_need);
    size_t most = 1;
    for (size_t a = 0; a < t->n_axes; ++a)
        most = t->axes[a].n_values > most ? t->axes[a].n_values : most;
    double *per = malloc(most * sizeof *per);
    size_t *row_of = malloc(most * sizeof *row_of);
    for (size_t a = 0; per && row_of && a < t->n_axes; ++a) {
        sw_memory_by_axis(t, &p, a, per, row_of);
        for (size_t i = 0; i < t->axes[a].n_values; ++i)
            if (row_of[i] != SIZE_MAX)
                sw_axis_value_text(t, row_of[i], a, 0, text, sizeof text);
    }
    if (t->n_tasks)
        sw_task_label(t, p.peak_row, text, sizeof text);
    free(per);
    free(row_of);
    sw_memory_plan_free(&p);
    if (!ok)
        fuzz_fail("memory estimate %g, rank need %g\n", p.peak, p.rank_need);
    return ok ? 0 : -1;
}

static int run(void *ctx, const unsigned char *data, size_t len, ssm_rng *rng)
{
    (void)ctx;
    (void)rng;
    sw_tasks t;
    ssm_error err;
    err.message[0] = '\0';
    ssm_status st = sw_spec_parse("fuzz.yaml", (const char *)data, len, &ex_registry, &t, &err);
    if (st == SSM_OK) {
        fuzz_tally("accepted");
        int rc = use_table(&t);
        sw_tasks_free(&t);
        return rc;
    }
    if (st != SSM_EINVAL && st != SSM_ENOMEM) {
        fuzz_fail("status %d outside {EINVAL, ENOMEM}: %s\n", (int)st, err.message);
        return -1;
    }
    if (!fuzz_one_line(err.message) || (st == SSM_EINVAL && strncmp(err.message, "fuzz.yaml", 9) != 0)) {
        fuzz_fail("not one line naming the file: [%s]\n", err.message);
        return -1;
    }
    fuzz_tally(st == SSM_EINVAL ? "refused" : "out of memory");
    return 0;
}

int main(void)
{
    fuzz_corpus c = {0};
    fuzz_corpus_add_dir(&c, fuzz_corpus_dir("spec"));
    const fuzz_target t = {"fuzz_spec", 1, run, NULL, 12, 0};
    int rc = fuzz_main(&t, &c);
    fuzz_corpus_free(&c);
    return rc;
}

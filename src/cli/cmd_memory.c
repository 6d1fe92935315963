/* Memory in the CLI: the estimate `plan` prints, and the refusal of a
 * sweep (run) or a single computation (mf, train) that cannot fit in the
 * memory a rank has.  The estimates and limits are src/sweep/memory.h. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sweep/memory.h"

/* Per-axis rows list at most this many values: the first ones, the largest
 * and the last ones. */
#define AXIS_SHOWN 8

static int find_rank_memory(const char *cmd, const char *limit, sw_rank_memory *rank, int loud)
{
    sw_memory_sources src;
    ssm_error err;
    sw_memory_sources_system(&src);
    if (sw_rank_memory_find(&src, limit, rank, &err) == SSM_OK)
        return 0;
    if (loud)
        cli_fail(cmd, &err);
    return EXIT_USAGE;
}

int cli_memory_limit_ok(const char *cmd, const char *limit)
{
    sw_rank_memory rank;
    return find_rank_memory(cmd, limit, &rank, 1);
}

/* "  N                16: 8 MiB, 32: 9 MiB, ..., 1024: 1.2 GiB" */
static void print_axis(const sw_tasks *t, const sw_memory_plan *p, size_t a, double *per_value, size_t *row_of)
{
    const size_t n = t->axes[a].n_values;
    size_t top = 0;
    sw_memory_by_axis(t, p, a, per_value, row_of);
    for (size_t i = 0; i < n; ++i)
        if (row_of[i] != SIZE_MAX && (row_of[top] == SIZE_MAX || per_value[i] > per_value[top]))
            top = i;
    printf("  %-16s", t->axes[a].names);
    int gap = 0, first = 1;
    for (size_t i = 0; i < n; ++i) {
        const int shown = n <= AXIS_SHOWN || i < 3 || i + 2 >= n || i == top;
        if (!shown || row_of[i] == SIZE_MAX) {
            gap = 1;
            continue;
        }
        char value[64], size[32];
        sw_axis_value_text(t, row_of[i], a, 0, value, sizeof value);
        sw_format_bytes(per_value[i], size, sizeof size);
        printf("%s%s%s: %s", first ? " " : ", ", gap && !first ? "..., " : "", value, size);
        gap = 0;
        first = 0;
    }
    printf("%s\n", gap ? ", ..." : "");
}

int cli_memory_plan(const sw_tasks *t, const char *limit)
{
    sw_memory_plan p;
    sw_rank_memory rank;
    ssm_error err;
    if (find_rank_memory("plan", limit, &rank, 1))
        return EXIT_USAGE;
    if (sw_memory_plan_make(t, &p, &err)) {
        cli_fail("plan", &err);
        return EXIT_ERROR;
    }
    char label[200], peak[32], need[32], has[32];
    sw_format_bytes(p.peak, peak, sizeof peak);
    sw_format_bytes(p.rank_need, need, sizeof need);
    sw_format_bytes(rank.bytes, has, sizeof has);
    if (t->n_tasks) {
        sw_task_label(t, p.peak_row, label, sizeof label);
        printf("memory:   ~%s for the largest task, %s\n", peak, label);
    }
    printf("          a rank needs ~%s with its task table and own footprint, has %s (%s): %s\n", need, has,
           rank.source, p.rank_need <= rank.bytes ? "fits" : "DOES NOT FIT, run refuses");
    size_t most = 0;
    for (size_t a = 0; a < t->n_axes; ++a)
        most = t->axes[a].n_values > most ? t->axes[a].n_values : most;
    double *per_value = malloc((most ? most : 1) * sizeof *per_value);
    size_t *row_of = malloc((most ? most : 1) * sizeof *row_of);
    for (size_t a = 0; per_value && row_of && t->n_tasks && a < t->n_axes; ++a)
        print_axis(t, &p, a, per_value, row_of);
    free(per_value);
    free(row_of);
    sw_memory_plan_free(&p);
    return 0;
}

int cli_memory_gate(const char *cmd, const sw_tasks *t, const char *limit, int loud)
{
    sw_memory_plan p;
    sw_rank_memory rank;
    ssm_error err;
    if (find_rank_memory(cmd, limit, &rank, loud))
        return EXIT_USAGE;
    if (sw_memory_plan_make(t, &p, &err)) {
        if (loud)
            cli_fail(cmd, &err);
        return EXIT_ERROR;
    }
    ssm_status st = sw_memory_check(t, &p, &rank, &err);
    sw_memory_plan_free(&p);
    if (st && loud)
        cli_fail(cmd, &err);
    return st ? EXIT_USAGE : 0;
}

int cli_memory_gate_bytes(const char *cmd, double task_bytes, const char *what)
{
    sw_rank_memory rank;
    if (find_rank_memory(cmd, NULL, &rank, 1))
        return EXIT_USAGE;
    const double need = task_bytes + SW_RANK_BASE_BYTES;
    if (need <= rank.bytes)
        return 0;
    char needed[32], has[32];
    sw_format_bytes(need, needed, sizeof needed);
    sw_format_bytes(rank.bytes, has, sizeof has);
    cli_error(cmd, "not enough memory: %s needs about %s, this process has %s (%s)", what, needed, has, rank.source);
    return EXIT_USAGE;
}

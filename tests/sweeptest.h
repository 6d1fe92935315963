/* Task tables and records built by hand, for the tests of the journal
 * and the HDF5 writer: they must not depend on the spec parser, and
 * their contents are fixed here so every value can be checked. */
#ifndef SSM_SWEEPTEST_H
#define SSM_SWEEPTEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "experiments/registry.h"
#include "sweep/kinds.h"
#include "sweep/record.h"
#include "sweep/tasks.h"

/* Sets parameter name of task id (a string must outlive the table). */
__attribute__((unused)) static void hand_set(sw_tasks *t, size_t id, const char *name, double number,
                                             const char *text)
{
    int p = sw_kind_param_index(t->kind, name);
    if (p < 0) {
        fprintf(stderr, "hand_set: kind %s has no parameter %s\n", t->kind->name, name);
        abort();
    }
    sw_value *v = &t->values[id * t->kind->n_params + (size_t)p];
    v->i = (long long)number;
    v->r = number;
    if (text)
        v->s = text;
}

/* n tasks of kind, every parameter at its default; hashes, seeds and the
 * spec hash are fixed numbers derived from id and spec_hash. */
__attribute__((unused)) static sw_tasks *hand_tasks(const char *kind, size_t n, uint64_t spec_hash)
{
    sw_tasks *t = calloc(1, sizeof *t);
    if (!t || !(t->kind = sw_registry_find(&ex_registry, kind)))
        abort();
    size_t np = t->kind->n_params;
    t->name = "hand-built";
    t->repeats = 1;
    t->n_tasks = n;
    t->values = calloc(n * np + 1, sizeof *t->values);
    t->hash = calloc(n + 1, sizeof *t->hash);
    t->seed = calloc(n + 1, sizeof *t->seed);
    t->cost = calloc(n + 1, sizeof *t->cost);
    if (!t->values || !t->hash || !t->seed || !t->cost)
        abort();
    t->master_seed = 42;
    t->spec_hash = spec_hash;
    for (size_t id = 0; id < n; ++id) {
        for (size_t p = 0; p < np; ++p) {
            const sw_param_desc *d = &t->kind->params[p];
            sw_value *v = &t->values[id * np + p];
            v->type = d->type;
            if (d->type == SW_STRING)
                v->s = d->def ? d->def : "";
            else
                v->i = (long long)(v->r = strtod(d->def ? d->def : "0", NULL));
        }
        t->hash[id] = spec_hash ^ (UINT64_C(0x9e3779b97f4a7c15) * (id + 1));
        t->seed[id] = t->hash[id] ^ UINT64_C(0xdeadbeefcafef00d);
        t->cost[id] = 1;
    }
    return t;
}

__attribute__((unused)) static void hand_tasks_free(sw_tasks *t)
{
    if (!t)
        return;
    free(t->values);
    free(t->hash);
    free(t->seed);
    free(t->cost);
    free(t);
}

/* A record of task id: done with scalars s0 + k and curves of the given
 * lengths (values s0 + j/8), or failed with the given reason. */
__attribute__((unused)) static sw_record hand_record(const sw_kind *kind, uint64_t id, sw_status status,
                                                     double s0, const size_t *curve_len, const char *reason)
{
    sw_record r;
    memset(&r, 0, sizeof r);
    r.task = id;
    r.hash = UINT64_C(0x243f6a8885a308d3) ^ id;
    r.status = status;
    r.rank = (int32_t)(id % 3);
    r.elapsed = 0.001 * (double)(id + 1);
    r.finished = 1.7e9 + (double)id;
    snprintf(r.host, sizeof r.host, "node%03u", (unsigned)(id % 7));
    if (status == SW_FAILED) {
        snprintf(r.error, sizeof r.error, "%s", reason ? reason : "failed on purpose");
        return r;
    }
    if (sw_result_init(&r.result, kind, NULL) != SSM_OK)
        abort();
    for (size_t k = 0; k < kind->n_scalars; ++k)
        r.result.scalars[k] = s0 + (double)k;
    for (size_t c = 0; c < kind->n_curves; ++c) {
        size_t len = curve_len ? curve_len[c] : 0;
        double *v = len ? malloc(len * sizeof *v) : NULL;
        if (len && !v)
            abort();
        for (size_t j = 0; j < len; ++j)
            v[j] = s0 + (double)j / 8;
        sw_result_set_curve(&r.result, c, v, len);
    }
    return r;
}

/* A scratch directory for the files of one test program. */
static char scratch_dir[64];

__attribute__((unused)) static int scratch_make(const char *program)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch_dir, sizeof scratch_dir, "%s/%s.XXXXXX", tmp ? tmp : "/tmp", program);
    return mkdtemp(scratch_dir) ? 0 : -1;
}

/* scratch_dir/name; the last four results stay valid. */
__attribute__((unused)) static const char *scratch(const char *name)
{
    static char path[4][256];
    static int which;
    which = (which + 1) % 4;
    snprintf(path[which], sizeof path[which], "%s/%s", scratch_dir, name);
    return path[which];
}

__attribute__((unused)) static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* Bitwise equality of doubles: NaN payloads and -0 count. */
__attribute__((unused)) static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

#endif

#include "config.h"

#include "summary.h"

#include <stdlib.h>
#include <string.h>

/* A finished row: its rank and time, and its position (sums follow row
 * order, as numpy's would over the selected rows). */
typedef struct {
    int32_t rank;
    size_t row;
    double elapsed;
} finished_row;

typedef struct {
    char *reason;
    size_t row;            /* where it first appeared */
    size_t count;
} reason_row;

typedef struct {
    sw_summary *s;
    finished_row *rows;
    reason_row *failures;
    size_t n_rows, n_failures, cap_rows, cap_failures;
    const char *path;
    ssm_status st;
    ssm_error *err;
} tally;

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t cap2 = *cap ? 2 * *cap : 1024;
    while (cap2 < need)
        cap2 *= 2;
    void *q = realloc(*p, cap2 * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = cap2;
    return 0;
}

static int tally_rows(void *ctx, const sw_record *recs, const uint64_t *hash, size_t n)
{
    tally *t = ctx;
    (void)hash;
    if (grow((void **)&t->rows, &t->cap_rows, t->n_rows + n, sizeof *t->rows) ||
        grow((void **)&t->failures, &t->cap_failures, t->n_failures + n, sizeof *t->failures)) {
        t->st = ssm_fail(t->err, SSM_ENOMEM, "out of memory reading %s", t->path);
        return 1;
    }
    for (size_t k = 0; k < n; ++k) {
        const sw_record *r = &recs[k];
        size_t row = t->s->n++;
        t->s->done += r->status == SW_DONE;
        t->s->failed += r->status == SW_FAILED;
        if (r->status == SW_PENDING)
            continue;
        t->rows[t->n_rows++] = (finished_row){r->rank, row, r->elapsed};
        if (r->status != SW_FAILED)
            continue;
        char *copy = strdup(r->error);
        if (!copy) {
            t->st = ssm_fail(t->err, SSM_ENOMEM, "out of memory for failure reasons");
            return 1;
        }
        t->failures[t->n_failures++] = (reason_row){copy, row, 1};
    }
    return 0;
}

static int by_rank_then_row(const void *pa, const void *pb)
{
    const finished_row *a = pa, *b = pb;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

static int by_value(const void *pa, const void *pb)
{
    const finished_row *a = pa, *b = pb;
    return (a->elapsed > b->elapsed) - (a->elapsed < b->elapsed);
}

static int by_reason_then_row(const void *pa, const void *pb)
{
    const reason_row *a = pa, *b = pb;
    int c = strcmp(a->reason, b->reason);
    return c ? c : (a->row > b->row) - (a->row < b->row);
}

static int by_count_then_first(const void *pa, const void *pb)
{
    const reason_row *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

/* Median and maximum of the finished rows' times (sorting them). */
static void median_max(sw_summary *s, finished_row *rows, size_t n)
{
    if (n == 0)
        return;
    qsort(rows, n, sizeof *rows, by_value);
    s->median = n % 2 ? rows[n / 2].elapsed : (rows[n / 2 - 1].elapsed + rows[n / 2].elapsed) / 2;
    s->max = rows[n - 1].elapsed;
}

static ssm_status per_rank(sw_summary *s, finished_row *rows, size_t n, ssm_error *err)
{
    qsort(rows, n, sizeof *rows, by_rank_then_row);
    s->ranks = calloc(n ? n : 1, sizeof *s->ranks);
    if (!s->ranks)
        return ssm_fail(err, SSM_ENOMEM, "out of memory for the ranks");
    for (size_t k = 0; k < n; ++k) {
        if (k == 0 || rows[k].rank != rows[k - 1].rank)
            s->ranks[s->n_ranks++] = (sw_rank_time){rows[k].rank, 0, 0.0};
        sw_rank_time *r = &s->ranks[s->n_ranks - 1];
        ++r->tasks;
        r->seconds += rows[k].elapsed;
    }
    return SSM_OK;
}

/* Distinct reasons with their counts; the copies move into s. */
static ssm_status reasons(sw_summary *s, reason_row *f, size_t n, ssm_error *err)
{
    size_t m = 0;
    qsort(f, n, sizeof *f, by_reason_then_row);
    for (size_t k = 0; k < n; ++k) {
        if (m && strcmp(f[m - 1].reason, f[k].reason) == 0) {
            ++f[m - 1].count;
            free(f[k].reason);
        } else {
            f[m++] = f[k];
        }
    }
    qsort(f, m, sizeof *f, by_count_then_first);
    s->reasons = calloc(m ? m : 1, sizeof *s->reasons);
    if (!s->reasons) {
        for (size_t k = 0; k < m; ++k)
            free(f[k].reason);
        return ssm_fail(err, SSM_ENOMEM, "out of memory for the failure reasons");
    }
    for (size_t k = 0; k < m; ++k)
        s->reasons[k] = (sw_reason){f[k].reason, f[k].count};
    s->n_reasons = m;
    return SSM_OK;
}

ssm_status sw_summary_read(const char *path, const sw_registry *kinds, sw_summary *s, ssm_error *err)
{
    tally t = {.s = s, .path = path, .err = err};
    memset(s, 0, sizeof *s);
    ssm_status st = sw_h5_read(path, kinds, &s->info, 0, tally_rows, &t, err);
    if (st == SSM_OK)
        st = t.st;
    s->pending = s->n - s->done - s->failed;
    s->n_finished = t.n_rows;
    if (st == SSM_OK)
        st = reasons(s, t.failures, t.n_failures, err);
    else
        for (size_t k = 0; k < t.n_failures; ++k)
            free(t.failures[k].reason);
    for (size_t k = 0; k < t.n_rows; ++k)   /* in row order, before any sorting */
        s->total += t.rows[k].elapsed;
    if (st == SSM_OK)
        st = per_rank(s, t.rows, t.n_rows, err);
    if (st == SSM_OK)
        median_max(s, t.rows, t.n_rows);
    free(t.rows);
    free(t.failures);
    return st;
}

void sw_summary_print(const sw_summary *s, FILE *out)
{
    const sw_shard *shard = &s->info.shard;
    fprintf(out, "kind %s: %zu tasks, %zu done, %zu failed, %zu pending\n", s->info.kind, s->n, s->done, s->failed,
            s->pending);
    if (shard->count > 1)
        fprintf(out, "shard %llu/%llu of a sweep of %llu tasks\n", (unsigned long long)shard->index,
                (unsigned long long)shard->count, (unsigned long long)shard->n_tasks_total);
    if (s->n_finished)
        fprintf(out, "task time: total %.3f s, median %.4f s, max %.4f s\n", s->total, s->median, s->max);
    for (size_t k = 0; k < s->n_ranks; ++k)
        fprintf(out, "rank %d: %zu tasks, %.3f s\n", (int)s->ranks[k].rank, s->ranks[k].tasks, s->ranks[k].seconds);
    for (size_t k = 0; k < s->n_reasons; ++k)
        fprintf(out, "failed %zu x: %s\n", s->reasons[k].count, s->reasons[k].reason);
}

void sw_summary_free(sw_summary *s)
{
    if (!s)
        return;
    for (size_t k = 0; s->reasons && k < s->n_reasons; ++k)
        free(s->reasons[k].reason);
    free(s->reasons);
    free(s->ranks);
    sw_h5_info_free(&s->info);
    memset(s, 0, sizeof *s);
}

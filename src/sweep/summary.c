#include "config.h"

#include "summary.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The report reads a file once, in row order, and keeps per row only the
 * finished rows' times (8 bytes: the median needs them; a 10^7-task file
 * takes 80 MB) and the reasons of failed rows; sums per rank and in total
 * are added up as the rows pass, in row order, as numpy's would be. */

typedef struct {
    char *reason;
    size_t row;            /* where it first appeared */
    size_t count;
} reason_row;

typedef struct {
    sw_summary *s;
    double *times;         /* elapsed of the finished rows, row order */
    reason_row *failures;
    size_t n_times, n_failures, cap_times, cap_failures, cap_ranks;
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

/* The entry of rank in s->ranks (ascending), inserted if new; NULL without
 * memory.  Ranks are few (the job's size) and mostly repeat the last. */
static sw_rank_time *rank_entry(tally *t, int32_t rank)
{
    sw_summary *s = t->s;
    size_t lo = 0, hi = s->n_ranks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ranks[mid].rank < rank)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < s->n_ranks && s->ranks[lo].rank == rank)
        return &s->ranks[lo];
    if (grow((void **)&s->ranks, &t->cap_ranks, s->n_ranks + 1, sizeof *s->ranks))
        return NULL;
    memmove(&s->ranks[lo + 1], &s->ranks[lo], (s->n_ranks - lo) * sizeof *s->ranks);
    s->ranks[lo] = (sw_rank_time){rank, 0, 0.0};
    ++s->n_ranks;
    return &s->ranks[lo];
}

static int tally_rows(void *ctx, const sw_record *recs, const uint64_t *hash, size_t n)
{
    tally *t = ctx;
    sw_summary *s = t->s;
    (void)hash;
    if (grow((void **)&t->times, &t->cap_times, t->n_times + n, sizeof *t->times)) {
        t->st = ssm_fail(t->err, SSM_ENOMEM, "out of memory reading %s", t->path);
        return 1;
    }
    for (size_t k = 0; k < n; ++k) {
        const sw_record *r = &recs[k];
        size_t row = s->n++;
        s->done += r->status == SW_DONE;
        s->failed += r->status == SW_FAILED;
        if (r->status == SW_PENDING)
            continue;
        sw_rank_time *per_rank = rank_entry(t, r->rank);
        if (!per_rank) {
            t->st = ssm_fail(t->err, SSM_ENOMEM, "out of memory for the ranks");
            return 1;
        }
        ++per_rank->tasks;
        per_rank->seconds += r->elapsed;
        s->total += r->elapsed;
        if (t->n_times == 0 || r->elapsed > s->max)
            s->max = r->elapsed;
        t->times[t->n_times++] = r->elapsed;
        if (r->status != SW_FAILED)
            continue;
        char *copy = strdup(r->error);
        if (!copy || grow((void **)&t->failures, &t->cap_failures, t->n_failures + 1, sizeof *t->failures)) {
            free(copy);
            t->st = ssm_fail(t->err, SSM_ENOMEM, "out of memory for failure reasons");
            return 1;
        }
        t->failures[t->n_failures++] = (reason_row){copy, row, 1};
    }
    return 0;
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

/* The k-th smallest of v[0..n) (k < n), v reordered (Hoare's selection:
 * expected linear time, where sorting 10^7 times would take seconds). */
static double kth_smallest(double *v, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, want = (ptrdiff_t)k;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                ++i;
            while (v[j] > pivot)
                --j;
            if (i <= j) {
                double tmp = v[i];
                v[i++] = v[j];
                v[j--] = tmp;
            }
        }
        /* v[lo..j] <= pivot <= v[i..hi], and what lies between equals it */
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            return v[want];
    }
    return v[want];
}

/* Median of the finished rows' times (v reordered). */
static double median(double *v, size_t n)
{
    double upper = kth_smallest(v, n, n / 2);
    if (n % 2)
        return upper;
    double lower = v[0];   /* the largest of v[0 .. n/2): all <= upper */
    for (size_t k = 1; k < n / 2; ++k)
        lower = v[k] > lower ? v[k] : lower;
    return (lower + upper) / 2;
}

/* Distinct reasons with their counts; the copies move into s. */
static ssm_status reasons(sw_summary *s, reason_row *f, size_t n, ssm_error *err)
{
    size_t m = 0;
    if (n == 0)   /* f is NULL then: no failed row grew it */
        return SSM_OK;
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
    s->n_finished = t.n_times;
    if (st == SSM_OK)
        st = reasons(s, t.failures, t.n_failures, err);
    else
        for (size_t k = 0; k < t.n_failures; ++k)
            free(t.failures[k].reason);
    if (st == SSM_OK && t.n_times)
        s->median = median(t.times, t.n_times);
    free(t.times);
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

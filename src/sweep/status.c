#include "config.h"

#include "status.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sw_journal_status *s;
    unsigned char *state;   /* per task: its last record's status */
    uint32_t *mark;         /* per task: a fingerprint of its last record (with part journals) */
} tally;

/* Who ran it and when: the same record read twice has the same. */
static uint32_t fingerprint(const sw_record *rec)
{
    uint64_t a, b;
    memcpy(&a, &rec->finished, 8);
    memcpy(&b, &rec->elapsed, 8);
    uint64_t x = (a ^ (b * UINT64_C(0x9e3779b97f4a7c15)) ^ (uint64_t)(uint32_t)rec->rank) * UINT64_C(0xff51afd7ed558ccd);
    return (uint32_t)(x >> 32) | 1;   /* 0: no record yet */
}

static int tally_record(void *ctx, const sw_record *rec)
{
    tally *t = ctx;
    sw_journal_status *s = t->s;
    if (rec->task >= s->header.n_tasks)
        return 0;
    if (t->mark) {
        /* a kill during the end of a run with part files leaves records in
         * both the main journal and a part: one record, not a recomputation */
        uint32_t f = fingerprint(rec);
        if (t->mark[rec->task] == f)
            return 0;
        t->mark[rec->task] = f;
    }
    s->recomputed += t->state[rec->task] == SW_DONE;
    t->state[rec->task] = (unsigned char)rec->status;
    ++s->records;
    if (s->records == 1 || rec->finished < s->first)
        s->first = rec->finished - rec->elapsed;
    if (rec->finished > s->last)
        s->last = rec->finished;
    s->busy += rec->elapsed;
    if (rec->status == SW_FAILED)
        for (int k = 0; k < SW_STATUS_REASONS; ++k)
            if (s->reason_count[k] == 0 || strcmp(s->reason[k], rec->error) == 0) {
                snprintf(s->reason[k], SW_ERROR_MAX, "%s", rec->error);
                ++s->reason_count[k];
                break;
            }
    return 0;
}

/* The other journal's header must describe the same tasks. */
static ssm_status same_tasks(const char *path, const sw_journal_header *a, const sw_journal_header *b, ssm_error *err)
{
    if (a->spec_hash == b->spec_hash && a->n_tasks == b->n_tasks && strcmp(a->kind, b->kind) == 0 &&
        a->shard.index == b->shard.index && a->shard.count == b->shard.count)
        return SSM_OK;
    return ssm_fail(err, SSM_EINVAL, "part journal %s is of another spec than its main journal", path);
}

ssm_status sw_journal_status_read(const char *path, sw_journal_status *s, ssm_error *err)
{
    char output[PATH_MAX];
    size_t len = strlen(path);
    sw_journal_part_list parts = {0};
    memset(s, 0, sizeof *s);
    /* a first pass for the header (task count), a second with the tally */
    ssm_status st = sw_journal_read(path, &s->header, NULL, NULL, &s->scan, err);
    if (st)
        return st;
    /* OUT.h5.journal: its parts are OUT.h5.part<k>.journal */
    if (len > 8 && strcmp(path + len - 8, ".journal") == 0 && len - 8 < sizeof output) {
        snprintf(output, sizeof output, "%.*s", (int)(len - 8), path);
        if ((st = sw_journal_parts(output, &parts, err)) != SSM_OK)
            return st;
    }
    const size_t n = s->header.n_tasks;
    tally t = {s, calloc(n ? n : 1, 1), parts.n ? calloc(n ? n : 1, sizeof *t.mark) : NULL};
    if (!t.state || (parts.n && !t.mark))
        st = ssm_fail(err, SSM_ENOMEM, "out of memory");
    if (st == SSM_OK)
        st = sw_journal_read(path, &s->header, tally_record, &t, &s->scan, err);
    for (size_t k = 0; st == SSM_OK && k < parts.n; ++k) {
        sw_journal_header h;
        sw_journal_scan scan;
        st = sw_journal_read(parts.path[k], &h, NULL, NULL, NULL, err);
        if (st == SSM_OK)
            st = same_tasks(parts.path[k], &h, &s->header, err);
        if (st == SSM_OK)
            st = sw_journal_read(parts.path[k], &h, tally_record, &t, &scan, err);
        s->part_records += scan.records;
        s->part_damaged += scan.damaged;
    }
    s->parts = parts.n;
    for (size_t k = 0; st == SSM_OK && k < n; ++k) {
        s->n_done += t.state[k] == SW_DONE;
        s->n_failed += t.state[k] == SW_FAILED;
    }
    s->n_pending = n - s->n_done - s->n_failed;
    free(t.state);
    free(t.mark);
    sw_journal_parts_free(&parts);
    return st;
}

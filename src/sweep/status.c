#include "config.h"

#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sw_journal_status *s;
    unsigned char *state;   /* per task: its last record's status */
} tally;

static int tally_record(void *ctx, const sw_record *rec)
{
    tally *t = ctx;
    sw_journal_status *s = t->s;
    if (rec->task >= s->header.n_tasks)
        return 0;
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

ssm_status sw_journal_status_read(const char *path, sw_journal_status *s, ssm_error *err)
{
    memset(s, 0, sizeof *s);
    /* a first pass for the header (task count), a second with the tally */
    ssm_status st = sw_journal_read(path, &s->header, NULL, NULL, &s->scan, err);
    if (st)
        return st;
    const size_t n = s->header.n_tasks;
    tally t = {s, calloc(n ? n : 1, 1)};
    if (!t.state)
        return ssm_fail(err, SSM_ENOMEM, "out of memory");
    st = sw_journal_read(path, &s->header, tally_record, &t, &s->scan, err);
    for (size_t k = 0; st == SSM_OK && k < n; ++k) {
        s->n_done += t.state[k] == SW_DONE;
        s->n_failed += t.state[k] == SW_FAILED;
    }
    s->n_pending = n - s->n_done - s->n_failed;
    free(t.state);
    return st;
}

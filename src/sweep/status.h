/* What a journal says of its sweep (`ssmsweep status`): task counts, the
 * time span of the records and the most common failure reasons.  The
 * journal alone is read, so this works while a sweep writes it and after
 * the results file was lost. */
#ifndef SW_STATUS_H
#define SW_STATUS_H

#include <stddef.h>

#include "journal.h"
#include "record.h"

/* Distinct failure reasons kept (the first ones met). */
#define SW_STATUS_REASONS 5

typedef struct {
    sw_journal_header header;
    sw_journal_scan scan;
    size_t n_done, n_failed, n_pending;
    size_t records;      /* distinct records (a record both in the main and in a part journal once) */
    size_t parts;        /* part journals read besides the main one (a run with part files) */
    size_t part_records; /* records in them */
    size_t part_damaged; /* damaged regions in them (--resume keeps the valid records around them) */
    size_t recomputed;   /* done tasks that were done again: should never happen */
    double first, last;  /* unix time of the first task's start, the last record's end */
    double busy;         /* task time, summed */
    char reason[SW_STATUS_REASONS][SW_ERROR_MAX];
    size_t reason_count[SW_STATUS_REASONS];
} sw_journal_status;

/* Reads the journal at path (OUT.h5.journal) and its part journals
 * (OUT.h5.part<k>.journal, journal.h) into *s.  Errors as sw_journal_read's
 * (SSM_EINVAL: missing or not a journal of ours). */
ssm_status sw_journal_status_read(const char *path, sw_journal_status *s, ssm_error *err);

#endif

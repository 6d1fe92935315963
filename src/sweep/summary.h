/* The summary table of a results file (ssmsweep report): task counts,
 * task time, tasks and time per MPI rank, failure reasons.  It is the
 * table `ssmsweep-plot summary` prints, number for number (the same sums
 * in the same order), so either can check the other. */
#ifndef SW_SUMMARY_H
#define SW_SUMMARY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "h5out.h"

typedef struct {
    int32_t rank;
    size_t tasks;
    double seconds;          /* summed in row order */
} sw_rank_time;

typedef struct {
    char *reason;
    size_t count;
} sw_reason;

typedef struct {
    sw_h5_info info;
    size_t n, done, failed, pending;
    size_t n_finished;       /* rows with a status beyond pending */
    double total, median, max;   /* of their elapsed times; total summed in row order */
    sw_rank_time *ranks;     /* ascending rank */
    size_t n_ranks;
    sw_reason *reasons;      /* most frequent first, ties in order of first appearance */
    size_t n_reasons;
} sw_summary;

/* Reads path (also a file being written: see sw_h5_read, whose errors it
 * returns) into *s; free it with sw_summary_free, also after an error. */
ssm_status sw_summary_read(const char *path, const sw_registry *kinds, sw_summary *s, ssm_error *err);

/* The table, as ssmsweep-plot summary prints it. */
void sw_summary_print(const sw_summary *s, FILE *out);

void sw_summary_free(sw_summary *s);

#endif

/* Progress reports of a running sweep (rank 0).
 *
 * On a terminal: one line redrawn in place at most 5 times a second,
 *   [#########-----------]  4512/10000 done, 3 failed | 812 tasks/s | ETA 6.8 s
 * In a batch log (not a terminal): a plain line every `interval` seconds,
 * so SLURM output files stay readable. */
#ifndef SW_PROGRESS_H
#define SW_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

#include "provenance.h"

/* Receives the lines a run has for its user (what it starts, stop
 * requests, records reused on resume), one line without a newline or a
 * program name; after_progress: a progress line may be unfinished. */
typedef void (*sw_say_fn)(void *ctx, int after_progress, const char *line);

/* Formats one line and hands it to say (NULL: nothing is said). */
void sw_say(sw_say_fn say, void *ctx, int after_progress, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

typedef struct {
    FILE *out;
    int tty;
    double interval;         /* seconds between batch-log lines */
    double start, last;      /* monotonic seconds */
    size_t total, done, failed;
    size_t done_at_start;    /* resumed tasks do not count towards the rate */
    size_t drawn;            /* length of the last terminal line */
} sw_progress;

void sw_progress_init(sw_progress *p, FILE *out, double interval, size_t total, size_t done,
                      size_t failed);
/* Records the counts and prints if it is time (or force). */
void sw_progress_update(sw_progress *p, size_t done, size_t failed, int force);
/* The final line (ends the terminal line with a newline). */
void sw_progress_finish(sw_progress *p, const char *outcome);

/* "1.2 s", "3 min 4 s", "2 h 5 min" */
void sw_format_duration(double seconds, char *buf, size_t size);

#endif

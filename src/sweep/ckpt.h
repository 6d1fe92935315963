/* Checkpoint files of long tasks: where a task finds its own, and their
 * removal by the engine once the task's journal record is durable (the
 * kind never deletes it: a crash between its end and the journal's sync
 * would lose the work the checkpoint holds). */
#ifndef SW_CKPT_H
#define SW_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "tasks.h"

/* DIR/HHHHHHHHHHHHHHHH.ckpt (the task hash in hex) into buf. */
void sw_checkpoint_path(char *buf, size_t size, const char *dir, uint64_t task_hash);

/* Finished tasks whose checkpoints go once the journal is synced. */
typedef struct {
    const char *dir;      /* NULL: no checkpoints, nothing is kept */
    uint64_t *hash;
    size_t n, cap;
} sw_ckpt_pending;

/* Notes that task_hash finished; without memory its file just stays (a
 * stale file, never lost work). */
void sw_ckpt_pending_add(sw_ckpt_pending *p, uint64_t task_hash);
/* After the journal holding every noted record is durable: removes their
 * files. */
void sw_ckpt_pending_remove(sw_ckpt_pending *p);
void sw_ckpt_pending_free(sw_ckpt_pending *p);

/* On resume, once the journal is durable: removes the checkpoints in dir
 * of the rows of t it records as done (state[row] == SW_DONE; their hashes
 * computed from their ids), which a kill between the journal's sync and
 * sw_ckpt_pending_remove left behind.  Checkpoints of tasks still to
 * compute and files that are no task's stay. */
void sw_ckpt_remove_done(const char *dir, const sw_tasks *t, const unsigned char *state);

#endif

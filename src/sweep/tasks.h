/* The task table: every task of a sweep, enumerated from a spec.
 *
 * Task i has its parameter vector (one sw_value per parameter of the kind,
 * defaults filled in), a canonical text form "name=value;..." in the
 * kind's parameter order (reals as %.17g, so the text is exact; a
 * parameter flagged SW_PARAM_SILENT_DEFAULT is left out while it holds its
 * default), a 64-bit
 * content hash of that text, and a seed derived from (master seed, hash).
 * Ids are positions in enumeration order; the order of axes in the spec
 * fixes it.
 *
 * A table may hold one shard of a spec (sw_tasks_select_shard): then its
 * rows are a subset of the spec's tasks and global_id[row] is each one's
 * id in the whole spec.  Everything that runs or stores tasks (the
 * coordinator, the journal, the HDF5 writer) works on rows; only the
 * HDF5 task scale and the user see global ids (sw_task_id). */
#ifndef SW_TASKS_H
#define SW_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "kinds.h"

/* One axis of the sweep as the spec wrote it, for `ssmsweep plan`. */
typedef struct {
    char *names;            /* "N" or, for a zip group, "T+tau_max" */
    size_t n_values;
    char *values;           /* the values as text, "16, 32, 64" (may be shortened) */
} sw_axis_info;

/* Which part of a spec a table holds: the tasks whose global id % count
 * == index, out of n_tasks_total.  The whole spec is {0, 1, n_tasks}. */
typedef struct {
    uint64_t index, count, n_tasks_total;
} sw_shard;

typedef struct {
    const sw_kind *kind;
    char *name;             /* the spec's name, or "" */
    sw_axis_info *axes;
    size_t n_axes;
    size_t repeats;
    size_t n_tasks;
    sw_value *values;       /* n_tasks x kind->n_params, row-major */
    uint64_t *hash;         /* n_tasks */
    uint64_t *seed;         /* n_tasks */
    double *cost;           /* n_tasks */
    uint64_t master_seed;
    uint64_t spec_hash;     /* hash of kind, master seed and all task hashes in order
                               (of the whole spec, also in a shard) */
    char **strings;         /* storage of string values */
    size_t n_strings;
    uint64_t *global_id;    /* n_tasks, ascending; NULL: the whole spec (row = id) */
    sw_shard shard;         /* meaningful when global_id is set */
} sw_tasks;

/* The id in the whole spec of the task in row. */
static inline uint64_t sw_task_id(const sw_tasks *t, size_t row)
{
    return t->global_id ? t->global_id[row] : row;
}

/* The shard t holds; {0, 1, n_tasks} for a whole spec. */
static inline sw_shard sw_tasks_shard(const sw_tasks *t)
{
    if (t->global_id)
        return t->shard;
    return (sw_shard){0, 1, t->n_tasks};
}

static inline const sw_value *sw_task_params(const sw_tasks *t, size_t id)
{
    return t->values + id * t->kind->n_params;
}

/* A value as `plan` shows it (%g: for reading; hashes use the exact
 * canonical text). */
void sw_value_shown(const sw_value *v, char *buf, size_t size);

/* Canonical text of task id into buf (truncated to size); returns the
 * length it needed. */
size_t sw_task_canonical(const sw_tasks *t, size_t id, char *buf, size_t size);

/* 64-bit FNV-1a of bytes, finalized with ssm_mix64; h is the FNV state to
 * start from, normally SW_HASH_INIT. */
uint64_t sw_hash_bytes(const void *data, size_t len, uint64_t h);
#define SW_HASH_INIT UINT64_C(0xcbf29ce484222325)

/* The FNV-1a state after data, not finalized: hashing data that comes in
 * pieces, sw_hash_bytes(a + b) == ssm_mix64(sw_hash_update(b,
 * sw_hash_update(a, SW_HASH_INIT))). */
uint64_t sw_hash_update(const void *data, size_t len, uint64_t h);

/* Derives what follows from kind, master_seed and the values of all
 * n_tasks tasks: hash[i] = sw_hash_bytes of "<kind name>:" + canonical
 * text, seed[i] = ssm_mix64(master_seed ^ hash[i]), cost[i] from the
 * kind, and spec_hash over the kind name, master seed and n_tasks (8 bytes
 * little endian each) and every task hash (likewise) in order.  The arrays
 * must be allocated. */
void sw_tasks_finish(sw_tasks *t);

/* Keeps only shard index of count (round robin: global id % count ==
 * index, so every shard gets a fair mix of cheap and expensive tasks),
 * in id order, with their hashes, seeds and costs; spec_hash stays the
 * whole spec's, so the shards of one spec share it.  t must be a whole
 * spec.  SSM_EINVAL unless index < count; SSM_ENOMEM leaves t as it was. */
ssm_status sw_tasks_select_shard(sw_tasks *t, uint64_t index, uint64_t count, ssm_error *err);

/* The number of tasks in shard index of count of a spec of n tasks. */
uint64_t sw_shard_size(uint64_t n, uint64_t index, uint64_t count);

void sw_tasks_free(sw_tasks *t);

#endif

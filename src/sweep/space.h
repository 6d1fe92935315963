/* The task space of a spec: every task computed from its id, no table.
 *
 * A spec's tasks are a mixed-radix number: the repeat index is the fastest
 * digit, then the value index of the last axis (a zip group is one axis),
 * the first axis slowest.  Task id = combination * repeats + repeat, where
 * a combination is one choice of a value on every axis.  The space holds
 * the axes' values, the defaults and fixed values, and the canonical
 * fragment "name=value;" of each of them, formatted once: a task's
 * canonical text is the concatenation of its parameters' fragments in the
 * kind's order (tasks.c writes every fragment, so the text cannot drift
 * from the table's), its hash the FNV-1a of "<kind>:" and that text.
 * Memory is the size of the axes, not of the product.
 *
 * A kind's check, cost, memory and curve_length do not depend on its
 * `repeat` parameter (which only tells replicas apart through the hash):
 * they are evaluated once per combination.
 *
 * A walk (sw_space_walk) visits ids in order and rehashes only the
 * fragments from the first parameter that changed: for the usual spec,
 * whose `repeat` parameter is the kind's last, a task costs the hash of
 * "repeat=K;" and one ssm_mix64. */
#ifndef SW_SPACE_H
#define SW_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include "kinds.h"
#include "ssm/error.h"

/* A canonical fragment: bytes at offset in the space's text arena. */
typedef struct {
    size_t offset, len;
} sw_fragment;

/* One factor of the product: a key of `axes` or a group of `zip`. */
typedef struct {
    size_t n_cols, n_values;
    int *params;             /* n_cols parameter indices */
    sw_value *values;        /* n_values x n_cols, row-major */
    sw_fragment *frags;      /* n_values x n_cols */
    int first_param;         /* the lowest of params: where the canonical text first changes */
} sw_space_axis;

typedef struct {
    const sw_kind *kind;
    uint64_t master_seed;
    uint64_t repeats;
    int repeat_param;        /* index of `repeat`, -1 if the kind has none */
    size_t n_axes;
    sw_space_axis *axes;
    sw_value *base;          /* n_params: defaults and fixed values */
    sw_fragment *base_frags; /* n_params (those of axis parameters unused) */
    int *axis_of, *col_of;   /* per parameter: its axis and column, -1: not on an axis */
    uint64_t n_combos, n_tasks;
    uint64_t *combo_stride;  /* per axis: combinations per step of its value index */
    uint64_t kind_state;     /* FNV state after "<kind>:" */
    uint64_t spec_hash;      /* FNV-1a of the kind name, master seed and n_tasks (8 bytes little
                                endian each) and every task hash (likewise) in id order,
                                finalized with ssm_mix64 */
    char *text;              /* the fragments' bytes */
    size_t text_len, text_cap;
    char **strings;          /* storage of string values */
    size_t n_strings, strings_cap;
} sw_space;

/* Building (the spec parser): start, keep strings, set base, add the axes
 * in enumeration order, finish, hash all.  sw_space_add_axis takes
 * ownership of params and values (malloc'ed) also on failure.
 * sw_space_finish formats the fragments and computes n_combos and n_tasks
 * (the caller checked the product against its limit); sw_space_hash_all
 * computes spec_hash, one pass over every task. */
ssm_status sw_space_start(sw_space *s, const sw_kind *kind, uint64_t master_seed, uint64_t repeats,
                          ssm_error *err);
/* A copy of str owned by the space, or NULL without memory. */
const char *sw_space_keep_string(sw_space *s, const char *str);
ssm_status sw_space_add_axis(sw_space *s, size_t n_cols, int *params, size_t n_values, sw_value *values,
                             ssm_error *err);
ssm_status sw_space_finish(sw_space *s, ssm_error *err);
ssm_status sw_space_hash_all(sw_space *s, ssm_error *err);
void sw_space_free(sw_space *s);

/* The axes as JSON (malloc'ed; NULL without memory), for the results
 * file, so that readers can shape its columns without the spec:
 *   {"axes": [{"name": "T+tau_max", "params": ["T", "tau_max"], "size": 2,
 *              "values": {"T": [256, 1024], "tau_max": [255, 1023]}}, ...],
 *    "repeats": 3, "shape": [2, 3],
 *    "order": "row-major over shape: the first axis slowest, repeats fastest"}
 * Reals as %.17g (exact), strings JSON-escaped. */
char *sw_space_axes_json(const sw_space *s);

/* The parameters of task id (kind->n_params values into out; string
 * values point into the space). */
void sw_space_params(const sw_space *s, uint64_t id, sw_value *out);
uint64_t sw_space_hash(const sw_space *s, uint64_t id);
static inline uint64_t sw_space_combo(const sw_space *s, uint64_t id)
{
    return id / s->repeats;
}
/* Canonical text of task id into buf (truncated to size); returns the
 * length it needed, as sw_task_canonical. */
size_t sw_space_canonical(const sw_space *s, uint64_t id, char *buf, size_t size);

/* A walk over ids first, first + step, ... below end, in order. */
typedef struct {
    const sw_space *s;
    uint64_t id, next, step, end;
    uint64_t combo, repeat;
    int new_combo;           /* the combination differs from the previous task's (1 for the first) */
    int want_hash, started;
    sw_value *values;        /* the task's parameters */
    uint64_t hash, seed;     /* when want_hash */
    size_t *digit;           /* per axis: the value index */
    uint64_t *state;         /* n_params + 1 FNV states: state[k] after parameters 0..k-1 */
    size_t valid;            /* state[0..valid] hold for values */
} sw_space_walk;

ssm_status sw_space_walk_start(sw_space_walk *w, const sw_space *s, uint64_t first, uint64_t step, uint64_t end,
                               int want_hash, ssm_error *err);
/* Moves to the next task: 1, or 0 after the last. */
int sw_space_walk_next(sw_space_walk *w);
/* Moves to task id (below end), from wherever the walk is: only what
 * differs from the task it was at is recomputed, so the tasks of a batch
 * (mostly neighbours) cost about what a walk does.  next() then goes on
 * from id + step. */
void sw_space_walk_to(sw_space_walk *w, uint64_t id);
void sw_space_walk_end(sw_space_walk *w);

#endif

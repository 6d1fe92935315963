/* Sweep specs in YAML (parsed with libyaml).
 *
 *   kind: mf                       # a kind of the registry handed in
 *   name: mc-vs-n                  # optional, free text
 *   seed: 1                        # master seed (default 0)
 *   repeats: 3                     # replicas, parameter `repeat` = 0..2 (default 1)
 *   fixed:    {method: analytic, tau_max: 2000}
 *   axes:                          # Cartesian product, in this order
 *     init: [s4d-inv, s4d-lin]
 *     N: {from: 16, to: 1024, num: 7, scale: log}
 *   zip:                           # each group varies its keys together
 *     - {T: [256, 1024], tau_max: [255, 1023]}
 *
 * Values are typed by the kind's parameter table: integers may be written
 * 1e3 but not 1.5, reals must be finite, then ranges and choices apply;
 * unset parameters take their defaults.  A range {from, to, num, scale}
 * (scale linear or log, default linear) hits its ends exactly and rounds
 * to the nearest integer for integer parameters (a value twice is an
 * error).  Tasks are the nested loops over axes in spec order (the first
 * slowest), then each zip group, then repeats; task id = position.
 * Anchors and aliases are refused, as are tags outside YAML's core schema
 * (`!foo`, `!!binary`), lists and mappings nested deeper than
 * SW_SPEC_MAX_DEPTH (checked on the event stream, before libyaml composes
 * the document), files over SW_SPEC_MAX_BYTES and more than one document.
 *
 * Every error is one line naming the file, line and column and the key
 * involved ("FILE:LINE:COL: key 'KEY': ..."), SSM_EINVAL (SSM_EIO for a
 * file that cannot be read), detected before anything runs; the task count
 * is checked against SW_MAX_TASKS before the table is allocated.  On
 * failure *tasks is left zeroed (sw_tasks_free on it is harmless). */
#ifndef SW_SPEC_H
#define SW_SPEC_H

#include "ssm/error.h"
#include "tasks.h"

/* Deepest nesting of lists and mappings; a spec needs 3 or 4 levels. */
#define SW_SPEC_MAX_DEPTH 64
/* Largest spec file (sw_spec_load). */
#define SW_SPEC_MAX_BYTES ((size_t)16 << 20)

/* Largest task count a spec may expand to. */
#define SW_MAX_TASKS 100000000UL

/* Parses path and enumerates its tasks; the spec's kind is looked up in
 * kinds.  On success *text receives the spec
 * file verbatim (malloc'ed, for provenance). */
ssm_status sw_spec_load(const char *path, const sw_registry *kinds, sw_tasks *tasks, char **text, ssm_error *err);

/* The same from a string (path is used in messages only). */
ssm_status sw_spec_parse(const char *path, const char *text, size_t len, const sw_registry *kinds,
                         sw_tasks *tasks, ssm_error *err);

#endif

/* Sweep specs in YAML (parsed with libyaml).
 *
 *   kind: mf                       # a task kind of kinds.c
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
 * Every error names the file, line and column and the key involved, and
 * is detected before anything runs. */
#ifndef SW_SPEC_H
#define SW_SPEC_H

#include "ssm/error.h"
#include "tasks.h"

/* Largest task count a spec may expand to. */
#define SW_MAX_TASKS 100000000UL

/* Parses path and enumerates its tasks.  On success *text receives the spec
 * file verbatim (malloc'ed, for provenance). */
ssm_status sw_spec_load(const char *path, sw_tasks *tasks, char **text, ssm_error *err);

/* The same from a string (path is used in messages only). */
ssm_status sw_spec_parse(const char *path, const char *text, size_t len, sw_tasks *tasks,
                         ssm_error *err);

#endif

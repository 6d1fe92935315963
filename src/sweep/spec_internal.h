/* What the spec parser's parts share (spec.c: values, axes, the task
 * table; spec_yaml.c: messages and the YAML document).  Private to them. */
#ifndef SW_SPEC_INTERNAL_H
#define SW_SPEC_INTERNAL_H

#include <yaml.h>

#include "spec.h"

/* Values of an axis list shown by `plan`, in characters (about). */
#define SHOWN_WIDTH 80

#include <yaml.h>

/* Values of an axis list shown by `plan`, in characters (about). */
#define SHOWN_WIDTH 80

/* One parameter of an axis as the spec wrote it: a list or a range. */
typedef struct {
    int param;
    yaml_node_t *key, *node;
    size_t count;
    int range, log_scale;
    double from, to;
} column;

/* One factor of the product: a key of `axes` (one column) or a group of
 * `zip` (columns that vary together). */
typedef struct {
    column *cols;
    size_t n_cols, n_values;
    sw_value *values;          /* n_values x n_cols, row-major */
} axis;

typedef struct {
    const char *path, *text;
    size_t len;
    ssm_error *err;
    yaml_document_t doc;
    int have_doc;
    sw_tasks *t;
    size_t strings_cap;        /* allocated length of t->strings */
    const sw_kind *kind;
    yaml_node_t *kind_key, *fixed, *axes_node, *zip;
    sw_value *base;            /* defaults, then fixed values */
    yaml_node_t **set_at;      /* per parameter: the key that sets it, NULL: default */
    column *cols;
    axis *axes;
    size_t n_cols, n_axes, n_tasks;
    const sw_registry *kinds;   /* where kind: is looked up */
} parser;

/* Collects the names a misspelt word could have meant: the closest one
 * (for "did you mean") and the list of all (shortened). */
typedef struct {
    const char *word, *best;
    size_t best_distance, len;
    char known[160];
} suggestion;

ssm_status spec_one_line(ssm_error *err, ssm_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

ssm_status spec_fail_at(const parser *p, yaml_mark_t mark, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

ssm_status spec_no_memory(const parser *p);

void spec_suggest_start(suggestion *s, const char *word);

void spec_suggest_add(suggestion *s, const char *name);

/* "; did you mean 'dt'?" when a name is within two edits, else "". */
const char *spec_suggest_guess(const suggestion *s, char *buf, size_t size);

/* The event pass: syntax, anchors, aliases, tags, nesting depth and the
 * number of documents.  The depth is counted here, on the events, because
 * the loader that composes the document takes time quadratic in the depth
 * (tens of seconds for 10^5 levels) and recursion in what walks it. */
ssm_status spec_prescan(const parser *p);

ssm_status spec_load(parser *p);

yaml_node_t *spec_node(parser *p, yaml_node_item_t id);

const char *spec_scalar(const yaml_node_t *n);

const char *spec_node_kind(const yaml_node_t *n);

size_t spec_n_pairs(const yaml_node_t *n);

size_t spec_n_items(const yaml_node_t *n);

#endif

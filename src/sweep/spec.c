/* Sweep specs: YAML text -> task table.
 *
 * The text goes through libyaml twice.  The event parser comes first: it
 * reports syntax errors and sees what the document loader would hide
 * (anchors and aliases, which the loader resolves silently, and a second
 * document, which it never reads).  The loaded tree is then walked in an
 * order that keeps memory bounded: top-level keys, fixed values, the
 * shape of every axis (how many values, none materialized), the size of
 * the product, and only when that is within SW_MAX_TASKS the values, the
 * task table and the per-task checks.
 *
 * Every message is one line, "FILE:LINE:COL: key 'KEY': what", with the
 * 1-based line and column of libyaml's marks. */
#include "config.h"

#include "spec_internal.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers and values ------------------------------------------------------------ */

static int parse_real(const char *text, double *out)
{
    char *end;
    if (*text == '\0' || isspace((unsigned char)*text))
        return -1;
    errno = 0;
    double v = strtod(text, &end);
    if (*end != '\0' || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v == 0 ? 0.0 : v;   /* -0 computes what 0 does: one canonical text, one hash */
    return 0;
}

/* An integer in any notation that denotes one exactly: "1000", "1e3";
 * not "1.5", "abc" or beyond long long. */
static int parse_integer(const char *text, long long *out)
{
    char *end;
    double v;
    if (*text == '\0' || isspace((unsigned char)*text))
        return -1;
    errno = 0;
    long long i = strtoll(text, &end, 10);
    if (*end == '\0' && errno == 0) {
        *out = i;   /* exact even beyond 2^53, where doubles skip integers */
        return 0;
    }
    if (parse_real(text, &v) || v != trunc(v) || fabs(v) >= 0x1p63)
        return -1;
    *out = (long long)v;
    return 0;
}

/* A real as short as it can be and still read back as the same double. */
static void real_text(double x, char *buf, size_t size)
{
    for (int digits = 6; digits <= 17; ++digits) {
        snprintf(buf, size, "%.*g", digits, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

/* "[1, 65536]" or "(0, 1)": descriptors write "positive" as a bound in
 * (0, DBL_MIN] (the core's rows: the least positive double) and "below 1"
 * as the double just under 1; both read better as open ends. */
static void range_text(const sw_param_desc *d, char *buf, size_t size)
{
    char lo[32], hi[32];
    int open_lo = d->min > 0 && d->min <= DBL_MIN;
    snprintf(lo, sizeof lo, "%.6g", open_lo ? 0.0 : d->min);
    snprintf(hi, sizeof hi, "%.6g", d->max);
    int open_hi = strtod(hi, NULL) > d->max;
    snprintf(buf, size, "%c%s, %s%c", open_lo ? '(' : '[', lo, hi, open_hi ? ')' : ']');
}

/* x (shown as the user wrote it) within the descriptor's bounds? */
static int in_bounds(const sw_param_desc *d, double x, const char *shown, char *why, size_t size)
{
    char range[80];
    if (x >= d->min && x <= d->max)
        return 1;
    range_text(d, range, sizeof range);
    snprintf(why, size, "%s is outside the allowed range %s", shown, range);
    return 0;
}

/* Text as a value of parameter param: typed by the descriptor, then
 * checked against its range or choices.  The reason (without location)
 * goes to why; -1 for a bad value, -2 for no memory. */
static int text_value(parser *p, int param, const char *text, sw_value *out, char *why, size_t size)
{
    const sw_param_desc *d = &p->kind->params[param];
    memset(out, 0, sizeof *out);
    out->type = d->type;
    switch (d->type) {
    case SW_INT:
        if (parse_integer(text, &out->i)) {
            snprintf(why, size, "expected an integer, got '%s'", text);
            return -1;
        }
        return in_bounds(d, (double)out->i, text, why, size) ? 0 : -1;
    case SW_REAL:
        if (parse_real(text, &out->r)) {
            snprintf(why, size, "expected a finite number, got '%s'", text);
            return -1;
        }
        return in_bounds(d, out->r, text, why, size) ? 0 : -1;
    case SW_STRING:
        if (d->choices) {
            size_t k = 0;
            while (d->choices[k] && strcmp(d->choices[k], text) != 0)
                ++k;
            if (!d->choices[k]) {
                size_t len = (size_t)snprintf(why, size, "'%s' is not one of", text);
                for (k = 0; d->choices[k] && len < size; ++k)
                    len += (size_t)snprintf(why + len, size - len, "%s %s", k ? "," : "", d->choices[k]);
                return -1;
            }
        }
        out->s = sw_space_keep_string(p->space, text);
        return out->s ? 0 : -2;
    }
    return -1;
}

/* A node that must hold one value of parameter param. */
static ssm_status node_value(parser *p, int param, yaml_node_t *n, sw_value *out)
{
    char why[256];
    const char *name = p->kind->params[param].name, *text = spec_scalar(n);
    if (!text)
        return spec_fail_at(p, n->start_mark, name, "expected a single value, got %s", spec_node_kind(n));
    int bad = text_value(p, param, text, out, why, sizeof why);
    return bad == -2 ? spec_no_memory(p) : bad ? spec_fail_at(p, n->start_mark, name, "%s", why) : SSM_OK;
}

/* Defaults first, parsed like spec text, so fixed values overwrite them. */
static ssm_status start_values(parser *p, uint64_t seed, size_t repeats)
{
    const size_t np = p->kind->n_params;
    ssm_status st = sw_space_start(p->space, p->kind, seed, repeats, p->err);
    if (st)
        return st;
    p->base = p->space->base;
    p->set_at = calloc(np, sizeof *p->set_at);
    if (!p->set_at)
        return spec_no_memory(p);
    for (size_t k = 0; k < np; ++k) {
        char why[256];
        const sw_param_desc *d = &p->kind->params[k];
        if (!d->def) {   /* required: check_required insists on a value */
            p->base[k].type = d->type;
            p->base[k].s = "";
            continue;
        }
        int bad = text_value(p, (int)k, d->def, &p->base[k], why, sizeof why);
        if (bad == -2)
            return spec_no_memory(p);
        if (bad)   /* a kinds.c bug, not the user's */
            return ssm_fail(p->err, SSM_EINVAL, "kind %s: default of %s: %s", p->kind->name, d->name, why);
    }
    return SSM_OK;
}

/* Parameters without a default (def NULL) must be set somewhere. */
static ssm_status check_required(const parser *p)
{
    for (size_t k = 0; k < p->kind->n_params; ++k)
        if (!p->kind->params[k].def && !p->set_at[k])
            return spec_fail_at(p, p->kind_key->start_mark, p->kind->params[k].name,
                           "missing: kind %s has no default for it (set it under fixed, axes or zip)", p->kind->name);
    return SSM_OK;
}

/* ---- parameters -------------------------------------------------------------------- */

/* The key of a fixed, axes or zip entry as a parameter: one the kind
 * knows, not `repeat` (the top-level `repeats` sets it) and not set
 * anywhere else in the spec. */
static ssm_status param_key(parser *p, yaml_node_t *key, int *param)
{
    const char *name = spec_scalar(key);
    if (!name)
        return spec_fail_at(p, key->start_mark, NULL, "a parameter name must be a scalar, got %s", spec_node_kind(key));
    int k = sw_kind_param_index(p->kind, name);
    if (k < 0) {
        suggestion s;
        char guess[80];
        spec_suggest_start(&s, name);
        for (size_t j = 0; j < p->kind->n_params; ++j)
            spec_suggest_add(&s, p->kind->params[j].name);
        return spec_fail_at(p, key->start_mark, name, "unknown parameter of kind %s%s (known: %s)", p->kind->name,
                       spec_suggest_guess(&s, guess, sizeof guess), s.known);
    }
    if (strcmp(name, "repeat") == 0)
        return spec_fail_at(p, key->start_mark, name, "set by the top-level key 'repeats', not directly");
    if (p->set_at[k])
        return spec_fail_at(p, key->start_mark, name, "given twice (first at line %zu)", p->set_at[k]->start_mark.line + 1);
    p->set_at[k] = key;
    *param = k;
    return SSM_OK;
}

static ssm_status parse_fixed(parser *p)
{
    yaml_node_t *f = p->fixed;
    if (!f)
        return SSM_OK;
    if (f->type != YAML_MAPPING_NODE)
        return spec_fail_at(p, f->start_mark, "fixed", "expected a mapping of parameter: value, got %s", spec_node_kind(f));
    for (yaml_node_pair_t *pair = f->data.mapping.pairs.start; pair < f->data.mapping.pairs.top; ++pair) {
        int param;
        ssm_status st = param_key(p, spec_node(p, pair->key), &param);
        if (st == SSM_OK)
            st = node_value(p, param, spec_node(p, pair->value), &p->base[param]);
        if (st)
            return st;
    }
    return SSM_OK;
}

/* ---- axes: shape ------------------------------------------------------------------- */

/* {from, to, num, scale}: checked and counted, not yet expanded. */
static ssm_status parse_range(parser *p, column *c)
{
    static const char *const entries[] = {"from", "to", "num", "scale"};
    const sw_param_desc *d = &p->kind->params[c->param];
    yaml_node_t *given[4] = {NULL, NULL, NULL, NULL};
    long long num;
    if (d->type == SW_STRING)
        return spec_fail_at(p, c->node->start_mark, d->name, "a range {from, to, num} needs a numeric parameter: "
                       "list the values instead");
    for (yaml_node_pair_t *pair = c->node->data.mapping.pairs.start; pair < c->node->data.mapping.pairs.top; ++pair) {
        yaml_node_t *k = spec_node(p, pair->key), *v = spec_node(p, pair->value);
        const char *key = spec_scalar(k);
        size_t e = 0;
        while (key && e < 4 && strcmp(key, entries[e]) != 0)
            ++e;
        if (e == 4 || !key)
            return spec_fail_at(p, k->start_mark, d->name, "unknown range entry '%s' (a range has from, to, num, scale)",
                           key ? key : spec_node_kind(k));
        if (given[e])
            return spec_fail_at(p, k->start_mark, d->name, "range entry '%s' given twice", key);
        if (!spec_scalar(v))
            return spec_fail_at(p, v->start_mark, d->name, "range %s: expected a single value, got %s", key, spec_node_kind(v));
        given[e] = v;
    }
    if (!given[0] || !given[1] || !given[2])
        return spec_fail_at(p, c->node->start_mark, d->name, "a range needs from, to and num (%s is missing)",
                       !given[0] ? "from" : !given[1] ? "to" : "num");
    for (int e = 0; e < 2; ++e)
        if (parse_real(spec_scalar(given[e]), e ? &c->to : &c->from))
            return spec_fail_at(p, given[e]->start_mark, d->name, "range %s: expected a finite number, got '%s'",
                           entries[e], spec_scalar(given[e]));
    if (parse_integer(spec_scalar(given[2]), &num) || num < 1)
        return spec_fail_at(p, given[2]->start_mark, d->name, "range num must be a positive integer, got '%s'",
                       spec_scalar(given[2]));
    if (given[3]) {
        const char *scale = spec_scalar(given[3]);
        c->log_scale = strcmp(scale, "log") == 0;
        if (!c->log_scale && strcmp(scale, "linear") != 0)
            return spec_fail_at(p, given[3]->start_mark, d->name, "range scale must be log or linear, got '%s'", scale);
    }
    if (c->log_scale && !(c->from > 0 && c->to > 0))
        return spec_fail_at(p, c->node->start_mark, d->name, "a log range needs positive from and to");
    c->range = 1;
    c->count = (size_t)num;
    return SSM_OK;
}

static ssm_status parse_column(parser *p, yaml_node_t *key, yaml_node_t *value, column *c)
{
    ssm_status st = param_key(p, key, &c->param);
    if (st)
        return st;
    const char *name = p->kind->params[c->param].name;
    c->key = key;
    c->node = value;
    if (value->type == YAML_MAPPING_NODE)
        return parse_range(p, c);
    if (value->type != YAML_SEQUENCE_NODE)
        return spec_fail_at(p, value->start_mark, name, "an axis is a list of values or a range {from, to, num, scale}, "
                       "got %s (a single value belongs under 'fixed')", spec_node_kind(value));
    c->count = spec_n_items(value);
    if (c->count == 0)
        return spec_fail_at(p, value->start_mark, name, "the list of values is empty");
    return SSM_OK;
}

/* The columns of a group (a one-key group for an entry of `axes`). */
static ssm_status parse_group(parser *p, yaml_node_pair_t *pairs, size_t n, axis *a)
{
    for (size_t k = 0; k < n; ++k) {
        column *c = &a->cols[k];
        ssm_status st = parse_column(p, spec_node(p, pairs[k].key), spec_node(p, pairs[k].value), c);
        if (st)
            return st;
        if (k > 0 && c->count != a->n_values)
            return spec_fail_at(p, c->key->start_mark, p->kind->params[c->param].name,
                           "zipped lists must have equal lengths: %zu values here, %zu for '%s'", c->count,
                           a->n_values, p->kind->params[a->cols[0].param].name);
        a->n_values = c->count;
        a->n_cols = k + 1;
    }
    return SSM_OK;
}

/* `axes` and `zip` as containers; counts their axes and columns. */
static ssm_status count_axes(parser *p, size_t *n_axes, size_t *n_cols)
{
    *n_axes = *n_cols = 0;
    if (p->axes_node) {
        yaml_node_t *a = p->axes_node;
        if (a->type != YAML_MAPPING_NODE)
            return spec_fail_at(p, a->start_mark, "axes", "expected a mapping of parameter: values, got %s", spec_node_kind(a));
        if (spec_n_pairs(a) == 0)
            return spec_fail_at(p, a->start_mark, "axes", "no axes: leave the key out for a single task");
        *n_axes += spec_n_pairs(a);
        *n_cols += spec_n_pairs(a);
    }
    if (p->zip) {
        yaml_node_t *z = p->zip;
        if (z->type != YAML_SEQUENCE_NODE || spec_n_items(z) == 0)
            return spec_fail_at(p, z->start_mark, "zip", "expected a list of groups, each {param: [values], ...}, got %s",
                           z->type == YAML_SEQUENCE_NODE ? "an empty list" : spec_node_kind(z));
        for (yaml_node_item_t *i = z->data.sequence.items.start; i < z->data.sequence.items.top; ++i) {
            yaml_node_t *g = spec_node(p, *i);
            if (g->type != YAML_MAPPING_NODE || spec_n_pairs(g) == 0)
                return spec_fail_at(p, g->start_mark, "zip", "a group is a mapping {param: [values], ...}, got %s",
                               g->type == YAML_MAPPING_NODE ? "an empty one" : spec_node_kind(g));
            *n_axes += 1;
            *n_cols += spec_n_pairs(g);
        }
    }
    return SSM_OK;
}

/* The product of the axes and repeats, refused beyond SW_MAX_TASKS before
 * anything of that size is allocated; the message names the axis that
 * crosses the limit. */
static ssm_status check_size(parser *p, size_t repeats)
{
    unsigned long long total = repeats;
    double approx = (double)repeats;
    int wrapped = 0;
    size_t culprit = p->n_axes;
    for (size_t a = 0; a < p->n_axes; ++a) {
        unsigned long long n = p->axes[a].n_values;
        approx *= (double)n;
        wrapped |= total > ~0ULL / n;
        total *= n;
        if (culprit == p->n_axes && (wrapped || total > SW_MAX_TASKS))
            culprit = a;
    }
    if (culprit == p->n_axes) {
        p->n_tasks = (size_t)total;
        return SSM_OK;
    }
    const column *c = &p->axes[culprit].cols[0];
    char count[32];
    if (wrapped)
        snprintf(count, sizeof count, "%.3g", approx);
    else
        snprintf(count, sizeof count, "%llu", total);
    return spec_fail_at(p, c->key->start_mark, p->kind->params[c->param].name,
                   "the sweep expands to %s tasks, more than the limit %lu", count, SW_MAX_TASKS);
}

/* ---- axes: values ------------------------------------------------------------------- */

/* Point k of a range.  The ends are exactly as written; the interior is a
 * weighted mean, which lands on integers and decades exactly where
 * from + k * step would drift by an ulp (0.01 must hash like 0.01). */
static double range_point(const column *c, size_t k)
{
    if (k == 0)
        return c->from;
    if (k == c->count - 1)
        return c->to;
    double m = (double)(c->count - 1), w = (double)k;
    if (c->log_scale)
        return pow(10, (log10(c->from) * (m - w) + log10(c->to) * w) / m);
    double x = (c->from * (m - w) + c->to * w) / m;
    return isfinite(x) ? x : c->from * ((m - w) / m) + c->to * (w / m);   /* near DBL_MAX */
}

static int same_value(const sw_value *a, const sw_value *b)
{
    return a->type == SW_INT ? a->i == b->i : a->r == b->r;
}

/* Expands column c into dst, stride values apart. */
static ssm_status fill_column(parser *p, const column *c, sw_value *dst, size_t stride)
{
    const sw_param_desc *d = &p->kind->params[c->param];
    for (size_t k = 0; k < c->count; ++k) {
        sw_value *v = dst + k * stride;
        char shown[40], why[200];
        if (!c->range) {
            ssm_status st = node_value(p, c->param, spec_node(p, c->node->data.sequence.items.start[k]), v);
            if (st)
                return st;
            continue;
        }
        double x = range_point(c, k);
        if (d->type == SW_INT)
            x = round(x);
        /* the text only for a message: formatting every value of a range
         * of 10^6 took seconds */
        if (!(x >= d->min && x <= d->max)) {
            real_text(x, shown, sizeof shown);
            in_bounds(d, x, shown, why, sizeof why);
            return spec_fail_at(p, c->node->start_mark, d->name, "range value %s", why);
        }
        memset(v, 0, sizeof *v);
        v->type = d->type;
        if (d->type == SW_INT)
            v->i = (long long)x;   /* in bounds, so well within long long */
        else
            v->r = x;
        if (k > 0 && same_value(v, v - stride)) {
            real_text(x, shown, sizeof shown);
            return spec_fail_at(p, c->node->start_mark, d->name, "the range gives %s twice%s: lower num or widen it",
                           shown, d->type == SW_INT ? " after rounding to integers" : "");
        }
    }
    return SSM_OK;
}

static ssm_status fill_axis(parser *p, axis *a)
{
    a->values = malloc(a->n_values * a->n_cols * sizeof *a->values);
    if (!a->values)
        return spec_no_memory(p);
    for (size_t k = 0; k < a->n_cols; ++k) {
        ssm_status st = fill_column(p, &a->cols[k], a->values + k, a->n_cols);
        if (st)
            return st;
    }
    return SSM_OK;
}

/* Axes in spec order, then zip groups: the order of the nested loops. */
static ssm_status parse_axes(parser *p, size_t repeats)
{
    size_t n_axes, n_cols, used = 0;
    ssm_status st = count_axes(p, &n_axes, &n_cols);
    if (st || n_axes == 0)
        return st ? st : check_size(p, repeats);
    p->axes = calloc(n_axes, sizeof *p->axes);
    p->cols = calloc(n_cols, sizeof *p->cols);
    if (!p->axes || !p->cols)
        return spec_no_memory(p);
    p->n_axes = n_axes;
    p->n_cols = n_cols;
    axis *a = p->axes;
    if (p->axes_node) {
        yaml_node_pair_t *pairs = p->axes_node->data.mapping.pairs.start;
        for (size_t k = 0; k < spec_n_pairs(p->axes_node); ++k, ++a) {
            a->cols = p->cols + used++;
            if ((st = parse_group(p, pairs + k, 1, a)))
                return st;
        }
    }
    if (p->zip) {
        for (yaml_node_item_t *i = p->zip->data.sequence.items.start; i < p->zip->data.sequence.items.top; ++i, ++a) {
            yaml_node_t *g = spec_node(p, *i);
            a->cols = p->cols + used;
            used += spec_n_pairs(g);
            if ((st = parse_group(p, g->data.mapping.pairs.start, spec_n_pairs(g), a)))
                return st;
        }
    }
    if ((st = check_size(p, repeats)))
        return st;
    for (size_t k = 0; k < p->n_axes; ++k)
        if ((st = fill_axis(p, &p->axes[k])))
            return st;
    return SSM_OK;
}

/* ---- the top level ----------------------------------------------------------------- */

enum { KEY_KIND, KEY_NAME, KEY_DESCRIPTION, KEY_SEED, KEY_REPEATS, KEY_FIXED, KEY_AXES, KEY_ZIP, N_KEYS };

static const char *const top_keys[N_KEYS] = {"kind", "name", "description", "seed", "repeats", "fixed", "axes", "zip"};

static ssm_status parse_kind(parser *p, yaml_node_t *root, yaml_node_t *key, yaml_node_t *value)
{
    if (!value)
        return spec_fail_at(p, root->start_mark, "kind", "missing: which task kind the sweep runs (e.g. kind: mf)");
    const char *name = spec_scalar(value);
    p->kind_key = key;
    p->kind = name ? sw_registry_find(p->kinds, name) : NULL;
    if (p->kind)
        return SSM_OK;
    suggestion s;
    char guess[80];
    spec_suggest_start(&s, name ? name : "");
    for (size_t k = 0; p->kinds && k < p->kinds->n_kinds; ++k)
        spec_suggest_add(&s, p->kinds->kinds[k]->name);
    if (!name)
        return spec_fail_at(p, value->start_mark, "kind", "expected a kind name, got %s (known: %s)", spec_node_kind(value),
                       s.known);
    return spec_fail_at(p, value->start_mark, "kind", "unknown task kind '%s'%s (known: %s)", name,
                   spec_suggest_guess(&s, guess, sizeof guess), s.known);
}

static ssm_status parse_seed(parser *p, yaml_node_t *value, uint64_t *seed)
{
    const char *text = spec_scalar(value);
    char *end;
    int digits = text && *text;
    for (const char *s = text; digits && *s; ++s)
        digits = isdigit((unsigned char)*s);
    errno = 0;
    unsigned long long x = digits ? strtoull(text, &end, 10) : 0;
    if (!digits || errno == ERANGE)
        return spec_fail_at(p, value->start_mark, "seed", "expected a non-negative integer below 2^64, got %s%s%s",
                       text ? "'" : "", text ? text : spec_node_kind(value), text ? "'" : "");
    *seed = (uint64_t)x;
    return SSM_OK;
}

static ssm_status parse_repeats(parser *p, yaml_node_t *value, size_t *repeats)
{
    const char *text = spec_scalar(value);
    long long r;
    if (!text || parse_integer(text, &r) || r < 1 || (unsigned long long)r > SW_MAX_TASKS)
        return spec_fail_at(p, value->start_mark, "repeats", "expected an integer from 1 to %lu, got %s%s%s",
                       SW_MAX_TASKS, text ? "'" : "", text ? text : spec_node_kind(value), text ? "'" : "");
    *repeats = (size_t)r;
    return SSM_OK;
}

static ssm_status parse_top(parser *p, uint64_t *seed, size_t *repeats)
{
    yaml_node_t *root = yaml_document_get_root_node(&p->doc), *keys[N_KEYS] = {0}, *values[N_KEYS] = {0};
    if (!root)   /* the prescan saw a document, but stay safe */
        return spec_one_line(p->err, SSM_EINVAL, "%s: the spec is empty", p->path);
    if (root->type != YAML_MAPPING_NODE)
        return spec_fail_at(p, root->start_mark, NULL, "a spec is a mapping with keys kind, fixed, axes, zip, ...; got %s",
                       spec_node_kind(root));
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; ++pair) {
        yaml_node_t *k = spec_node(p, pair->key);
        const char *key = spec_scalar(k);
        size_t i = 0;
        if (!key)
            return spec_fail_at(p, k->start_mark, NULL, "keys of a spec are names, got %s", spec_node_kind(k));
        while (i < N_KEYS && strcmp(key, top_keys[i]) != 0)
            ++i;
        if (i == N_KEYS) {
            suggestion s;
            char guess[80];
            spec_suggest_start(&s, key);
            for (size_t j = 0; j < N_KEYS; ++j)
                spec_suggest_add(&s, top_keys[j]);
            return spec_fail_at(p, k->start_mark, key, "unknown key%s (known: %s)", spec_suggest_guess(&s, guess, sizeof guess),
                           s.known);
        }
        if (keys[i])
            return spec_fail_at(p, k->start_mark, key, "given twice (first at line %zu)", keys[i]->start_mark.line + 1);
        keys[i] = k;
        values[i] = spec_node(p, pair->value);
    }
    ssm_status st = parse_kind(p, root, keys[KEY_KIND], values[KEY_KIND]);
    if (st)
        return st;
    for (int i = KEY_NAME; i <= KEY_DESCRIPTION; ++i)
        if (values[i] && !spec_scalar(values[i]))
            return spec_fail_at(p, values[i]->start_mark, top_keys[i], "expected text, got %s", spec_node_kind(values[i]));
    p->t->name = strdup(values[KEY_NAME] ? spec_scalar(values[KEY_NAME]) : "");
    if (!p->t->name)
        return spec_no_memory(p);
    if (values[KEY_SEED] && (st = parse_seed(p, values[KEY_SEED], seed)))
        return st;
    if (values[KEY_REPEATS] && (st = parse_repeats(p, values[KEY_REPEATS], repeats)))
        return st;
    if (*repeats > 1 && sw_kind_param_index(p->kind, "repeat") < 0)   /* replicas would be identical tasks */
        return spec_fail_at(p, values[KEY_REPEATS]->start_mark, "repeats", "kind %s has no parameter 'repeat' to tell "
                       "replicas apart", p->kind->name);
    p->fixed = values[KEY_FIXED];
    p->axes_node = values[KEY_AXES];
    p->zip = values[KEY_ZIP];
    return SSM_OK;
}

/* ---- the task table ------------------------------------------------------------------- */

/* Appends text to the string in buf (size bytes), cutting what does not
 * fit. */
static void append(char *buf, size_t size, const char *text)
{
    size_t len = strlen(buf), n = strlen(text);
    if (len + 1 >= size)
        return;
    if (n > size - 1 - len)
        n = size - 1 - len;
    memcpy(buf + len, text, n);
    buf[len + n] = '\0';
}

/* Names "T+tau_max"; values "256/255, 1024/1023", shortened with "..."
 * after about SHOWN_WIDTH characters. */
static ssm_status describe_axis(const parser *p, const axis *a, sw_axis_info *info)
{
    size_t need = 1, len = 0;
    for (size_t k = 0; k < a->n_cols; ++k)
        need += strlen(p->kind->params[a->cols[k].param].name) + 1;
    info->names = malloc(need);
    info->values = malloc(SHOWN_WIDTH + 8);
    info->n_values = a->n_values;
    if (!info->names || !info->values)
        return spec_no_memory(p);
    info->names[0] = '\0';
    for (size_t k = 0; k < a->n_cols; ++k) {
        append(info->names, need, k ? "+" : "");
        append(info->names, need, p->kind->params[a->cols[k].param].name);
    }
    info->values[0] = '\0';
    for (size_t i = 0; i < a->n_values; ++i) {
        char row[SHOWN_WIDTH + 8] = "", item[SHOWN_WIDTH + 8];
        for (size_t k = 0; k < a->n_cols; ++k) {
            sw_value_shown(&a->values[i * a->n_cols + k], item, sizeof item);
            append(row, sizeof row, k ? "/" : "");
            append(row, sizeof row, item);
        }
        size_t sep = i ? 2 : 0;
        if (len + sep + strlen(row) > SHOWN_WIDTH) {
            /* what fits of a first value that is too long alone, then "..." */
            snprintf(info->values + len, SHOWN_WIDTH + 8 - len, "%s%.*s...", i ? ", " : "",
                     i ? 0 : SHOWN_WIDTH - 3, row);
            break;
        }
        len += (size_t)snprintf(info->values + len, SHOWN_WIDTH + 8 - len, "%s%s", i ? ", " : "", row);
    }
    return SSM_OK;
}

/* kind->check on task id; a failure points at the parameter its message
 * starts with ("T: ...") where the spec sets it, else at `kind`, and
 * names the task by its axis values. */
static ssm_status check_task(const parser *p, size_t id, const sw_value *v)
{
    ssm_error why;
    if (p->kind->check(v, &why) == SSM_OK)
        return SSM_OK;
    char values[150] = "", shown[160] = "";
    size_t len = 0;
    for (size_t a = 0; a < p->n_axes && len < sizeof values; ++a)
        for (size_t k = 0; k < p->axes[a].n_cols && len < sizeof values; ++k) {
            char item[64];
            int param = p->axes[a].cols[k].param;
            sw_value_shown(&v[param], item, sizeof item);
            len += (size_t)snprintf(values + len, sizeof values - len, "%s%s=%s", len ? ", " : "",
                                    p->kind->params[param].name, item);
        }
    if (len)
        snprintf(shown, sizeof shown, " (%s)", values);
    const char *key = "kind";
    yaml_mark_t mark = p->kind_key->start_mark;
    const int param = why.param[0] ? sw_kind_param_index(p->kind, why.param) : -1;
    if (param >= 0 && p->set_at[param]) {
        key = p->kind->params[param].name;
        mark = p->set_at[param]->start_mark;
    }
    char text[SSM_ERROR_MSG_MAX + SSM_PARAM_NAME_MAX];
    sw_error_text(&why, text, sizeof text);
    return spec_fail_at(p, mark, key, "task %zu%s: %s", id, shown, text);
}

/* The axes move into the space, values and all (p->axes keep their
 * columns for messages). */
static ssm_status build_space(parser *p)
{
    for (size_t a = 0; a < p->n_axes; ++a) {
        axis *ax = &p->axes[a];
        int *params = malloc(ax->n_cols * sizeof *params);
        if (!params)
            return spec_no_memory(p);
        for (size_t k = 0; k < ax->n_cols; ++k)
            params[k] = ax->cols[k].param;
        ssm_status st = sw_space_add_axis(p->space, ax->n_cols, params, ax->n_values, ax->values, p->err);
        ax->values = NULL;
        if (st)
            return st;
    }
    return sw_space_finish(p->space, p->err);
}

/* kind->check once per combination of axis values, in id order: a check
 * does not depend on `repeat`, so the first task it refuses is the first
 * repeat of the first combination it refuses, as checking every task in
 * order would find, at a 1/repeats of the cost. */
static ssm_status check_tasks(parser *p)
{
    sw_space_walk w;
    ssm_status st = sw_space_walk_start(&w, p->space, 0, p->space->repeats, p->space->n_tasks, 0, p->err);
    while (st == SSM_OK && sw_space_walk_next(&w))
        st = check_task(p, (size_t)w.id, w.values);
    sw_space_walk_end(&w);
    return st;
}

static ssm_status enumerate(parser *p)
{
    sw_tasks *t = p->t;
    t->axes = calloc(p->n_axes ? p->n_axes : 1, sizeof *t->axes);
    if (!t->axes)
        return spec_no_memory(p);
    t->n_axes = p->n_axes;
    for (size_t a = 0; a < p->n_axes; ++a) {
        ssm_status st = describe_axis(p, &p->axes[a], &t->axes[a]);
        if (st)
            return st;
    }
    ssm_status st = build_space(p);
    if (st == SSM_OK)
        st = check_tasks(p);
    if (st == SSM_OK)
        st = sw_space_hash_all(p->space, p->err);
    if (st)
        return st;
    t->kind = p->kind;
    t->master_seed = p->space->master_seed;
    t->repeats = (size_t)p->space->repeats;
    t->n_tasks = (size_t)p->space->n_tasks;
    t->spec_hash = p->space->spec_hash;
    return SSM_OK;
}

/* ---- entry points ------------------------------------------------------------------------ */

ssm_status sw_spec_parse_lazy(const char *path, const char *text, size_t len, const sw_registry *kinds,
                              sw_tasks *tasks, ssm_error *err)
{
    ssm_error ignored;
    parser p;
    uint64_t seed = 0;
    size_t repeats = 1;
    ssm_status st;
    memset(tasks, 0, sizeof *tasks);
    memset(&p, 0, sizeof p);
    p.path = path;
    p.text = text;
    p.len = len;
    p.err = err ? err : &ignored;
    p.t = tasks;
    p.kinds = kinds;
    p.space = tasks->space = calloc(1, sizeof *tasks->space);
    st = p.space ? spec_prescan(&p) : spec_no_memory(&p);
    if (st == SSM_OK)
        st = spec_load(&p);
    if (st == SSM_OK)
        st = parse_top(&p, &seed, &repeats);
    if (st == SSM_OK)
        st = start_values(&p, seed, repeats);
    if (st == SSM_OK)
        st = parse_fixed(&p);
    if (st == SSM_OK)
        st = parse_axes(&p, repeats);
    if (st == SSM_OK)
        st = check_required(&p);
    if (st == SSM_OK)
        st = enumerate(&p);
    for (size_t a = 0; p.axes && a < p.n_axes; ++a)
        free(p.axes[a].values);
    free(p.axes);
    free(p.cols);
    free(p.set_at);
    if (p.have_doc)
        yaml_document_delete(&p.doc);
    if (st)
        sw_tasks_free(tasks);
    return st;
}

/* The whole file, NUL-terminated (libyaml reads the length; the NUL is for
 * callers that keep the text). */
static ssm_status read_file(const char *path, char **text, size_t *len, ssm_error *err)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    ssm_status st = SSM_OK;
    if (!fp) {
        st = spec_one_line(err, SSM_EIO, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    for (;;) {
        if (n > SW_SPEC_MAX_BYTES) {   /* /dev/zero, a log file by mistake */
            st = spec_one_line(err, SSM_EINVAL, "%s: larger than %d MiB, the most a spec may have", path,
                          (int)(SW_SPEC_MAX_BYTES >> 20));
            goto done;
        }
        if (cap - n < 4096 + 1) {
            size_t bigger = cap ? 2 * cap : 16384;
            char *grown = realloc(buf, bigger);
            if (!grown) {
                st = ssm_fail(err, SSM_ENOMEM, "%s: out of memory", path);
                goto done;
            }
            buf = grown;
            cap = bigger;
        }
        size_t want = cap - n - 1, got = fread(buf + n, 1, want, fp);
        n += got;
        if (got < want)
            break;
    }
    if (ferror(fp)) {
        st = spec_one_line(err, SSM_EIO, "%s: cannot read: %s", path, strerror(errno ? errno : EIO));
        goto done;
    }
    buf[n] = '\0';
done:
    if (fp)
        fclose(fp);
    if (st) {
        free(buf);
        buf = NULL;
        n = 0;
    }
    *text = buf;
    *len = n;
    return st;
}

ssm_status sw_spec_parse(const char *path, const char *text, size_t len, const sw_registry *kinds, sw_tasks *tasks,
                         ssm_error *err)
{
    ssm_status st = sw_spec_parse_lazy(path, text, len, kinds, tasks, err);
    if (st == SSM_OK && (st = sw_tasks_materialize(tasks, err)) != SSM_OK)
        sw_tasks_free(tasks);
    return st;
}

static ssm_status load_spec(const char *path, const sw_registry *kinds, sw_tasks *tasks, char **text, int lazy,
                            ssm_error *err)
{
    char *buf;
    size_t len;
    memset(tasks, 0, sizeof *tasks);
    *text = NULL;
    ssm_status st = read_file(path, &buf, &len, err);
    if (st == SSM_OK)
        st = lazy ? sw_spec_parse_lazy(path, buf, len, kinds, tasks, err)
                  : sw_spec_parse(path, buf, len, kinds, tasks, err);
    if (st == SSM_OK)
        *text = buf;
    else
        free(buf);
    return st;
}

ssm_status sw_spec_load(const char *path, const sw_registry *kinds, sw_tasks *tasks, char **text, ssm_error *err)
{
    return load_spec(path, kinds, tasks, text, 0, err);
}

ssm_status sw_spec_load_lazy(const char *path, const sw_registry *kinds, sw_tasks *tasks, char **text,
                             ssm_error *err)
{
    return load_spec(path, kinds, tasks, text, 1, err);
}

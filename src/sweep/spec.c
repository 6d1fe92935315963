#include "config.h"

#include "spec.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "ssm/rng.h"

/* Most parameters an axis (a zip group) can hold. */
#define MAX_GROUP 32

typedef struct {
    size_t n_params;
    int param[MAX_GROUP];
    yaml_mark_t mark[MAX_GROUP];
    size_t n_values;
    sw_value *values;     /* n_values x n_params */
} axis;

typedef struct {
    const char *path;
    ssm_error *err;
    yaml_document_t *doc;
    sw_tasks *t;
    const sw_kind *kind;
    sw_value *base;           /* defaults, then fixed values */
    int *given;               /* per parameter: 0, 1 fixed, 2 axis */
    yaml_mark_t *where;       /* per parameter: where the spec sets it */
    yaml_mark_t kind_mark;
    axis *axes;
    size_t n_axes, cap_axes;
} parser;

/* ---- messages ------------------------------------------------------------------ */

static ssm_status at(parser *p, yaml_mark_t mark, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static ssm_status at(parser *p, yaml_mark_t mark, const char *key, const char *fmt, ...)
{
    char what[SSM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (key)
        return ssm_fail(p->err, SSM_EINVAL, "%s:%zu:%zu: key '%s': %s", p->path, mark.line + 1, mark.column + 1,
                        key, what);
    return ssm_fail(p->err, SSM_EINVAL, "%s:%zu:%zu: %s", p->path, mark.line + 1, mark.column + 1, what);
}

static const char *scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static const char *node_kind(yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE ? "a scalar" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a mapping";
}

/* ---- strings ---------------------------------------------------------------------- */

static const char *keep_string(parser *p, const char *s)
{
    sw_tasks *t = p->t;
    for (size_t k = 0; k < t->n_strings; ++k)
        if (strcmp(t->strings[k], s) == 0)
            return t->strings[k];
    char **bigger = realloc(t->strings, (t->n_strings + 1) * sizeof *bigger);
    char *copy = strdup(s);
    if (!bigger || !copy) {
        free(copy);
        if (bigger)
            t->strings = bigger;
        return NULL;
    }
    t->strings = bigger;
    t->strings[t->n_strings++] = copy;
    return copy;
}

/* ---- values ------------------------------------------------------------------------- */

/* Parses text as parameter p's type and checks its range; the message (no
 * location) goes to why. */
static int parse_value(parser *ps, int p, const char *text, sw_value *out, char *why, size_t why_size)
{
    const sw_param_desc *d = &ps->kind->params[p];
    char *end;
    out->type = d->type;
    out->i = 0;
    out->r = 0;
    out->s = NULL;
    if (d->type == SW_STRING) {
        if (d->choices) {
            int ok = 0;
            for (size_t k = 0; d->choices[k] && !ok; ++k)
                ok = strcmp(d->choices[k], text) == 0;
            if (!ok) {
                size_t at_ = (size_t)snprintf(why, why_size, "'%s' is not one of", text);
                for (size_t k = 0; d->choices[k] && at_ < why_size; ++k)
                    at_ += (size_t)snprintf(why + at_, why_size - at_, "%s %s", k ? "," : "", d->choices[k]);
                return -1;
            }
        }
        out->s = keep_string(ps, text);
        if (!out->s) {
            snprintf(why, why_size, "out of memory");
            return -1;
        }
        return 0;
    }
    errno = 0;
    double v = strtod(text, &end);
    if (*text == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        snprintf(why, why_size, "expected %s, got '%s'", d->type == SW_INT ? "an integer" : "a finite number", text);
        return -1;
    }
    if (d->type == SW_INT && (v != floor(v) || fabs(v) > 9.0e15)) {
        snprintf(why, why_size, "expected an integer, got '%s'", text);
        return -1;
    }
    if (v < d->min || v > d->max) {
        snprintf(why, why_size, "%s is outside the allowed range [%g, %g]", text, d->min, d->max);
        return -1;
    }
    if (d->type == SW_INT)
        out->i = (long long)v;
    else
        out->r = v;
    return 0;
}

static ssm_status value_at(parser *p, int param, yaml_node_t *n, sw_value *out)
{
    char why[256];
    const char *name = p->kind->params[param].name;
    const char *text = scalar(n);
    if (!text)
        return at(p, n->start_mark, name, "expected a value, got %s", node_kind(n));
    if (parse_value(p, param, text, out, why, sizeof why))
        return at(p, n->start_mark, name, "%s", why);
    return SSM_OK;
}

/* A parameter name of the kind, or an error at the key. */
static ssm_status param_of(parser *p, yaml_node_t *key, int *param)
{
    const char *name = scalar(key);
    if (!name)
        return at(p, key->start_mark, NULL, "a parameter name must be a scalar, got %s", node_kind(key));
    *param = sw_kind_param_index(p->kind, name);
    if (*param < 0) {
        char known[200] = "";
        size_t len = 0;
        for (size_t k = 0; k < p->kind->n_params && len < sizeof known - 40; ++k)
            len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", k ? ", " : "", p->kind->params[k].name);
        return at(p, key->start_mark, name, "unknown parameter of kind %s (known: %s)", p->kind->name, known);
    }
    if (strcmp(name, "repeat") == 0)
        return at(p, key->start_mark, name, "set by 'repeats', not directly");
    if (p->given[*param]) {
        yaml_mark_t first = p->where[*param];
        return at(p, key->start_mark, name, "given twice (first at line %zu)", first.line + 1);
    }
    return SSM_OK;
}

/* ---- axes ----------------------------------------------------------------------------- */

static axis *new_axis(parser *p)
{
    if (p->n_axes == p->cap_axes) {
        size_t cap = p->cap_axes ? 2 * p->cap_axes : 8;
        axis *bigger = realloc(p->axes, cap * sizeof *bigger);
        if (!bigger)
            return NULL;
        p->axes = bigger;
        p->cap_axes = cap;
    }
    axis *a = &p->axes[p->n_axes++];
    memset(a, 0, sizeof *a);
    return a;
}

/* The values of one parameter: a list, or {from, to, num, scale}. */
static ssm_status axis_values(parser *p, int param, yaml_node_t *n, sw_value **out, size_t *count)
{
    const char *name = p->kind->params[param].name;
    *out = NULL;
    *count = 0;
    if (n->type == YAML_SEQUENCE_NODE) {
        size_t len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        if (len == 0)
            return at(p, n->start_mark, name, "the list of values is empty");
        sw_value *v = calloc(len, sizeof *v);
        if (!v)
            return ssm_fail(p->err, SSM_ENOMEM, "out of memory");
        for (size_t k = 0; k < len; ++k) {
            ssm_status st = value_at(p, param, yaml_document_get_node(p->doc, n->data.sequence.items.start[k]), &v[k]);
            if (st) {
                free(v);
                return st;
            }
        }
        *out = v;
        *count = len;
        return SSM_OK;
    }
    if (n->type != YAML_MAPPING_NODE)
        return at(p, n->start_mark, name, "an axis is a list of values or a range {from, to, num, scale}");
    const sw_param_desc *d = &p->kind->params[param];
    if (d->type == SW_STRING)
        return at(p, n->start_mark, name, "a range needs a numeric parameter");
    double from = NAN, to = NAN, num = NAN;
    int log_scale = 0;
    for (yaml_node_pair_t *pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; ++pair) {
        yaml_node_t *k = yaml_document_get_node(p->doc, pair->key), *v = yaml_document_get_node(p->doc, pair->value);
        const char *key = scalar(k), *text = scalar(v);
        char *end;
        if (!key || !text)
            return at(p, k->start_mark, name, "range entries are scalars: from, to, num, scale");
        if (strcmp(key, "scale") == 0) {
            if (strcmp(text, "log") == 0)
                log_scale = 1;
            else if (strcmp(text, "linear") != 0)
                return at(p, v->start_mark, name, "range scale must be log or linear, got '%s'", text);
            continue;
        }
        double *slot = strcmp(key, "from") == 0 ? &from : strcmp(key, "to") == 0 ? &to : strcmp(key, "num") == 0 ? &num : NULL;
        if (!slot)
            return at(p, k->start_mark, name, "unknown range entry '%s' (expected from, to, num, scale)", key);
        if (!isnan(*slot))
            return at(p, k->start_mark, name, "range entry '%s' given twice", key);
        errno = 0;
        *slot = strtod(text, &end);
        if (*text == '\0' || *end != '\0' || errno == ERANGE || !isfinite(*slot))
            return at(p, v->start_mark, name, "range %s: expected a finite number, got '%s'", key, text);
    }
    if (isnan(from) || isnan(to) || isnan(num))
        return at(p, n->start_mark, name, "a range needs from, to and num");
    if (num < 1 || num != floor(num))
        return at(p, n->start_mark, name, "range num must be a positive integer, got %g", num);
    if (num > (double)SW_MAX_TASKS)
        return at(p, n->start_mark, name, "range num %g is more than the task limit %lu", num, SW_MAX_TASKS);
    if (log_scale && !(from > 0 && to > 0))
        return at(p, n->start_mark, name, "a log range needs positive from and to");
    size_t len = (size_t)num;
    sw_value *v = calloc(len, sizeof *v);
    if (!v)
        return ssm_fail(p->err, SSM_ENOMEM, "out of memory");
    for (size_t k = 0; k < len; ++k) {
        double f = len == 1 ? 0.0 : (double)k / (double)(len - 1);
        double x = log_scale ? exp(log(from) + f * (log(to) - log(from))) : from + f * (to - from);
        if (k == 0)
            x = from;           /* the ends exactly as written */
        else if (k == len - 1)
            x = to;
        if (d->type == SW_INT)
            x = nearbyint(x);
        char text[64], why[256];
        snprintf(text, sizeof text, "%.17g", x);
        if (parse_value(p, param, text, &v[k], why, sizeof why)) {
            free(v);
            return at(p, n->start_mark, name, "range value %s", why);
        }
        if (d->type == SW_INT && k > 0 && v[k].i == v[k - 1].i) {
            long long twice = v[k].i;
            free(v);
            return at(p, n->start_mark, name, "range gives the integer %lld twice: lower num", twice);
        }
    }
    *out = v;
    *count = len;
    return SSM_OK;
}

/* One axis per key of `axes`, one per group of `zip`. */
static ssm_status add_axis(parser *p, yaml_node_t *mapping, int zipped)
{
    axis *a = new_axis(p);
    if (!a)
        return ssm_fail(p->err, SSM_ENOMEM, "out of memory");
    if (mapping->type != YAML_MAPPING_NODE)
        return at(p, mapping->start_mark, zipped ? "zip" : "axes", "expected a mapping of parameter: values");
    size_t n_pairs = (size_t)(mapping->data.mapping.pairs.top - mapping->data.mapping.pairs.start);
    if (n_pairs == 0)
        return at(p, mapping->start_mark, zipped ? "zip" : "axes", "an empty group");
    if (n_pairs > MAX_GROUP)
        return at(p, mapping->start_mark, "zip", "more than %d parameters in one group", MAX_GROUP);
    sw_value *columns[MAX_GROUP] = {0};
    ssm_status st = SSM_OK;
    for (size_t k = 0; k < n_pairs && st == SSM_OK; ++k) {
        yaml_node_pair_t *pair = mapping->data.mapping.pairs.start + k;
        yaml_node_t *key = yaml_document_get_node(p->doc, pair->key), *val = yaml_document_get_node(p->doc, pair->value);
        int param;
        size_t count;
        if ((st = param_of(p, key, &param)))
            break;
        p->given[param] = 2;
        p->where[param] = key->start_mark;
        if ((st = axis_values(p, param, val, &columns[k], &count)))
            break;
        if (k > 0 && count != a->n_values)
            st = at(p, key->start_mark, p->kind->params[param].name,
                    "zipped lists must have equal lengths: %zu here, %zu for '%s'", count, a->n_values,
                    p->kind->params[a->param[0]].name);
        a->param[k] = param;
        a->mark[k] = key->start_mark;
        a->n_values = count;
        a->n_params = k + 1;
    }
    if (st == SSM_OK) {
        a->values = malloc(a->n_values * a->n_params * sizeof *a->values);
        if (!a->values)
            st = ssm_fail(p->err, SSM_ENOMEM, "out of memory");
        for (size_t i = 0; st == SSM_OK && i < a->n_values; ++i)
            for (size_t k = 0; k < a->n_params; ++k)
                a->values[i * a->n_params + k] = columns[k][i];
    }
    for (size_t k = 0; k < MAX_GROUP; ++k)
        free(columns[k]);
    return st;
}

/* ---- the document ------------------------------------------------------------------------ */

static ssm_status parse_top(parser *p, yaml_node_t *root, uint64_t *seed, size_t *repeats, const char **name)
{
    static const char *const known[] = {"kind", "name", "description", "seed", "repeats", "fixed", "axes", "zip", NULL};
    if (!root)
        return ssm_fail(p->err, SSM_EINVAL, "%s: the spec is empty", p->path);
    if (root->type != YAML_MAPPING_NODE)
        return at(p, root->start_mark, NULL, "a spec is a mapping with keys kind, axes, fixed, zip, ...");
    yaml_node_t *kind = NULL, *fixed = NULL, *axes = NULL, *zip = NULL;
    for (yaml_node_pair_t *a = root->data.mapping.pairs.start; a < root->data.mapping.pairs.top; ++a) {
        yaml_node_t *k = yaml_document_get_node(p->doc, a->key), *v = yaml_document_get_node(p->doc, a->value);
        const char *key = scalar(k);
        int ok = 0;
        for (size_t i = 0; key && known[i] && !ok; ++i)
            ok = strcmp(key, known[i]) == 0;
        if (!ok)
            return at(p, k->start_mark, key ? key : "?", "unknown key (expected kind, name, description, seed, "
                                                          "repeats, fixed, axes or zip)");
        for (yaml_node_pair_t *b = root->data.mapping.pairs.start; b < a; ++b)
            if (strcmp(scalar(yaml_document_get_node(p->doc, b->key)), key) == 0)
                return at(p, k->start_mark, key, "given twice");
        if (strcmp(key, "kind") == 0)
            kind = v, p->kind_mark = k->start_mark;
        else if (strcmp(key, "fixed") == 0)
            fixed = v;
        else if (strcmp(key, "axes") == 0)
            axes = v;
        else if (strcmp(key, "zip") == 0)
            zip = v;
        else if (strcmp(key, "name") == 0 || strcmp(key, "description") == 0) {
            if (!scalar(v))
                return at(p, v->start_mark, key, "expected text, got %s", node_kind(v));
            if (key[0] == 'n')
                *name = scalar(v);
        } else {
            const char *text = scalar(v);
            char *end;
            errno = 0;
            unsigned long long x = text ? strtoull(text, &end, 10) : 0;
            if (!text || *text == '\0' || *text == '-' || *end != '\0' || errno == ERANGE)
                return at(p, v->start_mark, key, "expected a non-negative integer, got %s%s%s",
                          text ? "'" : node_kind(v), text ? text : "", text ? "'" : "");
            if (key[0] == 's')
                *seed = (uint64_t)x;
            else if (x < 1 || x > SW_MAX_TASKS)
                return at(p, v->start_mark, key, "must be between 1 and %lu, got %s", SW_MAX_TASKS, text);
            else
                *repeats = (size_t)x;
        }
    }
    if (!kind)
        return at(p, root->start_mark, "kind", "missing: which task kind the sweep runs (e.g. kind: mf)");
    const char *kind_name = scalar(kind);
    p->kind = kind_name ? sw_kind_find(kind_name) : NULL;
    if (!p->kind) {
        char list[128] = "";
        for (size_t k = 0; sw_kinds[k]; ++k)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "", sw_kinds[k]->name);
        return at(p, kind->start_mark, "kind", "unknown task kind '%s' (known: %s)", kind_name ? kind_name : "?", list);
    }
    p->base = calloc(p->kind->n_params, sizeof *p->base);
    p->given = calloc(p->kind->n_params, sizeof *p->given);
    p->where = calloc(p->kind->n_params, sizeof *p->where);
    if (!p->base || !p->given || !p->where)
        return ssm_fail(p->err, SSM_ENOMEM, "out of memory");
    for (size_t k = 0; k < p->kind->n_params; ++k) {
        char why[256];
        if (parse_value(p, (int)k, p->kind->params[k].def, &p->base[k], why, sizeof why))
            return ssm_fail(p->err, SSM_EINVAL, "internal: default of %s: %s", p->kind->params[k].name, why);
    }
    ssm_status st;
    if (fixed) {
        if (fixed->type != YAML_MAPPING_NODE)
            return at(p, fixed->start_mark, "fixed", "expected a mapping of parameter: value");
        for (yaml_node_pair_t *a = fixed->data.mapping.pairs.start; a < fixed->data.mapping.pairs.top; ++a) {
            yaml_node_t *k = yaml_document_get_node(p->doc, a->key), *v = yaml_document_get_node(p->doc, a->value);
            int param;
            if ((st = param_of(p, k, &param)) || (st = value_at(p, param, v, &p->base[param])))
                return st;
            p->given[param] = 1;
            p->where[param] = k->start_mark;
        }
    }
    if (axes) {
        if (axes->type != YAML_MAPPING_NODE)
            return at(p, axes->start_mark, "axes", "expected a mapping of parameter: values");
        if (axes->data.mapping.pairs.top == axes->data.mapping.pairs.start)
            return at(p, axes->start_mark, "axes", "no axes: leave the key out for a single task");
        for (yaml_node_pair_t *a = axes->data.mapping.pairs.start; a < axes->data.mapping.pairs.top; ++a) {
            /* each key of `axes` is an axis of its own: a one-key mapping */
            yaml_node_t one = *axes;
            one.data.mapping.pairs.start = a;
            one.data.mapping.pairs.top = a + 1;
            if ((st = add_axis(p, &one, 0)))
                return st;
        }
    }
    if (zip) {
        if (zip->type != YAML_SEQUENCE_NODE || zip->data.sequence.items.top == zip->data.sequence.items.start)
            return at(p, zip->start_mark, "zip", "expected a list of groups, each {param: [values], ...}");
        for (yaml_node_item_t *i = zip->data.sequence.items.start; i < zip->data.sequence.items.top; ++i)
            if ((st = add_axis(p, yaml_document_get_node(p->doc, *i), 1)))
                return st;
    }
    return SSM_OK;
}

static void describe_axis(const parser *p, const axis *a, sw_axis_info *info)
{
    char names[256] = "", values[128] = "";
    size_t len = 0;
    for (size_t k = 0; k < a->n_params; ++k)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? "+" : "",
                 p->kind->params[a->param[k]].name);
    for (size_t i = 0; i < a->n_values && len < 80; ++i) {
        char one[96] = "";
        for (size_t k = 0; k < a->n_params; ++k) {
            const sw_value *v = &a->values[i * a->n_params + k];
            char item[64];
            if (v->type == SW_INT)
                snprintf(item, sizeof item, "%lld", v->i);
            else if (v->type == SW_REAL)
                snprintf(item, sizeof item, "%g", v->r);
            else
                snprintf(item, sizeof item, "%s", v->s);
            snprintf(one + strlen(one), sizeof one - strlen(one), "%s%s", k ? "/" : "", item);
        }
        len += (size_t)snprintf(values + len, sizeof values - len, "%s%s", i ? ", " : "", one);
        if (len >= 80 && i + 1 < a->n_values)
            snprintf(values + (len < sizeof values - 5 ? len : sizeof values - 5), 5, " ...");
    }
    info->names = strdup(names);
    info->values = strdup(values);
    info->n_values = a->n_values;
}

/* Where the spec sets the parameter a check message names ("T: ..."). */
static yaml_mark_t mark_of_message(const parser *p, const char *msg, const char **key)
{
    size_t len = strcspn(msg, ": ");
    for (size_t k = 0; k < p->kind->n_params; ++k)
        if (p->given[k] && strlen(p->kind->params[k].name) == len && strncmp(msg, p->kind->params[k].name, len) == 0) {
            *key = p->kind->params[k].name;
            return p->where[k];
        }
    *key = "kind";
    return p->kind_mark;
}

static ssm_status enumerate(parser *p, uint64_t seed, size_t repeats)
{
    sw_tasks *t = p->t;
    const size_t np = p->kind->n_params;
    const int repeat_param = sw_kind_param_index(p->kind, "repeat");
    size_t total = repeats;
    for (size_t a = 0; a < p->n_axes; ++a) {
        if (total > SW_MAX_TASKS / p->axes[a].n_values)
            return at(p, p->axes[a].mark[0], p->kind->params[p->axes[a].param[0]].name,
                      "the sweep expands to more than the limit of %lu tasks", SW_MAX_TASKS);
        total *= p->axes[a].n_values;
    }
    t->kind = p->kind;
    t->master_seed = seed;
    t->repeats = repeats;
    t->n_tasks = total;
    t->values = malloc(total * np * sizeof *t->values);
    t->hash = malloc(total * sizeof *t->hash);
    t->seed = malloc(total * sizeof *t->seed);
    t->cost = malloc(total * sizeof *t->cost);
    t->axes = calloc(p->n_axes ? p->n_axes : 1, sizeof *t->axes);
    if (!t->values || !t->hash || !t->seed || !t->cost || !t->axes)
        return ssm_fail(p->err, SSM_ENOMEM, "out of memory for %zu tasks", total);
    t->n_axes = p->n_axes;
    for (size_t a = 0; a < p->n_axes; ++a) {
        describe_axis(p, &p->axes[a], &t->axes[a]);
        if (!t->axes[a].names || !t->axes[a].values)
            return ssm_fail(p->err, SSM_ENOMEM, "out of memory");
    }
    size_t canon_cap = 4096;
    char *canon = malloc(canon_cap);
    uint64_t spec_hash = sw_hash_bytes(p->kind->name, strlen(p->kind->name), SW_HASH_INIT);
    spec_hash = sw_hash_bytes(&seed, sizeof seed, spec_hash);
    spec_hash = sw_hash_bytes(&total, sizeof total, spec_hash);
    ssm_status st = canon ? SSM_OK : ssm_fail(p->err, SSM_ENOMEM, "out of memory");
    for (size_t id = 0; id < total && st == SSM_OK; ++id) {
        sw_value *v = t->values + id * np;
        size_t rest = id;
        memcpy(v, p->base, np * sizeof *v);
        /* repeats vary fastest, then the last axis; the first axis slowest */
        if (repeat_param >= 0) {
            v[repeat_param].i = (long long)(rest % repeats);
            v[repeat_param].type = SW_INT;
        }
        rest /= repeats;
        for (size_t a = p->n_axes; a-- > 0;) {
            const axis *ax = &p->axes[a];
            size_t i = rest % ax->n_values;
            rest /= ax->n_values;
            for (size_t k = 0; k < ax->n_params; ++k)
                v[ax->param[k]] = ax->values[i * ax->n_params + k];
        }
        if (p->kind->check(v, p->err) != SSM_OK) {
            char msg[SSM_ERROR_MSG_MAX], shown[160];
            const char *key;
            snprintf(msg, sizeof msg, "%s", p->err->message);
            yaml_mark_t mark = mark_of_message(p, msg, &key);
            sw_task_canonical(t, id, shown, sizeof shown);
            st = at(p, mark, key, "task %zu (%s): %s", id, shown, msg);
            break;
        }
        size_t need = sw_task_canonical(t, id, canon, canon_cap) + 1;
        if (need > canon_cap) {
            char *bigger = realloc(canon, need);
            if (!bigger) {
                st = ssm_fail(p->err, SSM_ENOMEM, "out of memory");
                break;
            }
            canon = bigger;
            canon_cap = need;
            sw_task_canonical(t, id, canon, canon_cap);
        }
        uint64_t h = sw_hash_bytes(p->kind->name, strlen(p->kind->name), SW_HASH_INIT);
        h = sw_hash_bytes(":", 1, h);
        h = ssm_mix64(sw_hash_bytes(canon, need - 1, h));
        t->hash[id] = h;
        t->seed[id] = ssm_mix64(seed ^ h);
        t->cost[id] = p->kind->cost(v);
        spec_hash = sw_hash_bytes(&h, sizeof h, spec_hash);
    }
    t->spec_hash = ssm_mix64(spec_hash);
    free(canon);
    return st;
}

ssm_status sw_spec_parse(const char *path, const char *text, size_t len, sw_tasks *tasks, ssm_error *err)
{
    yaml_parser_t yp;
    yaml_document_t doc;
    int have_doc = 0;
    parser p;
    uint64_t seed = 0;
    size_t repeats = 1;
    const char *name = NULL;
    ssm_status st = SSM_OK;
    memset(tasks, 0, sizeof *tasks);
    memset(&p, 0, sizeof p);
    p.path = path;
    p.err = err;
    p.doc = &doc;
    p.t = tasks;
    if (!yaml_parser_initialize(&yp))
        return ssm_fail(err, SSM_ENOMEM, "out of memory for the YAML parser");
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    if (!yaml_parser_load(&yp, &doc)) {
        st = ssm_fail(err, SSM_EINVAL, "%s:%zu:%zu: YAML syntax: %s%s%s", path, yp.problem_mark.line + 1,
                      yp.problem_mark.column + 1, yp.problem ? yp.problem : "invalid document",
                      yp.context ? " " : "", yp.context ? yp.context : "");
        goto done;
    }
    have_doc = 1;
    st = parse_top(&p, yaml_document_get_root_node(&doc), &seed, &repeats, &name);
    if (st == SSM_OK) {
        /* a second document in the file is a mistake, not ignored */
        yaml_document_t extra;
        if (yaml_parser_load(&yp, &extra)) {
            yaml_node_t *root = yaml_document_get_root_node(&extra);
            if (root)
                st = at(&p, root->start_mark, NULL, "a spec holds one YAML document, found another here");
            yaml_document_delete(&extra);
        }
    }
    if (st == SSM_OK)
        st = enumerate(&p, seed, repeats);
    if (st == SSM_OK) {
        tasks->name = strdup(name ? name : "");
        if (!tasks->name)
            st = ssm_fail(err, SSM_ENOMEM, "out of memory");
    }
done:
    for (size_t a = 0; a < p.n_axes; ++a)
        free(p.axes[a].values);
    free(p.axes);
    free(p.base);
    free(p.given);
    free(p.where);
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&yp);
    if (st)
        sw_tasks_free(tasks);
    return st;
}

ssm_status sw_spec_load(const char *path, sw_tasks *tasks, char **text, ssm_error *err)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    memset(tasks, 0, sizeof *tasks);
    *text = NULL;
    if (!fp)
        return ssm_fail(err, SSM_EIO, "%s: cannot read: %s", path, strerror(errno));
    for (;;) {
        if (len + 4096 + 1 > cap) {
            size_t bigger = cap ? 2 * cap : 8192;
            char *p = realloc(buf, bigger);
            if (!p) {
                free(buf);
                fclose(fp);
                return ssm_fail(err, SSM_ENOMEM, "out of memory reading %s", path);
            }
            buf = p;
            cap = bigger;
        }
        size_t got = fread(buf + len, 1, 4096, fp);
        len += got;
        if (got < 4096)
            break;
    }
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        free(buf);
        return ssm_fail(err, SSM_EIO, "%s: cannot read: %s", path, strerror(errno));
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        free(buf);
        return ssm_fail(err, SSM_EINVAL, "%s: not a text file (NUL byte)", path);
    }
    ssm_status st = sw_spec_parse(path, buf, len, tasks, err);
    if (st) {
        free(buf);
        return st;
    }
    *text = buf;
    return SSM_OK;
}

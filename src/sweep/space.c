/* The task space: parameters, canonical texts, hashes and seeds from ids. */
#include "config.h"

#include "space.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/rng.h"
#include "tasks.h"

/* ---- building -------------------------------------------------------------------- */

ssm_status sw_space_start(sw_space *s, const sw_kind *kind, uint64_t master_seed, uint64_t repeats,
                          ssm_error *err)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->master_seed = master_seed;
    s->repeats = repeats ? repeats : 1;
    s->repeat_param = sw_kind_param_index(kind, "repeat");
    s->base = calloc(kind->n_params, sizeof *s->base);
    s->base_frags = calloc(kind->n_params, sizeof *s->base_frags);
    s->axis_of = malloc(kind->n_params * sizeof *s->axis_of);
    s->col_of = malloc(kind->n_params * sizeof *s->col_of);
    if (!s->base || !s->base_frags || !s->axis_of || !s->col_of) {
        sw_space_free(s);
        return ssm_fail(err, SSM_ENOMEM, "out of memory for a task space");
    }
    for (size_t p = 0; p < kind->n_params; ++p)
        s->axis_of[p] = s->col_of[p] = -1;
    return SSM_OK;
}

const char *sw_space_keep_string(sw_space *s, const char *str)
{
    if (s->n_strings == s->strings_cap) {
        size_t cap = s->strings_cap ? 2 * s->strings_cap : 16;
        char **bigger = realloc(s->strings, cap * sizeof *bigger);
        if (!bigger)
            return NULL;
        s->strings = bigger;
        s->strings_cap = cap;
    }
    char *copy = strdup(str);
    if (copy)
        s->strings[s->n_strings++] = copy;
    return copy;
}

ssm_status sw_space_add_axis(sw_space *s, size_t n_cols, int *params, size_t n_values, sw_value *values,
                             ssm_error *err)
{
    sw_space_axis *bigger = realloc(s->axes, (s->n_axes + 1) * sizeof *bigger);
    if (!bigger) {
        free(params);
        free(values);
        return ssm_fail(err, SSM_ENOMEM, "out of memory for a task space");
    }
    s->axes = bigger;
    sw_space_axis *a = &s->axes[s->n_axes];
    memset(a, 0, sizeof *a);
    a->n_cols = n_cols;
    a->n_values = n_values;
    a->params = params;
    a->values = values;
    a->first_param = params[0];
    for (size_t k = 0; k < n_cols; ++k) {
        s->axis_of[params[k]] = (int)s->n_axes;
        s->col_of[params[k]] = (int)k;
        if (params[k] < a->first_param)
            a->first_param = params[k];
    }
    s->n_axes++;
    return SSM_OK;
}

/* The arena grows by doubling; a failure is remembered and reported once. */
typedef struct {
    sw_space *s;
    int failed;
} arena_sink;

static void put_arena(void *ctx, const char *text, size_t len)
{
    arena_sink *a = ctx;
    sw_space *s = a->s;
    if (a->failed)
        return;
    if (s->text_len + len > s->text_cap) {
        size_t cap = s->text_cap ? s->text_cap : 256;
        while (cap < s->text_len + len)
            cap *= 2;
        char *bigger = realloc(s->text, cap);
        if (!bigger) {
            a->failed = 1;
            return;
        }
        s->text = bigger;
        s->text_cap = cap;
    }
    memcpy(s->text + s->text_len, text, len);
    s->text_len += len;
}

static int fragment(sw_space *s, int param, const sw_value *v, sw_fragment *out)
{
    arena_sink a = {s, 0};
    sw_text_sink sink = {put_arena, &a};
    out->offset = s->text_len;
    sw_param_canonical(&s->kind->params[param], v, &sink);
    out->len = s->text_len - out->offset;
    return a.failed ? -1 : 0;
}

static int make_fragments(sw_space *s)
{
    for (size_t p = 0; p < s->kind->n_params; ++p)
        if (s->axis_of[p] < 0 && fragment(s, (int)p, &s->base[p], &s->base_frags[p]))
            return -1;
    for (size_t a = 0; a < s->n_axes; ++a) {
        sw_space_axis *ax = &s->axes[a];
        size_t n = ax->n_values * ax->n_cols;
        ax->frags = malloc((n ? n : 1) * sizeof *ax->frags);
        if (!ax->frags)
            return -1;
        for (size_t k = 0; k < n; ++k)
            if (fragment(s, ax->params[k % ax->n_cols], &ax->values[k], &ax->frags[k]))
                return -1;
    }
    return 0;
}

/* Hashes x as 8 bytes little endian, as sw_tasks_finish does. */
static uint64_t hash_u64(uint64_t x, uint64_t h)
{
    unsigned char le[8];
    for (int k = 0; k < 8; ++k)
        le[k] = (unsigned char)(x >> (8 * k));
    return sw_hash_update(le, sizeof le, h);
}

ssm_status sw_space_finish(sw_space *s, ssm_error *err)
{
    const char *kind = s->kind->name;
    s->kind_state = sw_hash_update(":", 1, sw_hash_update(kind, strlen(kind), SW_HASH_INIT));
    s->combo_stride = malloc((s->n_axes ? s->n_axes : 1) * sizeof *s->combo_stride);
    if (!s->combo_stride || make_fragments(s))
        return ssm_fail(err, SSM_ENOMEM, "out of memory for a task space");
    s->n_combos = 1;
    for (size_t a = s->n_axes; a-- > 0;) {
        s->combo_stride[a] = s->n_combos;
        s->n_combos *= s->axes[a].n_values;
    }
    s->n_tasks = s->n_combos * s->repeats;
    return SSM_OK;
}

ssm_status sw_space_hash_all(sw_space *s, ssm_error *err)
{
    const char *kind = s->kind->name;
    uint64_t spec = sw_hash_update(kind, strlen(kind), SW_HASH_INIT);
    spec = hash_u64(s->master_seed, spec);
    spec = hash_u64(s->n_tasks, spec);
    sw_space_walk w;
    ssm_status st = sw_space_walk_start(&w, s, 0, 1, s->n_tasks, 1, err);
    if (st)
        return st;
    while (sw_space_walk_next(&w))
        spec = hash_u64(w.hash, spec);
    sw_space_walk_end(&w);
    s->spec_hash = ssm_mix64(spec);
    return SSM_OK;
}

void sw_space_free(sw_space *s)
{
    if (!s)
        return;
    for (size_t a = 0; s->axes && a < s->n_axes; ++a) {
        free(s->axes[a].params);
        free(s->axes[a].values);
        free(s->axes[a].frags);
    }
    for (size_t k = 0; s->strings && k < s->n_strings; ++k)
        free(s->strings[k]);
    free(s->axes);
    free(s->strings);
    free(s->base);
    free(s->base_frags);
    free(s->axis_of);
    free(s->col_of);
    free(s->combo_stride);
    free(s->text);
    memset(s, 0, sizeof *s);
}

/* ---- the axes as JSON ------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} json;

static void json_put(json *j, const char *text, size_t len)
{
    if (j->failed)
        return;
    if (j->len + len + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 1024;
        while (cap < j->len + len + 1)
            cap *= 2;
        char *bigger = realloc(j->buf, cap);
        if (!bigger) {
            j->failed = 1;
            return;
        }
        j->buf = bigger;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, text, len);
    j->len += len;
    j->buf[j->len] = '\0';
}

static void json_text(json *j, const char *text)
{
    json_put(j, text, strlen(text));
}

static void json_string(json *j, const char *s)
{
    json_put(j, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; ++p) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            json_put(j, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            json_text(j, esc);
        } else {
            json_put(j, (const char *)p, 1);
        }
    }
    json_put(j, "\"", 1);
}

static void json_value(json *j, const sw_value *v)
{
    char num[40];
    if (v->type == SW_STRING) {
        json_string(j, v->s);
        return;
    }
    if (v->type == SW_INT)
        snprintf(num, sizeof num, "%lld", v->i);
    else
        snprintf(num, sizeof num, "%.17g", v->r);   /* finite: the spec parser refuses others */
    json_text(j, num);
}

char *sw_space_axes_json(const sw_space *s)
{
    json j = {0};
    char num[32];
    json_text(&j, "{\"axes\": [");
    for (size_t a = 0; a < s->n_axes; ++a) {
        const sw_space_axis *ax = &s->axes[a];
        json_text(&j, a ? ", {\"name\": \"" : "{\"name\": \"");
        for (size_t k = 0; k < ax->n_cols; ++k) {
            json_text(&j, k ? "+" : "");
            json_text(&j, s->kind->params[ax->params[k]].name);   /* names are plain identifiers */
        }
        json_text(&j, "\", \"params\": [");
        for (size_t k = 0; k < ax->n_cols; ++k) {
            json_text(&j, k ? ", " : "");
            json_string(&j, s->kind->params[ax->params[k]].name);
        }
        snprintf(num, sizeof num, "%zu", ax->n_values);
        json_text(&j, "], \"size\": ");
        json_text(&j, num);
        json_text(&j, ", \"values\": {");
        for (size_t k = 0; k < ax->n_cols; ++k) {
            json_text(&j, k ? ", " : "");
            json_string(&j, s->kind->params[ax->params[k]].name);
            json_text(&j, ": [");
            for (size_t i = 0; i < ax->n_values; ++i) {
                json_text(&j, i ? ", " : "");
                json_value(&j, &ax->values[i * ax->n_cols + k]);
            }
            json_text(&j, "]");
        }
        json_text(&j, "}}");
    }
    snprintf(num, sizeof num, "%llu", (unsigned long long)s->repeats);
    json_text(&j, "], \"repeats\": ");
    json_text(&j, num);
    json_text(&j, ", \"shape\": [");
    for (size_t a = 0; a <= s->n_axes; ++a) {
        snprintf(num, sizeof num, "%s%llu", a ? ", " : "",
                 (unsigned long long)(a < s->n_axes ? s->axes[a].n_values : s->repeats));
        json_text(&j, num);
    }
    json_text(&j, "], \"order\": \"row-major over shape: the first axis slowest, repeats fastest\"}");
    if (j.failed) {
        free(j.buf);
        return NULL;
    }
    return j.buf;
}

/* ---- one task -------------------------------------------------------------------- */

/* The value index of every axis in combination combo. */
static void digits_of(const sw_space *s, uint64_t combo, size_t *digit)
{
    for (size_t a = s->n_axes; a-- > 0;) {
        digit[a] = (size_t)(combo % s->axes[a].n_values);
        combo /= s->axes[a].n_values;
    }
}

static void set_axis(const sw_space *s, size_t a, size_t row, sw_value *out)
{
    const sw_space_axis *ax = &s->axes[a];
    for (size_t k = 0; k < ax->n_cols; ++k)
        out[ax->params[k]] = ax->values[row * ax->n_cols + k];
}

void sw_space_params(const sw_space *s, uint64_t id, sw_value *out)
{
    uint64_t combo = id / s->repeats;
    memcpy(out, s->base, s->kind->n_params * sizeof *out);
    if (s->repeat_param >= 0)
        out[s->repeat_param].i = (long long)(id % s->repeats);
    for (size_t a = s->n_axes; a-- > 0;) {
        set_axis(s, a, (size_t)(combo % s->axes[a].n_values), out);
        combo /= s->axes[a].n_values;
    }
}

/* The fragment of parameter p in the task with these axis digits; the
 * repeat parameter's is written into buf (it is not stored). */
static const char *fragment_text(const sw_space *s, size_t p, const size_t *digit, uint64_t repeat, char *buf,
                                 size_t *len)
{
    if ((int)p == s->repeat_param) {
        /* what sw_param_canonical writes for an integer: "repeat=%lld;" */
        const sw_param_desc *d = &s->kind->params[p];
        char digits[24];
        if ((d->flags & SW_PARAM_SILENT_DEFAULT) && d->def && (long long)repeat == strtoll(d->def, NULL, 10)) {
            *len = 0;
            return buf;
        }
        size_t n = 0, at = 0;
        do {
            digits[n++] = (char)('0' + repeat % 10);
            repeat /= 10;
        } while (repeat);
        memcpy(buf, "repeat=", 7);
        at = 7;
        while (n)
            buf[at++] = digits[--n];
        buf[at++] = ';';
        *len = at;
        return buf;
    }
    const sw_fragment *f = s->axis_of[p] < 0 ? &s->base_frags[p]
                                             : &s->axes[s->axis_of[p]].frags[digit[s->axis_of[p]] *
                                                                             s->axes[s->axis_of[p]].n_cols +
                                                                             (size_t)s->col_of[p]];
    *len = f->len;
    return s->text + f->offset;
}

/* FNV state after parameters from..n_params-1, starting from state h. */
static uint64_t hash_from(const sw_space *s, size_t from, const size_t *digit, uint64_t repeat, uint64_t h,
                          uint64_t *states)
{
    char buf[40];
    for (size_t p = from; p < s->kind->n_params; ++p) {
        size_t len;
        const char *text = fragment_text(s, p, digit, repeat, buf, &len);
        h = sw_hash_update(text, len, h);
        if (states)
            states[p + 1] = h;
    }
    return h;
}

/* Digits of up to this many axes live on the stack; more take the heap. */
#define STACK_AXES 16

uint64_t sw_space_hash(const sw_space *s, uint64_t id)
{
    size_t stack[STACK_AXES], *digit = s->n_axes <= STACK_AXES ? stack : malloc(s->n_axes * sizeof *digit);
    if (!digit)
        return 0;   /* no memory for a spec of more than 16 axes: cannot happen in practice */
    digits_of(s, id / s->repeats, digit);
    uint64_t h = ssm_mix64(hash_from(s, 0, digit, id % s->repeats, s->kind_state, NULL));
    if (digit != stack)
        free(digit);
    return h;
}

size_t sw_space_canonical(const sw_space *s, uint64_t id, char *buf, size_t size)
{
    size_t stack[STACK_AXES], *digit = s->n_axes <= STACK_AXES ? stack : malloc(s->n_axes * sizeof *digit);
    size_t at = 0;
    if (size)
        buf[0] = '\0';
    if (!digit)
        return 0;
    digits_of(s, id / s->repeats, digit);
    for (size_t p = 0; p < s->kind->n_params; ++p) {
        char tmp[40];
        size_t len;
        const char *text = fragment_text(s, p, digit, id % s->repeats, tmp, &len);
        if (at < size) {
            size_t n = len < size - 1 - at ? len : size - 1 - at;
            memcpy(buf + at, text, n);
            buf[at + n] = '\0';
        }
        at += len;
    }
    if (digit != stack)
        free(digit);
    return at;
}

/* ---- walks ----------------------------------------------------------------------- */

ssm_status sw_space_walk_start(sw_space_walk *w, const sw_space *s, uint64_t first, uint64_t step, uint64_t end,
                               int want_hash, ssm_error *err)
{
    memset(w, 0, sizeof *w);
    w->s = s;
    w->next = first;
    w->step = step ? step : 1;
    w->end = end < s->n_tasks ? end : s->n_tasks;
    w->want_hash = want_hash;
    w->values = malloc(s->kind->n_params * sizeof *w->values);
    w->digit = malloc((s->n_axes ? s->n_axes : 1) * sizeof *w->digit);
    w->state = malloc((s->kind->n_params + 1) * sizeof *w->state);
    if (!w->values || !w->digit || !w->state) {
        sw_space_walk_end(w);
        return ssm_fail(err, SSM_ENOMEM, "out of memory for a task space walk");
    }
    w->state[0] = s->kind_state;
    return SSM_OK;
}

/* Moves to combination combo: the axes whose value changed are set, and
 * the hash states from the first parameter they touch are invalid. */
static void move_to_combo(sw_space_walk *w, uint64_t combo, int first)
{
    const sw_space *s = w->s;
    if (first) {
        memcpy(w->values, s->base, s->kind->n_params * sizeof *w->values);
        digits_of(s, combo, w->digit);
        for (size_t a = 0; a < s->n_axes; ++a)
            set_axis(s, a, w->digit[a], w->values);
        w->valid = 0;
    } else {
        uint64_t rest = combo;
        for (size_t a = s->n_axes; a-- > 0;) {
            size_t d = (size_t)(rest % s->axes[a].n_values);
            rest /= s->axes[a].n_values;
            if (d == w->digit[a])
                continue;
            w->digit[a] = d;
            set_axis(s, a, d, w->values);
            if ((size_t)s->axes[a].first_param < w->valid)
                w->valid = (size_t)s->axes[a].first_param;
        }
    }
    w->combo = combo;
    w->new_combo = 1;
}

int sw_space_walk_next(sw_space_walk *w)
{
    const sw_space *s = w->s;
    if (w->next >= w->end)
        return 0;
    const uint64_t id = w->next, combo = id / s->repeats, repeat = id % s->repeats;
    if (!w->started)
        move_to_combo(w, combo, 1);
    else if (combo != w->combo)
        move_to_combo(w, combo, 0);
    else
        w->new_combo = 0;
    if (s->repeat_param >= 0 && (!w->started || repeat != w->repeat)) {
        w->values[s->repeat_param].i = (long long)repeat;
        if ((size_t)s->repeat_param < w->valid)
            w->valid = (size_t)s->repeat_param;
    }
    w->started = 1;
    w->id = id;
    w->repeat = repeat;
    if (w->want_hash) {
        uint64_t h = hash_from(s, w->valid, w->digit, repeat, w->state[w->valid], w->state);
        w->valid = s->kind->n_params;
        w->hash = ssm_mix64(h);
        w->seed = ssm_mix64(s->master_seed ^ w->hash);
    }
    w->next = w->end - id <= w->step ? w->end : id + w->step;
    return 1;
}

void sw_space_walk_to(sw_space_walk *w, uint64_t id)
{
    w->next = id;
    sw_space_walk_next(w);
}

void sw_space_walk_end(sw_space_walk *w)
{
    free(w->values);
    free(w->digit);
    free(w->state);
    memset(w, 0, sizeof *w);
}

/* Task identity: canonical text, content hashes and seeds.
 *
 * A task is identified by what it computes, not by where it sits in the
 * sweep: the hash covers the kind and every parameter value (defaults
 * included), so reordering axes or rewriting a spec without changing a
 * value keeps each task's hash and seed, and hence its random numbers. */
#include "config.h"

#include "tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/rng.h"

#define FNV_PRIME UINT64_C(0x100000001b3)

uint64_t sw_hash_update(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t k = 0; k < len; ++k) {
        h ^= p[k];
        h *= FNV_PRIME;
    }
    return h;
}

uint64_t sw_hash_bytes(const void *data, size_t len, uint64_t h)
{
    /* FNV-1a alone mixes the last bytes poorly into the high bits; seeds
     * and shard choices use all 64 */
    return ssm_mix64(sw_hash_update(data, len, h));
}

/* ---- canonical text ------------------------------------------------------------ */

/* The canonical text is produced once, into a sink: a bounded buffer for
 * sw_task_canonical, the FNV state for the hash, a task space's fragments.
 * One writer means the hash can never drift from the text users see. */
typedef struct {
    char *buf;
    size_t size, at;
} text_sink;

static void put_text(void *ctx, const char *text, size_t len)
{
    text_sink *s = ctx;
    if (s->at < s->size) {
        size_t room = s->size - 1 - s->at;   /* one byte stays for the NUL */
        size_t n = len < room ? len : room;
        memcpy(s->buf + s->at, text, n);
        s->buf[s->at + n] = '\0';
    }
    s->at += len;
}

static void emit(const sw_text_sink *out, const char *text)
{
    out->put(out->ctx, text, strlen(text));
}

/* Whether v is the parameter's default (for SW_PARAM_SILENT_DEFAULT). */
static int is_default(const sw_param_desc *d, const sw_value *v)
{
    if (!d->def)
        return 0;
    switch (d->type) {
    case SW_INT:
        return v->i == strtoll(d->def, NULL, 10);
    case SW_REAL:
        return v->r == strtod(d->def, NULL);
    case SW_STRING:
        return v->s && strcmp(v->s, d->def) == 0;
    }
    return 0;
}

void sw_param_canonical(const sw_param_desc *d, const sw_value *v, const sw_text_sink *out)
{
    char num[64];
    if ((d->flags & SW_PARAM_SILENT_DEFAULT) && is_default(d, v))
        return;
    emit(out, d->name);
    emit(out, "=");
    switch (d->type) {
    case SW_INT:
        snprintf(num, sizeof num, "%lld", v->i);
        emit(out, num);
        break;
    case SW_REAL:
        /* 17 significant digits: distinct doubles, distinct texts */
        snprintf(num, sizeof num, "%.17g", v->r);
        emit(out, num);
        break;
    case SW_STRING:
        /* escaped separators keep "a=b;c" apart from a=b plus c */
        for (const char *s = v->s ? v->s : ""; *s; ++s) {
            if (*s == '\\' || *s == ';' || *s == '=')
                emit(out, "\\");
            out->put(out->ctx, s, 1);
        }
        break;
    }
    emit(out, ";");
}

static void canonical(const sw_tasks *t, size_t id, const sw_text_sink *out)
{
    const sw_kind *kind = t->kind;
    const sw_value *v = sw_task_params(t, id);
    for (size_t p = 0; p < kind->n_params; ++p)
        sw_param_canonical(&kind->params[p], &v[p], out);
}

void sw_value_shown(const sw_value *v, char *buf, size_t size)
{
    if (v->type == SW_INT)
        snprintf(buf, size, "%lld", v->i);
    else if (v->type == SW_REAL)
        snprintf(buf, size, "%g", v->r);
    else
        snprintf(buf, size, "%s", v->s);
}

size_t sw_task_canonical(const sw_tasks *t, size_t row, char *buf, size_t size)
{
    if (!t->values)
        return sw_space_canonical(t->space, sw_task_id(t, row), buf, size);
    text_sink s = {buf, size, 0};
    sw_text_sink out = {put_text, &s};
    if (size)
        buf[0] = '\0';
    canonical(t, row, &out);
    return s.at;
}

/* ---- rows of any table ------------------------------------------------------------- */

const sw_value *sw_task_values(const sw_tasks *t, size_t row, sw_value *buf)
{
    if (t->values)
        return sw_task_params(t, row);
    sw_space_params(t->space, sw_task_id(t, row), buf);
    return buf;
}

uint64_t sw_task_hash(const sw_tasks *t, size_t row)
{
    return t->hash ? t->hash[row] : sw_space_hash(t->space, sw_task_id(t, row));
}

uint64_t sw_task_seed(const sw_tasks *t, size_t row)
{
    return t->seed ? t->seed[row] : ssm_mix64(t->master_seed ^ sw_task_hash(t, row));
}

ssm_status sw_tasks_walk_start(sw_space_walk *w, const sw_tasks *t, int want_hash, ssm_error *err)
{
    const sw_shard s = sw_tasks_shard(t);
    return sw_space_walk_start(w, t->space, s.index, s.count, t->space->n_tasks, want_hash, err);
}

ssm_status sw_tasks_each_combo(const sw_tasks *t, void (*visit)(void *ctx, size_t row, const sw_value *v), void *ctx,
                               ssm_error *err)
{
    if (!t->space) {
        for (size_t row = 0; row < t->n_tasks; ++row)
            visit(ctx, row, sw_task_params(t, row));
        return SSM_OK;
    }
    sw_space_walk w;
    ssm_status st = sw_tasks_walk_start(&w, t, 0, err);
    for (size_t row = 0; st == SSM_OK && sw_space_walk_next(&w); ++row)
        if (w.new_combo)
            visit(ctx, row, w.values);
    if (st == SSM_OK)
        sw_space_walk_end(&w);
    return st;
}

size_t sw_tasks_max_strlen(const sw_tasks *t, int param)
{
    size_t most = 0;
    if (!t->space) {
        for (size_t row = 0; row < t->n_tasks; ++row) {
            const char *v = sw_task_params(t, row)[param].s;
            size_t len = v ? strlen(v) : 0;
            most = len > most ? len : most;
        }
        return most;
    }
    const sw_space *s = t->space;
    if (s->axis_of[param] < 0)
        return s->base[param].s ? strlen(s->base[param].s) : 0;
    const sw_space_axis *a = &s->axes[s->axis_of[param]];
    for (size_t k = 0; k < a->n_values; ++k) {
        const char *v = a->values[k * a->n_cols + (size_t)s->col_of[param]].s;
        size_t len = v ? strlen(v) : 0;
        most = len > most ? len : most;
    }
    return most;
}

ssm_status sw_task_cursor_start(sw_task_cursor *c, const sw_tasks *t, ssm_error *err)
{
    memset(c, 0, sizeof *c);
    c->t = t;
    if (t->values)
        return SSM_OK;
    return sw_space_walk_start(&c->walk, t->space, 0, 1, t->space->n_tasks, 1, err);
}

void sw_task_cursor_at(sw_task_cursor *c, size_t row)
{
    const sw_tasks *t = c->t;
    if (t->values) {
        c->values = sw_task_params(t, row);
        c->hash = t->hash[row];
        c->seed = t->seed[row];
        return;
    }
    sw_space_walk_to(&c->walk, sw_task_id(t, row));
    c->values = c->walk.values;
    c->hash = c->walk.hash;
    c->seed = c->walk.seed;
}

void sw_task_cursor_end(sw_task_cursor *c)
{
    if (c->walk.s)
        sw_space_walk_end(&c->walk);
    memset(c, 0, sizeof *c);
}

ssm_status sw_tasks_materialize(sw_tasks *t, ssm_error *err)
{
    const size_t n = t->n_tasks, np = t->kind->n_params;
    sw_space_walk w;
    if (t->values)
        return SSM_OK;
    sw_value *values = malloc((n ? n : 1) * np * sizeof *values);
    uint64_t *hash = malloc((n ? n : 1) * sizeof *hash), *seed = malloc((n ? n : 1) * sizeof *seed);
    double *cost = malloc((n ? n : 1) * sizeof *cost);
    uint64_t *ids = t->shard.count ? malloc((n ? n : 1) * sizeof *ids) : NULL;
    ssm_status st = values && hash && seed && cost && (ids || !t->shard.count)
                        ? sw_tasks_walk_start(&w, t, 1, err)
                        : ssm_fail(err, SSM_ENOMEM, "out of memory for a table of %zu tasks", n);
    if (st) {
        free(values);
        free(hash);
        free(seed);
        free(cost);
        free(ids);
        return st;
    }
    for (size_t row = 0; row < n && sw_space_walk_next(&w); ++row) {
        memcpy(values + row * np, w.values, np * sizeof *values);
        hash[row] = w.hash;
        seed[row] = w.seed;
        /* the repeats of a combination cost the same */
        cost[row] = w.new_combo ? t->kind->cost(w.values) : cost[row - 1];
        if (ids)
            ids[row] = w.id;
    }
    sw_space_walk_end(&w);
    t->values = values;
    t->hash = hash;
    t->seed = seed;
    t->cost = cost;
    t->global_id = ids;
    return SSM_OK;
}

/* ---- shards ------------------------------------------------------------------------ */

uint64_t sw_shard_size(uint64_t n, uint64_t index, uint64_t count)
{
    return index < n ? (n - index + count - 1) / count : 0;
}

ssm_status sw_tasks_select_shard(sw_tasks *t, uint64_t index, uint64_t count, ssm_error *err)
{
    if (t->shard.count)
        return ssm_fail(err, SSM_EINVAL, "the task table is a shard already");
    if (count == 0 || index >= count)
        return ssm_fail(err, SSM_EINVAL, "shard %llu/%llu: the index must lie in 0..count-1",
                        (unsigned long long)index, (unsigned long long)count);
    size_t n = (size_t)sw_shard_size(t->n_tasks, index, count), np = t->kind->n_params;
    if (!t->values) {   /* lazy: rows are ids index, index + count, ... */
        t->shard = (sw_shard){index, count, t->n_tasks};
        t->n_tasks = n;
        return SSM_OK;
    }
    uint64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids)
        return ssm_fail(err, SSM_ENOMEM, "out of memory for shard %llu/%llu", (unsigned long long)index,
                        (unsigned long long)count);
    /* rows move down in place (row <= id): the arrays only shrink, and
     * the string values keep pointing into the space */
    for (size_t row = 0; row < n; ++row) {
        size_t id = (size_t)(index + row * count);
        ids[row] = id;
        memmove(t->values + row * np, t->values + id * np, np * sizeof *t->values);
        t->hash[row] = t->hash[id];
        t->seed[row] = t->seed[id];
        t->cost[row] = t->cost[id];
    }
    t->shard = (sw_shard){index, count, t->n_tasks};
    t->n_tasks = n;
    t->global_id = ids;
    return SSM_OK;
}

void sw_tasks_free(sw_tasks *t)
{
    if (!t)
        return;
    for (size_t a = 0; t->axes && a < t->n_axes; ++a) {
        free(t->axes[a].names);
        free(t->axes[a].values);
    }
    sw_space_free(t->space);
    free(t->space);
    free(t->axes);
    free(t->name);
    free(t->values);
    free(t->hash);
    free(t->seed);
    free(t->cost);
    free(t->global_id);
    memset(t, 0, sizeof *t);
}

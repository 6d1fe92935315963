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

/* Hashes x as 8 bytes little endian, whatever the host's byte order, so
 * that spec hashes agree across machines. */
static uint64_t hash_u64(uint64_t x, uint64_t h)
{
    unsigned char le[8];
    for (int k = 0; k < 8; ++k)
        le[k] = (unsigned char)(x >> (8 * k));
    return sw_hash_update(le, sizeof le, h);
}

/* ---- canonical text ------------------------------------------------------------ */

/* The canonical text is produced once, into a sink: a bounded buffer for
 * sw_task_canonical, the FNV state for the hash.  One writer means the
 * hash can never drift from the text users see. */
typedef struct {
    void (*put)(void *ctx, const char *text, size_t len);
    void *ctx;
} sink;

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

static void put_hash(void *ctx, const char *text, size_t len)
{
    uint64_t *h = ctx;
    *h = sw_hash_update(text, len, *h);
}

static void emit(const sink *out, const char *text)
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

static void canonical(const sw_tasks *t, size_t id, const sink *out)
{
    const sw_kind *kind = t->kind;
    const sw_value *v = sw_task_params(t, id);
    for (size_t p = 0; p < kind->n_params; ++p) {
        char num[64];
        if ((kind->params[p].flags & SW_PARAM_SILENT_DEFAULT) && is_default(&kind->params[p], &v[p]))
            continue;
        emit(out, kind->params[p].name);
        emit(out, "=");
        switch (kind->params[p].type) {
        case SW_INT:
            snprintf(num, sizeof num, "%lld", v[p].i);
            emit(out, num);
            break;
        case SW_REAL:
            /* 17 significant digits: distinct doubles, distinct texts */
            snprintf(num, sizeof num, "%.17g", v[p].r);
            emit(out, num);
            break;
        case SW_STRING:
            /* escaped separators keep "a=b;c" apart from a=b plus c */
            for (const char *s = v[p].s ? v[p].s : ""; *s; ++s) {
                if (*s == '\\' || *s == ';' || *s == '=')
                    emit(out, "\\");
                out->put(out->ctx, s, 1);
            }
            break;
        }
        emit(out, ";");
    }
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

size_t sw_task_canonical(const sw_tasks *t, size_t id, char *buf, size_t size)
{
    text_sink s = {buf, size, 0};
    sink out = {put_text, &s};
    if (size)
        buf[0] = '\0';
    canonical(t, id, &out);
    return s.at;
}

/* ---- hashes, seeds, costs ---------------------------------------------------------- */

void sw_tasks_finish(sw_tasks *t)
{
    const char *kind = t->kind->name;
    const uint64_t kind_state = sw_hash_update(":", 1, sw_hash_update(kind, strlen(kind), SW_HASH_INIT));
    uint64_t spec = sw_hash_update(kind, strlen(kind), SW_HASH_INIT);
    spec = hash_u64(t->master_seed, spec);
    spec = hash_u64((uint64_t)t->n_tasks, spec);
    for (size_t id = 0; id < t->n_tasks; ++id) {
        uint64_t h = kind_state;
        sink out = {put_hash, &h};
        canonical(t, id, &out);
        t->hash[id] = ssm_mix64(h);
        t->seed[id] = ssm_mix64(t->master_seed ^ t->hash[id]);
        t->cost[id] = t->kind->cost(sw_task_params(t, id));
        spec = hash_u64(t->hash[id], spec);
    }
    t->spec_hash = ssm_mix64(spec);
}

/* ---- shards ------------------------------------------------------------------------ */

uint64_t sw_shard_size(uint64_t n, uint64_t index, uint64_t count)
{
    return index < n ? (n - index + count - 1) / count : 0;
}

ssm_status sw_tasks_select_shard(sw_tasks *t, uint64_t index, uint64_t count, ssm_error *err)
{
    if (t->global_id)
        return ssm_fail(err, SSM_EINVAL, "the task table is a shard already");
    if (count == 0 || index >= count)
        return ssm_fail(err, SSM_EINVAL, "shard %llu/%llu: the index must lie in 0..count-1",
                        (unsigned long long)index, (unsigned long long)count);
    size_t n = (size_t)sw_shard_size(t->n_tasks, index, count), np = t->kind->n_params;
    uint64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids)
        return ssm_fail(err, SSM_ENOMEM, "out of memory for shard %llu/%llu", (unsigned long long)index,
                        (unsigned long long)count);
    /* rows move down in place (row <= id): the arrays only shrink, and
     * the string values keep pointing into t->strings */
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
    for (size_t s = 0; t->strings && s < t->n_strings; ++s)
        free(t->strings[s]);
    free(t->axes);
    free(t->strings);
    free(t->name);
    free(t->values);
    free(t->hash);
    free(t->seed);
    free(t->cost);
    free(t->global_id);
    memset(t, 0, sizeof *t);
}

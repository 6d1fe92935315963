#include "config.h"

#include "tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/rng.h"

uint64_t sw_hash_bytes(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t k = 0; k < len; ++k) {
        h ^= p[k];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* Appends to buf what fits, returns the length it needed. */
static size_t put(char *buf, size_t size, size_t at, const char *text, size_t len)
{
    for (size_t k = 0; k < len; ++k)
        if (at + k + 1 < size)
            buf[at + k] = text[k];
    if (size)
        buf[at + len < size ? at + len : size - 1] = '\0';
    return at + len;
}

size_t sw_task_canonical(const sw_tasks *t, size_t id, char *buf, size_t size)
{
    const sw_kind *kind = t->kind;
    const sw_value *v = sw_task_params(t, id);
    size_t at = 0;
    if (size)
        buf[0] = '\0';
    for (size_t p = 0; p < kind->n_params; ++p) {
        char num[64];
        at = put(buf, size, at, kind->params[p].name, strlen(kind->params[p].name));
        at = put(buf, size, at, "=", 1);
        switch (v[p].type) {
        case SW_INT:
            snprintf(num, sizeof num, "%lld", v[p].i);
            at = put(buf, size, at, num, strlen(num));
            break;
        case SW_REAL:
            snprintf(num, sizeof num, "%.17g", v[p].r);
            at = put(buf, size, at, num, strlen(num));
            break;
        case SW_STRING:
            /* escape the separators so that the text stays unambiguous */
            for (const char *s = v[p].s; *s; ++s) {
                if (*s == '\\' || *s == ';' || *s == '=')
                    at = put(buf, size, at, "\\", 1);
                at = put(buf, size, at, s, 1);
            }
            break;
        }
        at = put(buf, size, at, ";", 1);
    }
    return at;
}

void sw_tasks_free(sw_tasks *t)
{
    if (!t)
        return;
    for (size_t a = 0; a < t->n_axes; ++a) {
        free(t->axes[a].names);
        free(t->axes[a].values);
    }
    for (size_t s = 0; s < t->n_strings; ++s)
        free(t->strings[s]);
    free(t->axes);
    free(t->strings);
    free(t->name);
    free(t->values);
    free(t->hash);
    free(t->seed);
    free(t->cost);
    memset(t, 0, sizeof *t);
}

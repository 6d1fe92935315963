/* The task space (src/sweep/space.c) against the table built from it and
 * against definitions written out here: for every spec of
 * tests/ref/identity/plans.list (the examples, the tests' and benchmarks'
 * specs, the fuzz corpus), every task's parameters computed from its id
 * (at random, in walks of every shard of 1, 3 and 5, in walks over
 * combinations, by a cursor jumping back and forth) equal the row of the materialized table; its canonical
 * text equals the one written from the table's values parameter by
 * parameter; its hash is FNV-1a of "<kind>:" and that text, finalized;
 * its seed and cost follow; the spec hash follows from the hashes as
 * tasks.h defines it.  (tests/examples_identity.sh compares the same
 * listings with what earlier versions wrote.) */
#include "config.h"

#include <string.h>

#include "experiments/registry.h"
#include "ssm/rng.h"
#include "sweep/spec.h"
#include "hashdef.h"
#include "testutil.h"

static int same_values(const sw_kind *kind, const sw_value *a, const sw_value *b)
{
    for (size_t p = 0; p < kind->n_params; ++p) {
        if (a[p].type != b[p].type)
            return 0;
        if (a[p].type == SW_INT && a[p].i != b[p].i)
            return 0;
        if (a[p].type == SW_REAL && memcmp(&a[p].r, &b[p].r, sizeof a[p].r) != 0)
            return 0;
        if (a[p].type == SW_STRING && strcmp(a[p].s, b[p].s) != 0)
            return 0;
    }
    return 1;
}

/* A task's canonical text from its values, as tasks.h defines it. */
static size_t canonical_of(const sw_kind *kind, const sw_value *v, char *buf, size_t size)
{
    size_t len = 0;
    for (size_t p = 0; p < kind->n_params && len < size; ++p) {
        const sw_param_desc *d = &kind->params[p];
        if ((d->flags & SW_PARAM_SILENT_DEFAULT) && d->def &&
            (d->type == SW_INT ? v[p].i == strtoll(d->def, NULL, 10)
             : d->type == SW_REAL ? v[p].r == strtod(d->def, NULL) : strcmp(v[p].s, d->def) == 0))
            continue;   /* a parameter added later: at its default it leaves the text as it was */
        if (d->type == SW_INT)
            len += (size_t)snprintf(buf + len, size - len, "%s=%lld;", d->name, v[p].i);
        else if (d->type == SW_REAL)
            len += (size_t)snprintf(buf + len, size - len, "%s=%.17g;", d->name, v[p].r);
        else {
            len += (size_t)snprintf(buf + len, size - len, "%s=", d->name);
            for (const char *s = v[p].s; *s && len + 3 < size; ++s) {
                if (*s == '\\' || *s == ';' || *s == '=')
                    buf[len++] = '\\';
                buf[len++] = *s;
            }
            len += (size_t)snprintf(buf + len, size - len, ";");
        }
    }
    return len;
}

/* Every task of the lazy table lazy against row id of the table. */
static int random_access(const sw_tasks *table, const sw_tasks *lazy, uint64_t *spec_hash)
{
    const sw_kind *kind = table->kind;
    const sw_space *s = lazy->space;
    uint64_t spec = fnv1a(kind->name, strlen(kind->name), FNV_OFFSET);
    spec = fnv1a_u64_le(table->master_seed, spec);
    spec = fnv1a_u64_le(table->n_tasks, spec);
    int ok = 1;
    for (size_t id = 0; id < table->n_tasks && ok; ++id) {
        sw_value v[SW_MAX_PARAMS];
        char want[4096], got[4096], text[4200];
        sw_space_params(s, id, v);
        canonical_of(kind, sw_task_params(table, id), want, sizeof want);
        size_t need = sw_space_canonical(s, id, got, sizeof got);
        size_t len = (size_t)snprintf(text, sizeof text, "%s:%s", kind->name, want);
        uint64_t h = ssm_mix64(fnv1a(text, len, FNV_OFFSET));
        ok = same_values(kind, v, sw_task_params(table, id)) && strcmp(want, got) == 0 && need == strlen(want) &&
             h == table->hash[id] && sw_space_hash(s, id) == h && sw_task_hash(lazy, id) == h &&
             sw_task_seed(lazy, id) == ssm_mix64(table->master_seed ^ h) && table->seed[id] == sw_task_seed(lazy, id) &&
             table->cost[id] == kind->cost(v);
        if (!ok)
            fprintf(stderr, "task %zu: want %s\n           got  %s\n", id, want, got);
        spec = fnv1a_u64_le(h, spec);
    }
    *spec_hash = ssm_mix64(spec);
    return ok;
}

/* A walk over shard index of count against the table's rows. */
static int walk_shard(const sw_tasks *table, const sw_tasks *lazy, uint64_t index, uint64_t count)
{
    sw_space_walk w;
    ssm_error err;
    if (sw_space_walk_start(&w, lazy->space, index, count, table->n_tasks, 1, &err) != SSM_OK)
        return 0;
    int ok = 1;
    size_t visited = 0;
    uint64_t last_combo = UINT64_MAX;
    while (ok && sw_space_walk_next(&w)) {
        const uint64_t id = index + visited * count;
        const uint64_t combo = id / table->repeats;
        ok = w.id == id && same_values(table->kind, w.values, sw_task_params(table, id)) &&
             w.hash == table->hash[id] && w.seed == table->seed[id] && w.combo == combo &&
             w.new_combo == (combo != last_combo);
        last_combo = combo;
        ++visited;
    }
    sw_space_walk_end(&w);
    return ok && visited == sw_shard_size(table->n_tasks, index, count);
}

/* A cursor moved to rows in a scrambled order (neighbours, jumps back and
 * forth) against the table. */
static int cursor_jumps(const sw_tasks *table, const sw_tasks *lazy)
{
    sw_task_cursor c;
    ssm_error err;
    if (sw_task_cursor_start(&c, lazy, &err) != SSM_OK)
        return 0;
    int ok = 1;
    const size_t n = table->n_tasks;
    for (size_t k = 0; k < 3 * n && ok; ++k) {
        size_t row = k < n ? k : (size_t)((k * UINT64_C(2654435761)) % n);
        if (k % 7 == 3)
            row = n - 1 - row % n;
        sw_task_cursor_at(&c, row);
        ok = same_values(table->kind, c.values, sw_task_params(table, row)) && c.hash == table->hash[row] &&
             c.seed == table->seed[row];
    }
    sw_task_cursor_end(&c);
    return ok;
}

static void check_spec(const char *name, const char *path)
{
    sw_tasks table, lazy;
    char *text, *text2;
    ssm_error err;
    if (sw_spec_load(path, &ex_registry, &table, &text, &err) != SSM_OK) {
        CHECK(0, "%s: %s", name, err.message);
        return;
    }
    if (sw_spec_load_lazy(path, &ex_registry, &lazy, &text2, &err) != SSM_OK) {
        CHECK(0, "%s (lazy): %s", name, err.message);
        sw_tasks_free(&table);
        free(text);
        return;
    }
    uint64_t spec_hash;
    int ok = lazy.values == NULL && lazy.hash == NULL && lazy.n_tasks == table.n_tasks &&
             lazy.spec_hash == table.spec_hash && random_access(&table, &lazy, &spec_hash) &&
             spec_hash == table.spec_hash;
    for (uint64_t count = 1; ok && count <= 5; count += 2)
        for (uint64_t index = 0; ok && index < count; ++index)
            ok = walk_shard(&table, &lazy, index, count);
    ok = ok && walk_shard(&table, &lazy, 0, table.repeats);   /* the combinations */
    ok = ok && (table.n_tasks > 2000 || cursor_jumps(&table, &lazy));
    CHECK(ok, "%s: %zu tasks computed from their ids as in the table; spec hash %016llx", name, table.n_tasks,
          (unsigned long long)table.spec_hash);
    sw_tasks_free(&table);
    sw_tasks_free(&lazy);
    free(text);
    free(text2);
}

/* The lazy table of a shard computes what the shard of the table holds. */
static void lazy_shard(void)
{
    const char *spec = "kind: mf\nrepeats: 4\naxes:\n  init: [s4d-inv, lin]\n  N: [8, 16, 32]\n";
    sw_tasks table, lazy;
    ssm_error err;
    if (sw_spec_parse("t.yaml", spec, strlen(spec), &ex_registry, &table, &err) ||
        sw_spec_parse_lazy("t.yaml", spec, strlen(spec), &ex_registry, &lazy, &err)) {
        CHECK(0, "parse: %s", err.message);
        return;
    }
    int ok = sw_tasks_select_shard(&table, 2, 5, &err) == SSM_OK && sw_tasks_select_shard(&lazy, 2, 5, &err) == SSM_OK &&
             lazy.n_tasks == table.n_tasks && lazy.n_tasks == 5;
    for (size_t row = 0; ok && row < lazy.n_tasks; ++row) {
        sw_value buf[SW_MAX_PARAMS];
        char a[512], b[512];
        sw_task_canonical(&table, row, a, sizeof a);
        sw_task_canonical(&lazy, row, b, sizeof b);
        ok = sw_task_id(&lazy, row) == 2 + 5 * row && sw_task_id(&table, row) == sw_task_id(&lazy, row) &&
             sw_task_hash(&lazy, row) == table.hash[row] && sw_task_seed(&lazy, row) == table.seed[row] &&
             same_values(lazy.kind, sw_task_values(&lazy, row, buf), sw_task_params(&table, row)) && strcmp(a, b) == 0;
    }
    CHECK(ok && sw_tasks_materialize(&lazy, &err) == SSM_OK && lazy.global_id && lazy.global_id[4] == 22 &&
              lazy.hash[3] == table.hash[3] && lazy.cost[1] == table.cost[1],
          "a lazy shard 2/5: rows 2, 7, ..., 22 as the table's shard, also once materialized");
    CHECK(sw_tasks_select_shard(&lazy, 0, 2, &err) == SSM_EINVAL, "a shard of a lazy shard is refused: %s",
          err.message);
    sw_tasks_free(&table);
    sw_tasks_free(&lazy);
}

int main(void)
{
    int small = 1;
    for (size_t k = 0; k < ex_registry.n_kinds; ++k)
        small &= ex_registry.kinds[k]->n_params <= SW_MAX_PARAMS;
    CHECK(small, "every kind has at most SW_MAX_PARAMS = %d parameters", SW_MAX_PARAMS);

    const char *top = getenv("TOP_SRCDIR") ? getenv("TOP_SRCDIR") : ".";
    FILE *list = fopen(ref_path("identity/plans.list"), "r");
    CHECK(list != NULL, "open %s", ref_path("identity/plans.list"));
    char line[4096];
    int specs = 0;
    while (list && fgets(line, sizeof line, list)) {
        char name[256], spec[2048], path[4096];
        if (line[0] == '#' || sscanf(line, "%255s %2047s", name, spec) != 2)
            continue;
        snprintf(path, sizeof path, "%s/%s", top, spec);
        check_spec(name, path);
        ++specs;
    }
    if (list)
        fclose(list);
    CHECK(specs >= 30, "%d specs compared", specs);
    lazy_shard();
    return test_summary("test_space");
}

/* Sweep specs and the task table: enumeration order, defaults, ranges,
 * zips, repeats; canonical text, hashes and seeds recomputed here from
 * their definitions; every file of the bad corpus (tests/specs/bad)
 * refused with the one-line message its first line expects; every
 * example (jobs/examples) and run spec (tests/specs/run) accepted. */
#include "config.h"

#include <dirent.h>
#include <string.h>

#include "ssm/rng.h"
#include "experiments/registry.h"
#include "sweep/spec.h"
#include "testutil.h"

static int parse(const char *text, sw_tasks *t, ssm_error *err)
{
    ssm_error_clear(err);   /* messages print it even on success */
    return sw_spec_parse("test.yaml", text, strlen(text), &ex_registry, t, err) == SSM_OK;
}

static const sw_value *param(const sw_tasks *t, size_t id, const char *name)
{
    return sw_task_params(t, id) + sw_kind_param_index(t->kind, name);
}

/* FNV-1a written out again, so that a change of sw_hash_* shows. */
static uint64_t fnv1a(const void *data, size_t len, uint64_t h)
{
    for (size_t k = 0; k < len; ++k) {
        h ^= ((const unsigned char *)data)[k];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static uint64_t fnv1a_u64_le(uint64_t x, uint64_t h)
{
    unsigned char b[8];
    for (int k = 0; k < 8; ++k)
        b[k] = (unsigned char)(x >> (8 * k));
    return fnv1a(b, 8, h);
}

/* The task and spec hashes of t as their definitions in tasks.h say. */
static int hashes_as_defined(const sw_tasks *t)
{
    const char *kind = t->kind->name;
    uint64_t spec = fnv1a(kind, strlen(kind), UINT64_C(0xcbf29ce484222325));
    spec = fnv1a_u64_le(t->master_seed, spec);
    spec = fnv1a_u64_le(t->n_tasks, spec);
    for (size_t id = 0; id < t->n_tasks; ++id) {
        char text[4096];
        size_t len = (size_t)snprintf(text, sizeof text, "%s:", kind);
        len += sw_task_canonical(t, id, text + len, sizeof text - len);
        uint64_t h = ssm_mix64(fnv1a(text, len, UINT64_C(0xcbf29ce484222325)));
        if (h != t->hash[id] || t->seed[id] != ssm_mix64(t->master_seed ^ h))
            return 0;
        spec = fnv1a_u64_le(h, spec);
    }
    return t->spec_hash == ssm_mix64(spec);
}

static int sorted_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void hashing(void)
{
    CHECK(sw_hash_bytes("", 0, SW_HASH_INIT) == ssm_mix64(SW_HASH_INIT) &&
              sw_hash_bytes("a", 1, SW_HASH_INIT) == ssm_mix64(UINT64_C(0xaf63dc4c8601ec8c)) &&
              sw_hash_bytes("foobar", 6, SW_HASH_INIT) == ssm_mix64(UINT64_C(0x85944171f73967e8)),
          "sw_hash_bytes = mix64 of FNV-1a (reference vectors)");
    CHECK(sw_hash_bytes("foobar", 6, SW_HASH_INIT) == ssm_mix64(sw_hash_update("bar", 3, sw_hash_update("foo", 3, SW_HASH_INIT))),
          "sw_hash_update streams");

    sw_tasks t;
    ssm_error err;
    char canon[256];
    if (!parse("kind: noop\nrepeats: 2\nfixed: {value: 0.1, length: 3}\n", &t, &err)) {
        CHECK(0, "noop spec: %s", err.message);
        return;
    }
    size_t need = sw_task_canonical(&t, 1, canon, sizeof canon);
    CHECK(strcmp(canon, "value=0.10000000000000001;sleep=0;fail=0;length=3;repeat=1;") == 0 && need == strlen(canon),
          "canonical text: every parameter in table order, reals %%.17g (%s)", canon);
    CHECK(sw_task_canonical(&t, 1, canon, 8) == need && strcmp(canon, "value=0") == 0 &&
              sw_task_canonical(&t, 1, NULL, 0) == need,
          "canonical text truncates and still says the length it needs");
    CHECK(hashes_as_defined(&t), "task hashes, seeds and spec hash as defined");
    sw_tasks_free(&t);

    CHECK(parse("kind: mf\nfixed: {file: 'a;b=c\\d'}\n", &t, &err), "string with separators: %s", err.message);
    sw_task_canonical(&t, 0, canon, sizeof canon);
    CHECK(strstr(canon, ";file=a\\;b\\=c\\\\d;") != NULL, "separators escaped in the canonical text (%s)", canon);
    CHECK(hashes_as_defined(&t), "hash of an escaped string as defined");
    sw_tasks_free(&t);
    sw_tasks_free(&t);   /* zeroed: a second free is harmless */
}

static void enumeration(void)
{
    sw_tasks t, u;
    ssm_error err;
    const char *spec = "kind: mf\nname: demo\nseed: 5\nrepeats: 2\nfixed: {method: finite, T: 2048}\n"
                       "axes:\n  init: [s4d-inv, lin]\n  N: [8, 16, 32]\n"
                       "zip:\n  - {tau_max: [100, 200], dt: [0.01, 0.02]}\n";
    if (!parse(spec, &t, &err)) {
        CHECK(0, "good spec parses: %s", err.message);
        return;
    }
    CHECK(t.n_tasks == 2 * 3 * 2 * 2 && t.repeats == 2 && t.master_seed == 5 && strcmp(t.name, "demo") == 0 &&
              strcmp(t.kind->name, "mf") == 0,
          "task count = product of axes x repeats (%zu), name, seed", t.n_tasks);
    CHECK(t.n_axes == 3 && strcmp(t.axes[0].names, "init") == 0 && strcmp(t.axes[0].values, "s4d-inv, lin") == 0 &&
              t.axes[1].n_values == 3 && strcmp(t.axes[1].values, "8, 16, 32") == 0 &&
              strcmp(t.axes[2].names, "tau_max+dt") == 0 && strcmp(t.axes[2].values, "100/0.01, 200/0.02") == 0,
          "axes described (%s: %s)", t.n_axes == 3 ? t.axes[2].names : "?", t.n_axes == 3 ? t.axes[2].values : "?");
    /* first axis slowest, repeats fastest: id = ((init*3 + N)*2 + zip)*2 + repeat */
    int order = 1;
    for (size_t id = 0; id < t.n_tasks; ++id) {
        size_t r = id % 2, z = id / 2 % 2, n = id / 4 % 3, i = id / 12;
        order &= param(&t, id, "repeat")->i == (long long)r && param(&t, id, "tau_max")->i == (z ? 200 : 100) &&
                 param(&t, id, "dt")->r == (z ? 0.02 : 0.01) && param(&t, id, "N")->i == (8LL << n) &&
                 strcmp(param(&t, id, "init")->s, i ? "lin" : "s4d-inv") == 0;
    }
    CHECK(order, "nested loops: axes in spec order, then the zip group, repeats innermost");
    CHECK(param(&t, 7, "T")->i == 2048 && strcmp(param(&t, 7, "method")->s, "finite") == 0, "fixed values");
    CHECK(param(&t, 7, "rho")->r == 0.99 && param(&t, 7, "groups")->i == 4 && param(&t, 7, "washout")->i == -1 &&
              strcmp(param(&t, 7, "disc")->s, "zoh") == 0 && strcmp(param(&t, 7, "file")->s, "") == 0,
          "defaults filled in");
    int seeds_ok = 1, distinct = 1, costs = 1;
    for (size_t i = 0; i < t.n_tasks; ++i) {
        seeds_ok &= t.seed[i] == ssm_mix64(5 ^ t.hash[i]);
        costs &= t.cost[i] == t.kind->cost(sw_task_params(&t, i)) && t.cost[i] > 0;
        for (size_t j = 0; j < i; ++j)
            distinct &= t.hash[i] != t.hash[j];
    }
    CHECK(seeds_ok, "seed = mix(master seed ^ task hash)");
    CHECK(costs, "cost = kind->cost(params)");
    CHECK(distinct, "task hashes are distinct");
    CHECK(hashes_as_defined(&t), "hashes as defined");
    CHECK(parse(spec, &u, &err) && u.spec_hash == t.spec_hash &&
              memcmp(u.hash, t.hash, t.n_tasks * sizeof *t.hash) == 0,
          "hashes stable across parses");
    sw_tasks_free(&u);
    const char *changed = "kind: mf\nname: demo\nseed: 5\nrepeats: 2\nfixed: {method: finite, T: 2049}\n"
                          "axes:\n  init: [s4d-inv, lin]\n  N: [8, 16, 32]\n"
                          "zip:\n  - {tau_max: [100, 200], dt: [0.01, 0.02]}\n";
    CHECK(parse(changed, &u, &err) && u.spec_hash != t.spec_hash && u.hash[0] != t.hash[0] &&
              u.seed[0] != t.seed[0],
          "a changed value changes the task hashes, seeds and spec hash");
    sw_tasks_free(&u);
    CHECK(parse("kind: mf\nname: demo\nseed: 6\nrepeats: 2\nfixed: {method: finite, T: 2048}\n"
                "axes:\n  init: [s4d-inv, lin]\n  N: [8, 16, 32]\n"
                "zip:\n  - {tau_max: [100, 200], dt: [0.01, 0.02]}\n", &u, &err) &&
              u.hash[0] == t.hash[0] && u.seed[0] != t.seed[0] && u.spec_hash != t.spec_hash,
          "another master seed: same task hashes, other seeds and spec hash");
    sw_tasks_free(&u);
    /* the same spec with comments, other key order and notation: same hashes */
    const char *reformatted = "# a comment\nkind: mf\nrepeats: 2\nseed: 5\nname: other name\n"
                              "axes:\n  init:\n    - s4d-inv\n    - lin\n  N: [8, 16, 32]\n"
                              "fixed:\n  T: 2.048e3\n  method: finite\n  rho: 0.990\n"
                              "zip:\n  - tau_max: [100, 200]\n    dt: [1e-2, 2e-2]\n";
    CHECK(parse(reformatted, &u, &err) && u.spec_hash == t.spec_hash, "formatting and defaults written out do not "
          "change the spec hash");
    sw_tasks_free(&u);
    /* another axis order: other ids, the same tasks */
    if (parse("kind: mf\nseed: 5\nrepeats: 2\nfixed: {method: finite, T: 2048}\n"
              "zip:\n  - {dt: [0.01, 0.02], tau_max: [100, 200]}\naxes:\n  N: [8, 16, 32]\n  init: [s4d-inv, lin]\n",
              &u, &err)) {
        uint64_t a[24], b[24];
        memcpy(a, t.hash, sizeof a);
        memcpy(b, u.hash, sizeof b);
        qsort(a, 24, sizeof *a, sorted_u64);
        qsort(b, 24, sizeof *b, sorted_u64);
        CHECK(memcmp(a, b, sizeof a) == 0 && u.hash[0] == t.hash[0] && u.hash[4] != t.hash[4] &&
                  u.spec_hash != t.spec_hash,
              "reordered axes: the same task hashes in another order");
        sw_tasks_free(&u);
    } else {
        CHECK(0, "reordered spec: %s", err.message);
    }
    sw_tasks_free(&t);

    CHECK(parse("kind: noop\n", &t, &err) && t.n_tasks == 1 && t.n_axes == 0 && t.repeats == 1 && t.master_seed == 0 &&
              strcmp(t.name, "") == 0,
          "no axes: one task, seed 0, no name");
    sw_tasks_free(&t);
    CHECK(parse("kind: noop\nrepeats: 3\n", &t, &err) && t.n_tasks == 3 && param(&t, 2, "repeat")->i == 2 &&
              t.hash[0] != t.hash[1],
          "repeats alone: tasks differ by repeat");
    sw_tasks_free(&t);
}

static void ranges(void)
{
    sw_tasks t;
    ssm_error err;
    int ok = parse("kind: mf\naxes:\n  dt: {from: 1e-3, to: 1e-1, num: 3, scale: log}\n", &t, &err);
    CHECK(ok && t.n_tasks == 3, "log range: %s", ok ? "" : err.message);
    if (ok && t.n_tasks == 3)
        CHECK(param(&t, 0, "dt")->r == 1e-3 && param(&t, 1, "dt")->r == 1e-2 && param(&t, 2, "dt")->r == 1e-1,
              "log range on decades exact: %.17g %.17g %.17g", param(&t, 0, "dt")->r, param(&t, 1, "dt")->r,
              param(&t, 2, "dt")->r);
    sw_tasks_free(&t);
    if (parse("kind: mf\naxes:\n  dt: {from: 1e-3, to: 1e-1, num: 5, scale: log}\n", &t, &err) && t.n_tasks == 5) {
        CHECK_REL(param(&t, 1, "dt")->r, 0.0031622776601683794, 2.3e-16, "log range 10^-2.5");
        CHECK_REL(param(&t, 3, "dt")->r, 0.031622776601683794, 2.3e-16, "log range 10^-1.5");
        CHECK(strcmp(t.axes[0].values, "0.001, 0.00316228, 0.01, 0.0316228, 0.1") == 0, "range described (%s)",
              t.axes[0].values);
    } else {
        CHECK(0, "five-point log range: %s", err.message);
    }
    sw_tasks_free(&t);
    ok = parse("kind: mf\naxes:\n  N: {from: 16, to: 1024, num: 7, scale: log}\n", &t, &err) && t.n_tasks == 7;
    for (size_t k = 0; ok && k < 7; ++k)
        ok = param(&t, k, "N")->i == (16LL << k);
    CHECK(ok, "integer log range rounds: N = 16, 32, ..., 1024");
    sw_tasks_free(&t);
    CHECK(parse("kind: noop\naxes:\n  value: {from: 0, to: 1, num: 5}\n", &t, &err) && t.n_tasks == 5 &&
              param(&t, 1, "value")->r == 0.25 && param(&t, 2, "value")->r == 0.5 && param(&t, 4, "value")->r == 1,
          "linear range (scale defaults to linear)");
    sw_tasks_free(&t);
    ok = parse("kind: noop\naxes:\n  value: {from: 0, to: 99, num: 100, scale: linear}\n", &t, &err) &&
         t.n_tasks == 100;
    for (size_t k = 0; ok && k < 100; ++k)
        ok = param(&t, k, "value")->r == (double)k;
    CHECK(ok, "linear range 0..99 lands on every integer exactly");
    CHECK(ok && t.axes[0].n_values == 100 && strlen(t.axes[0].values) <= 85 &&
              strcmp(t.axes[0].values + strlen(t.axes[0].values) - 3, "...") == 0,
          "a long axis is shortened: %s", ok ? t.axes[0].values : "");
    sw_tasks_free(&t);
    CHECK(parse("kind: noop\naxes:\n  value: {from: 0, to: 1, num: 11}\n", &t, &err) && param(&t, 3, "value")->r == 0.3 &&
              param(&t, 7, "value")->r == 0.7,
          "linear range 0..1 by tenths: 0.3 and 0.7 as written");
    sw_tasks_free(&t);
    CHECK(parse("kind: noop\naxes:\n  length: {from: 0, to: 10, num: 4}\n", &t, &err) && param(&t, 0, "length")->i == 0 &&
              param(&t, 1, "length")->i == 3 && param(&t, 2, "length")->i == 7 && param(&t, 3, "length")->i == 10,
          "integer linear range rounds to nearest: 0, 3, 7, 10");
    sw_tasks_free(&t);
    CHECK(parse("kind: noop\naxes:\n  value: {from: 2.5, to: 7, num: 1, scale: log}\n", &t, &err) && t.n_tasks == 1 &&
              param(&t, 0, "value")->r == 2.5,
          "num 1 gives from");
    sw_tasks_free(&t);
    CHECK(parse("kind: noop\naxes:\n  value: {from: 1, to: -1, num: 3}\n", &t, &err) && param(&t, 1, "value")->r == 0 &&
              param(&t, 2, "value")->r == -1,
          "a descending range");
    sw_tasks_free(&t);
}

static void values(void)
{
    sw_tasks t;
    ssm_error err;
    int ok = parse("kind: noop\nseed: 18446744073709551615\nrepeats: 1e1\nfixed: {length: 1e3, value: -2.5e-3}\n", &t,
                   &err);
    CHECK(ok && t.master_seed == UINT64_MAX && t.n_tasks == 10 && param(&t, 0, "length")->i == 1000 &&
              param(&t, 0, "value")->r == -2.5e-3,
          "integers in exponent notation, the largest seed%s%s", ok ? "" : ": ", ok ? "" : err.message);
    sw_tasks_free(&t);
    CHECK(parse("kind: mf\nfixed: {washout: 999999999999, N: '64', file: \"x y.csv\"}\n", &t, &err) &&
              param(&t, 0, "washout")->i == 999999999999LL && param(&t, 0, "N")->i == 64 &&
              strcmp(param(&t, 0, "file")->s, "x y.csv") == 0,
          "large integers exact, quoted numbers, strings with spaces");
    sw_tasks_free(&t);
    sw_tasks u;
    CHECK(parse("kind: noop\nfixed: {value: -0.0}\n", &t, &err) && parse("kind: noop\n", &u, &err) &&
              t.hash[0] == u.hash[0],
          "-0 is 0: the same task");
    sw_tasks_free(&t);
    sw_tasks_free(&u);
    CHECK(parse("kind: noop\ndescription: |\n  several\n  lines\nname: 'a: b'\n", &t, &err) &&
              strcmp(t.name, "a: b") == 0,
          "description ignored, name kept");
    sw_tasks_free(&t);

    /* refusals: status, one line, location, nothing left allocated */
    const char *bad = "kind: mf\naxes:\n  N: [8, 16]\n  init: [s4d-inv, nope]\n";
    ssm_status st = sw_spec_parse("x.yaml", bad, strlen(bad), &ex_registry, &t, &err);
    CHECK(st == SSM_EINVAL && strncmp(err.message, "x.yaml:4:19: key 'init': 'nope' is not one of", 45) == 0 &&
              t.values == NULL && t.n_tasks == 0 && t.strings == NULL && t.name == NULL,
          "refusal: FILE:LINE:COL: key, task table left empty (%s)", err.message);
    CHECK(sw_spec_parse("x.yaml", bad, strlen(bad), &ex_registry, &t, NULL) == SSM_EINVAL, "a NULL error is allowed");
    /* the length bounds the text: what follows is not read */
    CHECK(sw_spec_parse("x.yaml", "kind: noop\nkind: mf", 10, &ex_registry, &t, &err) == SSM_OK && t.n_tasks == 1,
          "text is read up to len");
    sw_tasks_free(&t);

    char *text = (char *)"untouched";
    st = sw_spec_load("/nonexistent/spec.yaml", &ex_registry, &t, &text, &err);
    CHECK(st == SSM_EIO && strcmp(err.message, "/nonexistent/spec.yaml: cannot read: No such file or directory") == 0 &&
              text == NULL,
          "missing file: %s", err.message);
    const char *top = getenv("TOP_SRCDIR") ? getenv("TOP_SRCDIR") : ".";
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/specs", top);
    st = sw_spec_load(dir, &ex_registry, &t, &text, &err);
    CHECK(st == SSM_EIO && strstr(err.message, ": cannot read: Is a directory"), "a directory: %s", err.message);
    snprintf(dir, sizeof dir, "%s/jobs/examples/smoke.yaml", top);
    st = sw_spec_load(dir, &ex_registry, &t, &text, &err);
    char verbatim[8192] = "";
    FILE *fp = fopen(dir, "rb");
    size_t got = fp ? fread(verbatim, 1, sizeof verbatim - 1, fp) : 0;
    if (fp)
        fclose(fp);
    CHECK(st == SSM_OK && got > 0 && text && strlen(text) == got && memcmp(text, verbatim, got) == 0,
          "load keeps the text verbatim");
    if (st == SSM_OK) {
        sw_tasks_free(&t);
        free(text);
    }
}

/* The core schema's tags are plain values; others are refused (the bad
 * corpus has those), as is nesting beyond SW_SPEC_MAX_DEPTH, counted
 * before the document is composed. */
static void tags_and_depth(void)
{
    sw_tasks t;
    ssm_error err;
    const char *core = "kind: !!str noop\nfixed: !!map {value: !!float 1.5, length: !!int 3}\n"
                       "axes: !!map\n  sleep: !!seq [0, !!str 0.25]\n";
    CHECK(parse(core, &t, &err) && t.n_tasks == 2 && param(&t, 1, "sleep")->r == 0.25 &&
              param(&t, 0, "value")->r == 1.5,
          "core schema tags are accepted and change nothing%s%s", err.message[0] ? ": " : "", err.message);
    sw_tasks_free(&t);
    char deep[4 * SW_SPEC_MAX_DEPTH + 64];
    for (int depth = SW_SPEC_MAX_DEPTH; depth <= SW_SPEC_MAX_DEPTH + 1; ++depth) {
        /* the root mapping is the first level, depth - 1 lists follow */
        int len = snprintf(deep, sizeof deep, "kind: noop\nx: ");
        for (int k = 1; k < 2 * depth - 1; ++k)
            deep[len++] = k < depth ? '[' : ']';
        deep[len] = '\0';
        parse(deep, &t, &err);
        int refused = strstr(err.message, "test.yaml:2:") && strstr(err.message, "nested deeper than 64 levels");
        CHECK(refused == (depth > SW_SPEC_MAX_DEPTH), "depth %d %s: %s", depth, refused ? "refused" : "passes",
              err.message);
        sw_tasks_free(&t);
    }
}

/* Every spec in dir_name: accepted (expect_ok) or refused with the
 * substring of its "# expect: " first line. */
static void corpus(const char *dir_name, int expect_ok, int min_count)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", getenv("TOP_SRCDIR") ? getenv("TOP_SRCDIR") : ".", dir_name);
    DIR *d = opendir(dir);
    CHECK(d != NULL, "open %s", dir);
    if (!d)
        return;
    struct dirent *e;
    int count = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        char path[8192], expect[256] = "";
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *fp = fopen(path, "r");
        if (fp && fgets(expect, sizeof expect, fp) && strncmp(expect, "# expect: ", 10) == 0) {
            memmove(expect, expect + 10, strlen(expect + 10) + 1);
            expect[strcspn(expect, "\n")] = '\0';
        } else {
            expect[0] = '\0';
        }
        if (fp)
            fclose(fp);
        sw_tasks t;
        char *text;
        ssm_error err;
        ssm_status st = sw_spec_load(path, &ex_registry, &t, &text, &err);
        ++count;
        if (expect_ok) {
            CHECK(st == SSM_OK && t.n_tasks > 0 && hashes_as_defined(&t), "%s: accepted (%zu tasks)%s%s", e->d_name,
                  st ? 0 : t.n_tasks, st ? ": " : "", st ? err.message : "");
        } else {
            CHECK(st == SSM_EINVAL && *expect && strstr(err.message, expect) && !strchr(err.message, '\n') &&
                      strncmp(err.message, path, strlen(path)) == 0 && t.values == NULL && text == NULL,
                  "%s: %s", e->d_name, st ? err.message : "ACCEPTED");
        }
        if (st == SSM_OK) {
            sw_tasks_free(&t);
            free(text);
        }
    }
    closedir(d);
    CHECK(count >= min_count, "%s holds %d specs", dir_name, count);
}

/* The examples expand as their comments say. */
static void examples(void)
{
    static const struct {
        const char *file;
        size_t n_tasks, repeats;
        const char *axes;
    } want[] = {
        {"figure1.yaml", 5, 1, "init"},
        {"mc-vs-n.yaml", 21, 1, "init N"},
        {"spacing.yaml", 30, 1, "init dt imag_scale"},
        {"memory-length.yaml", 18, 1, "init dt T+tau_max"},
        {"smoke.yaml", 16, 2, "init method"},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; ++k) {
        char path[4096], axes[128] = "";
        snprintf(path, sizeof path, "%s/jobs/examples/%s", getenv("TOP_SRCDIR") ? getenv("TOP_SRCDIR") : ".",
                 want[k].file);
        sw_tasks t;
        char *text;
        ssm_error err;
        if (sw_spec_load(path, &ex_registry, &t, &text, &err) != SSM_OK) {
            CHECK(0, "%s: %s", want[k].file, err.message);
            continue;
        }
        for (size_t a = 0; a < t.n_axes; ++a)
            snprintf(axes + strlen(axes), sizeof axes - strlen(axes), "%s%s", a ? " " : "", t.axes[a].names);
        CHECK(t.n_tasks == want[k].n_tasks && t.repeats == want[k].repeats && strcmp(axes, want[k].axes) == 0,
              "%s: %zu tasks, %zu repeats, axes %s", want[k].file, t.n_tasks, t.repeats, axes);
        sw_tasks_free(&t);
        free(text);
    }
}

int main(void)
{
    hashing();
    enumeration();
    ranges();
    values();
    tags_and_depth();
    corpus("tests/specs/bad", 0, 35);
    corpus("jobs/examples", 1, 5);
    corpus("tests/specs/run", 1, 3);
    examples();
    return test_summary("test_spec");
}

/* Sweep specs: enumeration order, defaults, ranges, zips, repeats, hashes
 * and seeds of good specs; every file of the bad corpus (tests/specs/bad)
 * refused with the one-line message its first line expects; every example
 * spec under jobs/examples accepted. */
#include "config.h"

#include <dirent.h>
#include <string.h>

#include "ssm/rng.h"
#include "sweep/spec.h"
#include "testutil.h"

static int parse(const char *text, sw_tasks *t, ssm_error *err)
{
    return sw_spec_parse("test.yaml", text, strlen(text), t, err) == SSM_OK;
}

static const sw_value *param(const sw_tasks *t, size_t id, const char *name)
{
    return sw_task_params(t, id) + sw_kind_param_index(t->kind, name);
}

static void good_specs(void)
{
    sw_tasks t, u;
    ssm_error err;
    const char *spec = "kind: mf\nseed: 5\nrepeats: 2\nfixed: {method: finite, T: 2048}\n"
                       "axes:\n  init: [s4d-inv, lin]\n  N: [8, 16, 32]\n"
                       "zip:\n  - {tau_max: [100, 200], dt: [0.01, 0.02]}\n";
    if (!parse(spec, &t, &err)) {
        CHECK(0, "good spec parses: %s", err.message);
        return;
    }
    CHECK(t.n_tasks == 2 * 3 * 2 * 2, "task count = product of axes x repeats (%zu)", t.n_tasks);
    CHECK(t.n_axes == 3 && strcmp(t.axes[2].names, "tau_max+dt") == 0, "axes described (%s)", t.axes[2].names);
    /* first axis slowest, repeats fastest */
    CHECK(strcmp(param(&t, 0, "init")->s, "s4d-inv") == 0 && strcmp(param(&t, 12, "init")->s, "lin") == 0,
          "first axis varies slowest");
    CHECK(param(&t, 0, "repeat")->i == 0 && param(&t, 1, "repeat")->i == 1, "repeats vary fastest");
    CHECK(param(&t, 2, "tau_max")->i == 200 && param(&t, 2, "dt")->r == 0.02, "zipped values travel together");
    CHECK(param(&t, 4, "N")->i == 16, "N advances after the zip group");
    CHECK(param(&t, 7, "T")->i == 2048 && strcmp(param(&t, 7, "method")->s, "finite") == 0, "fixed values");
    CHECK(param(&t, 7, "rho")->r == 0.99 && param(&t, 7, "groups")->i == 4, "defaults filled in");
    int seeds_ok = 1, distinct = 1;
    for (size_t i = 0; i < t.n_tasks; ++i) {
        seeds_ok &= t.seed[i] == ssm_mix64(5 ^ t.hash[i]);
        for (size_t j = 0; j < i; ++j)
            distinct &= t.hash[i] != t.hash[j];
    }
    CHECK(seeds_ok, "seed = mix(master seed ^ task hash)");
    CHECK(distinct, "task hashes are distinct");
    CHECK(parse(spec, &u, &err) && u.spec_hash == t.spec_hash &&
              memcmp(u.hash, t.hash, t.n_tasks * sizeof *t.hash) == 0, "hashes stable across parses");
    sw_tasks_free(&u);
    const char *changed = "kind: mf\nseed: 5\nrepeats: 2\nfixed: {method: finite, T: 2049}\n"
                          "axes:\n  init: [s4d-inv, lin]\n  N: [8, 16, 32]\n"
                          "zip:\n  - {tau_max: [100, 200], dt: [0.01, 0.02]}\n";
    CHECK(parse(changed, &u, &err) && u.spec_hash != t.spec_hash && u.hash[0] != t.hash[0],
          "a changed value changes the task and spec hashes");
    sw_tasks_free(&u);
    /* the same spec with comments and other formatting: same hashes */
    const char *reformatted = "# a comment\nkind: mf\nrepeats: 2\nseed: 5\n"
                              "axes:\n  init:\n    - s4d-inv\n    - lin\n  N: [8, 16, 32]\n"
                              "fixed:\n  T: 2048\n  method: finite\n"
                              "zip:\n  - tau_max: [100, 200]\n    dt: [1e-2, 2e-2]\n";
    CHECK(parse(reformatted, &u, &err) && u.spec_hash == t.spec_hash, "formatting does not change the spec hash");
    sw_tasks_free(&u);
    sw_tasks_free(&t);

    CHECK(parse("kind: mf\naxes:\n  dt: {from: 1e-3, to: 1e-1, num: 3, scale: log}\n", &t, &err), "log range");
    if (t.n_tasks == 3) {
        CHECK(param(&t, 0, "dt")->r == 1e-3 && param(&t, 2, "dt")->r == 1e-1, "log range ends exact");
        CHECK_REL(param(&t, 1, "dt")->r, 1e-2, 4e-16, "log range midpoint");
    }
    sw_tasks_free(&t);
    CHECK(parse("kind: mf\naxes:\n  N: {from: 16, to: 1024, num: 7, scale: log}\n", &t, &err) && t.n_tasks == 7 &&
              param(&t, 3, "N")->i == 128, "integer log range rounds (N = 16 .. 1024)");
    sw_tasks_free(&t);
    CHECK(parse("kind: noop\naxes:\n  value: {from: 0, to: 1, num: 5}\n", &t, &err) && t.n_tasks == 5 &&
              param(&t, 2, "value")->r == 0.5, "linear range");
    sw_tasks_free(&t);
    CHECK(parse("kind: noop\n", &t, &err) && t.n_tasks == 1, "no axes: one task");
    sw_tasks_free(&t);
    char canon[64];
    CHECK(parse("kind: mf\nfixed: {file: 'a;b=c'}\n", &t, &err) &&
              sw_task_canonical(&t, 0, canon, sizeof canon) > sizeof canon - 1 && strlen(canon) == sizeof canon - 1,
          "canonical text truncates safely");
    sw_tasks_free(&t);
}

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
        ssm_status st = sw_spec_load(path, &t, &text, &err);
        ++count;
        if (expect_ok) {
            CHECK(st == SSM_OK, "%s: accepted (%zu tasks)%s%s", e->d_name, st ? 0 : t.n_tasks, st ? ": " : "",
                  st ? err.message : "");
        } else {
            CHECK(st == SSM_EINVAL && *expect && strstr(err.message, expect) && !strchr(err.message, '\n') &&
                      strncmp(err.message, path, strlen(path)) == 0,
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

int main(void)
{
    good_specs();
    corpus("tests/specs/bad", 0, 30);
    corpus("jobs/examples", 1, 5);
    corpus("tests/specs/run", 1, 3);
    return test_summary("test_spec");
}

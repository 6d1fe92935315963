/* Shards of a task table: sw_tasks_select_shard on a hand-built table;
 * the shard in the journal header (version 2, while a whole spec keeps
 * writing version 1) and the refusal to append with another shard; the
 * shard in the HDF5 file (global ids on the task scales, root
 * attributes); and sw_h5_read, which merge and report use, giving back
 * ids, hashes and records that write the same bytes again. */
#include "config.h"

#include "testutil.h"
#include "sweeptest.h"

#include "sweep/h5out.h"
#include "sweep/journal.h"

#define N 10
#define SPEC_HASH UINT64_C(0x5eed5eed12345678)

/* N noop tasks: value = id, a ramp of id % 4 values */
static sw_tasks *table(void)
{
    sw_tasks *t = hand_tasks("noop", N, SPEC_HASH);
    for (size_t id = 0; id < N; ++id) {
        hand_set(t, id, "value", (double)id, NULL);
        hand_set(t, id, "length", (double)(id % 4), NULL);
    }
    return t;
}

static void table_free(sw_tasks *t)
{
    free(t->global_id);
    hand_tasks_free(t);
}

static void test_select(void)
{
    ssm_error err;
    sw_tasks *t = table();
    uint64_t hash[N], seed[N];
    memcpy(hash, t->hash, sizeof hash);
    memcpy(seed, t->seed, sizeof seed);
    const sw_shard whole = sw_tasks_shard(t);
    CHECK(whole.index == 0 && whole.count == 1 && whole.n_tasks_total == N && sw_task_id(t, 7) == 7,
          "a whole table is shard 0/1 of itself, row = id");
    ssm_status st = sw_tasks_select_shard(t, 1, 3, &err);
    CHECK(st == SSM_OK && t->n_tasks == 3, "shard 1/3 of %d tasks: %zu", N, t->n_tasks);
    int ok = 1;
    for (size_t row = 0; row < t->n_tasks; ++row) {
        uint64_t id = 1 + 3 * row;
        ok &= sw_task_id(t, row) == id && t->hash[row] == hash[id] && t->seed[row] == seed[id] &&
              sw_task_params(t, row)[0].r == (double)id;
    }
    CHECK(ok, "rows 0..2 are tasks 1, 4, 7 with their hashes, seeds and parameters");
    const sw_shard s = sw_tasks_shard(t);
    CHECK(s.index == 1 && s.count == 3 && s.n_tasks_total == N && t->spec_hash == SPEC_HASH,
          "the shard knows what it is; the spec hash stays the whole spec's");
    st = sw_tasks_select_shard(t, 0, 2, &err);
    CHECK(st == SSM_EINVAL, "a shard of a shard is refused: %s", err.message);
    table_free(t);

    t = table();
    CHECK(sw_tasks_select_shard(t, 12, 20, &err) == SSM_OK && t->n_tasks == 0, "shard 12/20 of 10 tasks is empty");
    table_free(t);
    t = table();
    ok = sw_tasks_select_shard(t, 3, 3, &err) == SSM_EINVAL && sw_tasks_select_shard(t, 0, 0, &err) == SSM_EINVAL;
    CHECK(ok && t->n_tasks == N && !t->global_id, "3/3 and 0/0 are refused, the table untouched: %s", err.message);
    table_free(t);
    CHECK(sw_shard_size(10, 0, 3) == 4 && sw_shard_size(10, 2, 3) == 3 && sw_shard_size(10, 9, 20) == 1 &&
              sw_shard_size(10, 12, 20) == 0 && sw_shard_size(0, 0, 1) == 0,
          "shard sizes");
}

static void test_journal(void)
{
    ssm_error err;
    sw_journal *j = NULL;
    sw_journal_header h;
    sw_journal_scan scan;
    sw_tasks *whole = table(), *one = table(), *two = table();
    sw_tasks_select_shard(one, 1, 3, &err);
    sw_tasks_select_shard(two, 2, 3, &err);   /* as many tasks as shard 1 */

    const char *path = scratch("whole.journal");
    int ok = sw_journal_create(path, whole, &j, &err) == SSM_OK && sw_journal_close(j, &err) == SSM_OK &&
             sw_journal_read(path, &h, NULL, NULL, &scan, &err) == SSM_OK;
    CHECK(ok && h.version == SW_JOURNAL_VERSION && h.shard.count == 1 && h.shard.n_tasks_total == N,
          "a whole spec's journal: version %u, shard 0/1", h.version);
    path = scratch("shard.journal");
    ok = sw_journal_create(path, one, &j, &err) == SSM_OK && sw_journal_close(j, &err) == SSM_OK &&
         sw_journal_read(path, &h, NULL, NULL, &scan, &err) == SSM_OK;
    CHECK(ok && h.version == SW_JOURNAL_VERSION && h.shard.index == 1 && h.shard.count == 3 && h.shard.n_tasks_total == N &&
              h.n_tasks == 3,
          "a shard's journal: version %u, shard %llu/%llu of %llu, %llu rows", h.version,
          (unsigned long long)h.shard.index, (unsigned long long)h.shard.count,
          (unsigned long long)h.shard.n_tasks_total, (unsigned long long)h.n_tasks);
    CHECK(sw_journal_open_append(path, one, &j, &err) == SSM_OK && sw_journal_close(j, &err) == SSM_OK,
          "the same shard appends");
    ok = sw_journal_open_append(path, two, &j, &err) == SSM_EINVAL;
    CHECK(ok && !j && strstr(err.message, "--shard 1/3") && strstr(err.message, "--shard 2/3"),
          "another shard of the same size is refused: %s", err.message);
    ok = sw_journal_open_append(path, whole, &j, &err) == SSM_EINVAL;
    CHECK(ok && strstr(err.message, "the whole spec"),
          "the whole spec is refused: %s", err.message);
    remove(scratch("whole.journal"));
    remove(path);
    table_free(whole);
    table_free(one);
    table_free(two);
}

typedef struct {
    sw_record recs[8];
    uint64_t hash[8];
    size_t n;
    size_t curve_len[8];
    double curve[8][4];
} collected;

/* Copies what the reader lends: its records live only during the call. */
static int collect(void *ctx, const sw_record *recs, const uint64_t *hash, size_t n)
{
    collected *c = ctx;
    for (size_t k = 0; k < n && c->n < 8; ++k, ++c->n) {
        c->recs[c->n] = recs[k];
        c->hash[c->n] = hash[k];
        c->curve_len[c->n] = recs[k].result.n_curves ? recs[k].result.curve_len[0] : 0;
        for (size_t j = 0; j < c->curve_len[c->n] && j < 4; ++j)
            c->curve[c->n][j] = recs[k].result.curves[0][j];
        c->recs[c->n].result.scalars = NULL;   /* not ours to keep */
        c->recs[c->n].result.curves = NULL;
        c->recs[c->n].result.curve_len = NULL;
    }
    return 0;
}

static void test_h5(void)
{
    ssm_error err;
    sw_h5 *h = NULL;
    sw_tasks *t = table();
    sw_tasks_select_shard(t, 1, 3, &err);   /* tasks 1, 4, 7: ramps of 1, 0 and 3 values */
    const sw_kind *noop = t->kind;
    const char *path = scratch("shard.h5");
    sw_provenance prov = {"hand.yaml", "kind: noop\n", "test_shard", "2026-01-01T00:00:00Z", "node0", "", 1, NULL};
    /* row 0 done, its ramp [1.5, NaN with the fill's bits]; row 1 failed; row 2 pending */
    size_t len0[1] = {1};
    sw_record recs[2] = {hand_record(noop, 0, SW_DONE, 1.5, len0, NULL),
                         hand_record(noop, 1, SW_FAILED, 0, NULL, "no luck")};
    double *two = malloc(2 * sizeof *two);
    two[0] = 1.5;
    two[1] = NAN;
    sw_result_set_curve(&recs[0].result, 0, two, 2);
    /* the ramp axis is as long as the shard's longest ramp (3), wider rows do not fit */
    ssm_status st = sw_h5_create(path, t, &prov, &h, &err);
    if (st == SSM_OK)
        st = sw_h5_write(h, recs, 2, &err);
    if (h)
        st = sw_h5_close(h, "2026-01-01T00:00:01Z", st == SSM_OK ? &err : NULL) == SSM_OK ? st : SSM_EIO;
    CHECK(st == SSM_OK, "a shard file written%s%s", st ? ": " : "", st ? err.message : "");

    collected c;
    memset(&c, 0, sizeof c);
    sw_h5_info info;
    st = sw_h5_read(path, &ex_registry, &info, 1, collect, &c, &err);
    CHECK(st == SSM_OK && strcmp(info.kind, "noop") == 0 && info.spec_hash == SPEC_HASH && info.n_tasks == 3 &&
              info.shard.index == 1 && info.shard.count == 3 && info.shard.n_tasks_total == N &&
              strcmp(info.spec, "kind: noop\n") == 0 && strcmp(info.spec_path, "hand.yaml") == 0,
          "info: kind %s, %llu rows, shard %llu/%llu of %llu, the spec from /provenance (%s)", info.kind,
          (unsigned long long)info.n_tasks, (unsigned long long)info.shard.index,
          (unsigned long long)info.shard.count, (unsigned long long)info.shard.n_tasks_total,
          st ? err.message : "read");
    sw_h5_info_free(&info);
    CHECK(c.n == 3 && c.recs[0].task == 1 && c.recs[1].task == 4 && c.recs[2].task == 7 && c.hash[0] == t->hash[0] &&
              c.hash[2] == t->hash[2],
          "rows come back with their ids in the whole spec (1, 4, 7) and their hashes");
    CHECK(c.recs[0].status == SW_DONE && c.curve_len[0] == 1 && same_bits(c.curve[0][0], 1.5) &&
              c.recs[0].rank == recs[0].rank && same_bits(c.recs[0].elapsed, recs[0].elapsed) &&
              strcmp(c.recs[0].host, recs[0].host) == 0,
          "the done row: its ramp cut after the last value unlike the fill (%zu of 2), timing and host", c.curve_len[0]);
    CHECK(c.recs[1].status == SW_FAILED && strcmp(c.recs[1].error, "no luck") == 0 && c.recs[2].status == SW_PENDING &&
              c.recs[2].rank == -1,
          "the failed row with its reason, the pending row with the fills");
    memset(&c, 0, sizeof c);
    st = sw_h5_read(path, &ex_registry, &info, 0, collect, &c, &err);
    CHECK(st == SSM_OK && c.n == 3 && c.curve_len[0] == 0,
          "without results the records carry no values");
    sw_h5_info_free(&info);
    st = sw_h5_read(scratch("none.h5"), &ex_registry, &info, 0, NULL, NULL, &err);
    CHECK(st == SSM_EINVAL && strstr(err.message, "none.h5"),
          "a missing file: %s", err.message);
    sw_h5_info_free(&info);

    /* reopening for more writes checks the shard too */
    sw_tasks *other = table();
    sw_tasks_select_shard(other, 2, 3, &err);
    st = sw_h5_open(path, other, &h, &err);
    CHECK(st == SSM_EINVAL && !h && strstr(err.message, "shard 1/3"),
          "sw_h5_open with another shard: %s", err.message);
    CHECK(sw_h5_open(path, t, &h, &err) == SSM_OK && sw_h5_close(h, NULL, &err) == SSM_OK,
          "sw_h5_open with the same shard");
    for (int k = 0; k < 2; ++k)
        sw_record_free(&recs[k]);
    remove(path);
    table_free(t);
    table_free(other);
}

int main(void)
{
    if (scratch_make("test_shard") != 0) {
        perror("mkdtemp");
        return 99;
    }
    test_select();
    test_journal();
    test_h5();
    rmdir(scratch_dir);
    return test_summary("test_shard");
}

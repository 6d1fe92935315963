/* The coordinator's queue (src/sweep/queue.c) against the queue it
 * replaces, written out here: every row to run (pending, or failed with
 * --retry-failed) sorted by decreasing cost, then increasing row; batches
 * from the head and the tail by guided self-scheduling.  On specs with and
 * without repeats, whole and sharded, with random states and random
 * sequences of takes, both give the same rows in the same batches. */
#include "config.h"

#include <string.h>

#include "experiments/registry.h"
#include "ssm/rng.h"
#include "sweep/queue.h"
#include "sweep/record.h"
#include "sweep/spec.h"
#include "testutil.h"

typedef struct {
    double cost;
    size_t row;
} ref_entry;

static int by_cost_then_row(const void *pa, const void *pb)
{
    const ref_entry *a = pa, *b = pb;
    if (a->cost != b->cost)
        return a->cost > b->cost ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

/* The old queue: one entry per row to run, sorted; head and tail indices. */
typedef struct {
    ref_entry *e;
    size_t head, tail;
} ref_queue;

static void ref_init(ref_queue *r, const sw_tasks *t, const unsigned char *state, int retry)
{
    r->e = malloc((t->n_tasks + 1) * sizeof *r->e);
    r->head = r->tail = 0;
    for (size_t row = 0; row < t->n_tasks; ++row)
        if (state[row] == SW_PENDING || (retry && state[row] == SW_FAILED)) {
            sw_value v[SW_MAX_PARAMS];
            r->e[r->tail++] = (ref_entry){t->kind->cost(sw_task_values(t, row, v)), row};
        }
    qsort(r->e, r->tail, sizeof *r->e, by_cost_then_row);
}

static size_t ref_take(ref_queue *r, int tail, double target, size_t max, uint64_t *rows)
{
    size_t n = 0;
    double cost = 0;
    while (r->head < r->tail && n < max && (n == 0 || cost < target)) {
        ref_entry e = tail ? r->e[--r->tail] : r->e[r->head++];
        cost += e.cost;
        rows[n++] = e.row;
    }
    return n;
}

/* One spec, shard, state mix and take sequence: 1 if both queues agree. */
static int compare(const char *spec, uint64_t shard_index, uint64_t shard_count, int retry, uint64_t seed)
{
    sw_tasks t;
    ssm_error err;
    if (sw_spec_parse_lazy("q.yaml", spec, strlen(spec), &ex_registry, &t, &err) != SSM_OK ||
        (shard_count > 1 && sw_tasks_select_shard(&t, shard_index, shard_count, &err) != SSM_OK)) {
        fprintf(stderr, "%s\n", err.message);
        return 0;
    }
    ssm_rng rng;
    ssm_rng_init(&rng, seed, 0, 0);
    unsigned char *state = malloc(t.n_tasks + 1);
    for (size_t row = 0; row < t.n_tasks; ++row) {
        double u = ssm_rng_uniform(&rng);
        state[row] = u < 0.6 ? SW_PENDING : u < 0.8 ? SW_DONE : SW_FAILED;
    }
    sw_queue q;
    ref_queue r;
    ref_init(&r, &t, state, retry);
    int ok = sw_queue_init(&q, &t, state, retry, &err) == SSM_OK && q.left == r.tail;
    uint64_t a[64], b[64];
    while (ok && !sw_queue_empty(&q)) {
        int tail = ssm_rng_uniform(&rng) < 0.3;
        double target = ssm_rng_uniform(&rng) * 4 * q.cost / (double)(q.left + 1);
        size_t max = 1 + (size_t)(ssm_rng_uniform(&rng) * 63);
        size_t n = sw_queue_take(&q, tail, target, max, a), m = ref_take(&r, tail, target, max, b);
        ok = n == m && n > 0 && memcmp(a, b, n * sizeof *a) == 0;
    }
    ok = ok && r.head == r.tail && q.left == 0;
    sw_queue_free(&q);
    free(r.e);
    free(state);
    sw_tasks_free(&t);
    return ok;
}

int main(void)
{
    static const char *const specs[] = {
        /* costs tie within a combination (repeats) and across (init) */
        "kind: mf\nrepeats: 5\naxes:\n  init: [s4d-inv, lin, random]\n  N: [8, 64, 16, 32]\n",
        /* no repeats: one row per combination */
        "kind: mf\naxes:\n  N: {from: 4, to: 200, num: 50}\n  method: [analytic, blaschke, finite]\n",
        /* every cost equal: row order alone */
        "kind: noop\nrepeats: 7\naxes:\n  value: [1, 2, 3, 4, 5, 6]\n",
        /* costs from a zip and repeats */
        "kind: mf\nrepeats: 3\nfixed: {method: finite}\nzip:\n  - {T: [512, 2048, 1024], tau_max: [100, 300, 200]}\n"
        "axes:\n  N: [16, 8]\n",
    };
    static const uint64_t shards[][2] = {{0, 1}, {1, 3}, {0, 2}, {4, 7}, {2, 11}};
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; ++s) {
        int ok = 1, cases = 0;
        for (size_t k = 0; k < sizeof shards / sizeof shards[0]; ++k)
            for (int retry = 0; retry < 2; ++retry)
                for (uint64_t seed = 1; seed <= 20; ++seed, ++cases)
                    ok &= compare(specs[s], shards[k][0], shards[k][1], retry, seed * 1000 + s);
        CHECK(ok, "spec %zu: %d cases (shards, --retry-failed, random states and takes): the same batches", s, cases);
    }
    /* 1 B of state and at most 20 B a row while it is built */
    const char *big = "kind: noop\naxes:\n  value: {from: 1, to: 100000, num: 100000}\n";
    sw_tasks t;
    ssm_error err;
    CHECK(sw_spec_parse_lazy("big.yaml", big, strlen(big), &ex_registry, &t, &err) == SSM_OK, "10^5 tasks");
    unsigned char *state = calloc(t.n_tasks, 1);
    sw_queue q;
    CHECK(sw_queue_init(&q, &t, state, 0, &err) == SSM_OK && q.n_entries == t.n_tasks && q.left == t.n_tasks,
          "a queue of 10^5 combinations");
    uint64_t rows[4096];
    size_t got = 0, n;
    int in_order = 1;
    while ((n = sw_queue_take(&q, 0, 1e300, 4096, rows)) > 0) {
        for (size_t k = 0; k < n; ++k)
            in_order &= rows[k] == got + k;   /* noop costs are equal: row order */
        got += n;
    }
    CHECK(got == t.n_tasks && in_order, "taken in 25 batches of at most 4096, in row order (%zu)", got);
    sw_queue_free(&q);
    free(state);
    sw_tasks_free(&t);
    return test_summary("test_queue");
}

/* Journal mutation fuzzer.  The seed journals are written at test time by
 * the library's own writer (sw_journal_create / append / close), so the
 * fuzzer follows the journal format wherever it goes: a whole spec of
 * kind noop with done, failed and repeated records, a shard, and kind
 * mf with long curves.  Damage in the middle of a journal is skipped
 * frame by frame (format 3), so the fuzzer also checks what the reader
 * says it found: every record visited counted, the valid end inside the
 * file, damage reported with its offset.  Mutated journals go through
 * sw_journal_read; allowed are SSM_OK (with every visited record naming a
 * task of the header, done or failed, as many values as the header's
 * schema) and SSM_EIO / SSM_EINVAL / SSM_ENOMEM with one line.  Then the
 * packed records themselves (sw_record_pack) go through sw_record_unpack,
 * which the checksums otherwise shield from most mutations. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sweeptest.h"
#include "fuzz.h"
#include "sweep/journal.h"
#include "sweep/spec.h"

typedef struct {
    char path[4200];
} journal_ctx;

typedef struct {
    const sw_journal_header *h;
    size_t visited;
    char why[256];
} visit_ctx;

static int check_record(void *vctx, const sw_record *rec)
{
    visit_ctx *v = vctx;
    ++v->visited;
    if (rec->task >= v->h->n_tasks || (rec->status != SW_DONE && rec->status != SW_FAILED))
        snprintf(v->why, sizeof v->why, "a record of task %llu, status %d, in a journal of %llu tasks",
                 (unsigned long long)rec->task, (int)rec->status, (unsigned long long)v->h->n_tasks);
    else if (rec->status == SW_DONE &&
             (rec->result.n_scalars != v->h->n_scalars || rec->result.n_curves != v->h->n_curves))
        snprintf(v->why, sizeof v->why, "a record with %zu scalars and %zu curves, the header says %u and %u",
                 rec->result.n_scalars, rec->result.n_curves, v->h->n_scalars, v->h->n_curves);
    return 0;
}

static int read_journal(void *vctx, const unsigned char *data, size_t len, ssm_rng *rng)
{
    (void)rng;
    journal_ctx *c = vctx;
    FILE *fp = fopen(c->path, "wb");
    if (!fp || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
        fuzz_fail("cannot write %s\n", c->path);
        return -1;
    }
    sw_journal_header h;
    visit_ctx v = {&h, 0, ""};
    sw_journal_scan scan;
    memset(&scan, 0xff, sizeof scan);   /* a field the reader forgets shows */
    ssm_error err;
    err.message[0] = '\0';
    ssm_status st = sw_journal_read(c->path, &h, check_record, &v, &scan, &err);
    if (v.why[0]) {
        fuzz_fail("%s\n", v.why);
        return -1;
    }
    if (st == SSM_OK) {
        if (scan.valid_end < 0 || (size_t)scan.valid_end > len || (scan.torn != 0 && scan.torn != 1) ||
            scan.records != v.visited || (scan.damaged == 0) != (scan.first_damage < 0)) {
            fuzz_fail("valid end %ld of %zu, torn %d, %zu records of %zu visited, %zu damaged from %ld\n",
                      scan.valid_end, len, scan.torn, scan.records, v.visited, scan.damaged, scan.first_damage);
            return -1;
        }
        fuzz_tally(scan.damaged ? "read, damage skipped" : scan.torn ? "read, torn tail"
                   : v.visited                             ? "read"
                                                           : "read, no records");
        return 0;
    }
    if ((st != SSM_EIO && st != SSM_EINVAL && st != SSM_ENOMEM) || !fuzz_one_line(err.message)) {
        fuzz_fail("status %d, message [%s]\n", (int)st, err.message);
        return -1;
    }
    fuzz_tally("refused");
    return 0;
}

static int unpack_record(void *vctx, const unsigned char *data, size_t len, ssm_rng *rng)
{
    (void)vctx;
    (void)rng;
    sw_record rec;
    ssm_error err;
    err.message[0] = '\0';
    ssm_status st = sw_record_unpack(data, len, &rec, &err);
    if (st == SSM_OK) {
        int ok = rec.status == SW_DONE || rec.status == SW_FAILED;
        sw_record_free(&rec);
        fuzz_tally("unpacked");
        if (!ok)
            fuzz_fail("unpacked a record of status %d\n", (int)rec.status);
        return ok ? 0 : -1;
    }
    if ((st != SSM_EIO && st != SSM_ENOMEM) || !fuzz_one_line(err.message)) {
        fuzz_fail("status %d, message [%s]\n", (int)st, err.message);
        return -1;
    }
    fuzz_tally("refused");
    return 0;
}

/* A journal of the spec's tasks with the given records, read back whole;
 * each record packed goes to `packed` too. */
static void seed_journal(const char *spec, uint64_t shard_count, size_t n_records, size_t curve_len,
                         fuzz_corpus *journals, fuzz_corpus *packed)
{
    sw_tasks t;
    ssm_error err;
    sw_journal *j = NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s/seed.journal", fuzz_scratch());
    remove(path);
    if (sw_spec_parse("seed.yaml", spec, strlen(spec), &ex_registry, &t, &err) ||
        (shard_count && sw_tasks_select_shard(&t, 1, shard_count, &err)) ||
        sw_journal_create(path, &t, &j, &err)) {
        fprintf(stderr, "seed journal: %s\n", err.message);
        exit(99);
    }
    for (size_t k = 0; k < n_records; ++k) {
        size_t lens[8];
        for (size_t c = 0; c < t.kind->n_curves && c < 8; ++c)
            lens[c] = (curve_len + 3 * k + c) % (curve_len + 1);
        const uint64_t row = k % t.n_tasks;   /* some tasks twice: the last record wins */
        sw_record r = hand_record(t.kind, row, k % 4 == 3 ? SW_FAILED : SW_DONE, (double)k, lens,
                                  "task failed: a reason of some length, with 'quotes' and UTF-8 \xc3\xa9");
        unsigned char *buf = malloc(sw_record_packed_size(&r));
        if (!buf)
            exit(99);
        fuzz_corpus_add(packed, buf, sw_record_pack(&r, buf));
        free(buf);
        if (sw_journal_append(j, &r, &err)) {
            fprintf(stderr, "seed journal: %s\n", err.message);
            exit(99);
        }
        sw_record_free(&r);
    }
    sw_journal_close(j, &err);
    fuzz_corpus_add_file(journals, path);
    remove(path);
    sw_tasks_free(&t);
}

int main(void)
{
    fuzz_corpus journals = {0}, packed = {0};
    seed_journal("kind: noop\naxes:\n  length: [0, 1, 5, 17]\n  value: [1, 2, 3, 4, 5]\n", 0, 24, 17, &journals,
                 &packed);
    seed_journal("kind: noop\naxes:\n  value: {from: 0, to: 1, num: 30}\n", 3, 12, 3, &journals, &packed);
    seed_journal("kind: mf\nfixed: {tau_max: 40}\naxes:\n  N: [8, 16]\n", 0, 3, 41, &journals, &packed);
    journal_ctx ctx;
    snprintf(ctx.path, sizeof ctx.path, "%s/fuzz.journal", fuzz_scratch());
    const fuzz_target frames = {"fuzz_journal", 0, read_journal, &ctx, 8, 0};
    const fuzz_target records = {"fuzz_journal (records)", 0, unpack_record, NULL, 4, 0};
    int rc = fuzz_main(&frames, &journals);
    rc |= fuzz_main(&records, &packed);
    fuzz_corpus_free(&journals);
    fuzz_corpus_free(&packed);
    return rc;
}

#include "config.h"

#include "resume.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "coordinator.h"

#define NONE SIZE_MAX

static int file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* A note for the user through the caller's reporter. */
#define say(rq, ...) sw_say((rq)->say, (rq)->say_ctx, 0, __VA_ARGS__)

/* ---- which record each row takes -------------------------------------------- */

typedef struct {
    uint64_t hash;
    size_t row;
} hash_row;

static int by_hash_then_row(const void *pa, const void *pb)
{
    const hash_row *a = pa, *b = pb;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

static int by_hash(const void *pa, const void *pb)
{
    const hash_row *a = pa, *b = pb;
    return (a->hash > b->hash) - (a->hash < b->hash);
}

typedef struct {
    size_t winner;   /* ordinal of a record */
    size_t row;
} pick;

static int by_winner(const void *pa, const void *pb)
{
    const pick *a = pa, *b = pb;
    if (a->winner != b->winner)
        return a->winner < b->winner ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

typedef struct {
    const sw_tasks *t;
    sw_task_cursor cur;        /* hashes of rows, from their ids */
    int by_hash;               /* a record serves every row of its hash */
    int legacy, trusted;       /* records without hashes; vouched for by the spec hash */
    hash_row *index;           /* rows by hash (by_hash) */
    size_t *winner;            /* per row: ordinal of the record it takes, NONE */
    size_t ordinal;            /* records seen */
    size_t unusable;           /* records no row of this spec can take */
    /* second pass */
    pick *picks;
    size_t n_picks, next_pick;
    sw_outputs *out;
    sw_h5 *h5;
    sw_journal *journal;       /* the rewritten journal, or NULL */
    sw_record *batch;          /* records for the next HDF5 write (H5_ROWS) */
    size_t n_batch;
    unsigned char *packed;     /* one record packed, to copy it into the batch */
    size_t cap_packed;
    ssm_status st;
    ssm_error *err;
} reuse;

/* Rows written to the rebuilt file at once: a write per row costs HDF5's
 * per-call overhead (selections, ids) for every column, ten times a row's
 * share of a batch. */
#define H5_ROWS 1024

/* The hash of row's task. */
static uint64_t row_hash(reuse *u, size_t row)
{
    sw_task_cursor_at(&u->cur, row);
    return u->cur.hash;
}

/* The content hash a record vouches for; 0 if it vouches for none. */
static uint64_t record_hash(reuse *u, const sw_record *rec)
{
    if (!u->legacy)
        return rec->hash;
    return u->trusted && rec->task < u->t->n_tasks ? row_hash(u, (size_t)rec->task) : 0;
}

/* A done record must have this kind's results to be written back. */
static int fits_kind(const sw_kind *kind, const sw_record *rec)
{
    return rec->status == SW_FAILED ||
           (rec->result.n_scalars == kind->n_scalars && rec->result.n_curves == kind->n_curves);
}

static int plan_record(void *ctx, const sw_record *rec)
{
    reuse *u = ctx;
    const sw_tasks *t = u->t;
    size_t k = u->ordinal++, taken = 0;
    uint64_t hash = record_hash(u, rec);
    if (hash && fits_kind(t->kind, rec)) {
        if (!u->by_hash) {
            if (rec->task < t->n_tasks && row_hash(u, (size_t)rec->task) == hash) {
                u->winner[rec->task] = k;   /* the last record of a task wins */
                taken = 1;
            }
        } else {
            hash_row key = {hash, 0};
            hash_row *at = bsearch(&key, u->index, t->n_tasks, sizeof *at, by_hash);
            /* bsearch lands on any row of the hash: back to the first */
            while (at && at > u->index && at[-1].hash == hash)
                --at;
            for (; at && at < u->index + t->n_tasks && at->hash == hash; ++at, ++taken)
                u->winner[at->row] = k;
        }
    }
    u->unusable += !taken;
    return 0;
}

/* The batch into the rebuilt file. */
static ssm_status flush_batch(reuse *u)
{
    ssm_status st = u->n_batch ? sw_h5_write(u->h5, u->batch, u->n_batch, u->err) : SSM_OK;
    for (size_t k = 0; k < u->n_batch; ++k)
        sw_record_free(&u->batch[k]);
    u->n_batch = 0;
    return st;
}

/* A copy of rec (the reader frees its own) into the batch. */
static ssm_status batch_record(reuse *u, const sw_record *rec)
{
    if (!u->batch && !(u->batch = malloc(H5_ROWS * sizeof *u->batch)))
        return ssm_fail(u->err, SSM_ENOMEM, "out of memory rebuilding the results file");
    ssm_status st = sw_record_copy(&u->batch[u->n_batch], rec, &u->packed, &u->cap_packed, u->err);
    if (st != SSM_OK)
        return st;
    return ++u->n_batch == H5_ROWS ? flush_batch(u) : SSM_OK;
}

/* Second pass: each chosen record, relabelled with its row, into the
 * rebuilt file (and the rewritten journal). */
static int write_record(void *ctx, const sw_record *rec)
{
    reuse *u = ctx;
    size_t k = u->ordinal++;
    while (u->next_pick < u->n_picks && u->picks[u->next_pick].winner == k) {
        sw_record r = *rec;   /* shallow: the values stay the reader's */
        r.task = u->picks[u->next_pick++].row;
        r.hash = row_hash(u, (size_t)r.task);
        if (u->journal && (u->st = sw_journal_append(u->journal, &r, u->err)) != SSM_OK)
            return 1;
        if ((u->st = batch_record(u, &r)) != SSM_OK)
            return 1;
        u->out->state[r.task] = (unsigned char)r.status;
        u->out->n_done += r.status == SW_DONE;
        u->out->n_failed += r.status == SW_FAILED;
    }
    return 0;
}

static void reuse_free(reuse *u)
{
    for (size_t k = 0; k < u->n_batch; ++k)
        sw_record_free(&u->batch[k]);
    free(u->batch);
    free(u->packed);
    sw_task_cursor_end(&u->cur);
    free(u->index);
    free(u->winner);
    free(u->picks);
}

static ssm_status reuse_init(reuse *u, const sw_tasks *t, int by_hash, ssm_error *err)
{
    memset(u, 0, sizeof *u);
    u->t = t;
    u->by_hash = by_hash;
    u->err = err;
    size_t n = t->n_tasks ? t->n_tasks : 1;
    u->winner = malloc(n * sizeof *u->winner);
    u->index = by_hash ? malloc(n * sizeof *u->index) : NULL;
    if (!u->winner || (by_hash && !u->index))
        return ssm_fail(err, SSM_ENOMEM, "out of memory for %zu tasks", t->n_tasks);
    ssm_status st = sw_task_cursor_start(&u->cur, t, err);
    if (st)
        return st;
    for (size_t row = 0; row < t->n_tasks; ++row) {
        u->winner[row] = NONE;
        if (by_hash)
            u->index[row] = (hash_row){row_hash(u, row), row};
    }
    if (by_hash)
        qsort(u->index, t->n_tasks, sizeof *u->index, by_hash_then_row);
    return SSM_OK;
}

/* The chosen (record, row) pairs in record order, for the second pass. */
static ssm_status reuse_order(reuse *u, ssm_error *err)
{
    size_t n = 0;
    u->picks = malloc((u->t->n_tasks ? u->t->n_tasks : 1) * sizeof *u->picks);
    if (!u->picks)
        return ssm_fail(err, SSM_ENOMEM, "out of memory for %zu tasks", u->t->n_tasks);
    for (size_t row = 0; row < u->t->n_tasks; ++row)
        if (u->winner[row] != NONE)
            u->picks[n++] = (pick){u->winner[row], row};
    qsort(u->picks, n, sizeof *u->picks, by_winner);
    u->n_picks = n;
    u->next_pick = 0;
    u->ordinal = 0;
    return SSM_OK;
}

/* ---- the journal as found --------------------------------------------------- */

typedef struct {
    int readable;              /* the header could be read */
    sw_journal_header have;
    sw_journal_scan scan;
    sw_journal_part_list parts;   /* OUT.h5.part<k>.journal of a run with part files */
} found_journal;

/* Whether have and want describe the same tasks (the format version
 * aside). */
static int same_spec(const sw_journal_header *have, const sw_journal_header *want)
{
    return have->spec_hash == want->spec_hash && have->n_tasks == want->n_tasks && strcmp(have->kind, want->kind) == 0 &&
           have->n_scalars == want->n_scalars && have->n_curves == want->n_curves &&
           have->shard.index == want->shard.index && have->shard.count == want->shard.count;
}

/* "journal X was written for ...": why a plain --resume cannot continue
 * it.  No option is suggested: --force would drop the results of tasks
 * that are not in this spec, which is for the user to decide. */
static ssm_status refuse_mismatch(const char *path, const sw_journal_header *have, const sw_journal_header *want,
                                  ssm_error *err)
{
    char a[48] = "the whole spec", b[48] = "the whole spec";
    if (have->shard.index != want->shard.index || have->shard.count != want->shard.count) {
        if (have->shard.count > 1)
            snprintf(a, sizeof a, "--shard %llu/%llu", (unsigned long long)have->shard.index,
                     (unsigned long long)have->shard.count);
        if (want->shard.count > 1)
            snprintf(b, sizeof b, "--shard %llu/%llu", (unsigned long long)want->shard.index,
                     (unsigned long long)want->shard.count);
        return ssm_fail(err, SSM_EINVAL,
                        "--resume: journal %s was written for %s, this run is %s: resume with the same --shard", path, a,
                        b);
    } else if (strcmp(have->kind, want->kind) != 0) {
        return ssm_fail(err, SSM_EINVAL, "--resume: journal %s was written for kind %s, the spec is of kind %s", path,
                        have->kind, want->kind);
    } else if (have->n_scalars != want->n_scalars || have->n_curves != want->n_curves) {
        return ssm_fail(err, SSM_EINVAL,
                        "--resume: journal %s holds %u scalars and %u curves per task, kind %s now has %u and %u "
                        "(written by another ssmsweep version?)", path, have->n_scalars, have->n_curves, want->kind, want->n_scalars,
            want->n_curves);
    } else {
        return ssm_fail(err, SSM_EINVAL,
                        "--resume: journal %s was written for another spec (spec hash %016llx, %llu tasks; this spec "
                        "%016llx, %llu tasks): resume it with the spec it was written for", path, (unsigned long long)have->spec_hash,
            (unsigned long long)have->n_tasks, (unsigned long long)want->spec_hash,
            (unsigned long long)want->n_tasks);
    }
}

static void report_damage(const sw_resume_request *rq, const char *path, const sw_journal_scan *s, size_t kept)
{
    say(rq, "journal %s: %zu damaged region%s (%ld bytes from byte %ld, about %zu record%s) skipped; %zu records kept, "
        "the tasks whose records were lost are computed again", path, s->damaged, s->damaged == 1 ? "" : "s",
        s->damaged_bytes, s->first_damage, s->frames_lost, s->frames_lost == 1 ? "" : "s", kept);
}

/* ---- opening ---------------------------------------------------------------- */

static void discard(sw_outputs *out, const sw_outfiles *f)
{
    if (out->h5)
        sw_h5_close(out->h5, NULL, NULL);
    out->h5 = NULL;
    sw_journal_abandon(out->journal);
    out->journal = NULL;
    unlink(f->rebuild);
    unlink(f->journal_rewrite);
}

/* Drops what was opened; err says why (*err = *why unless it is err). */
static ssm_status fail(sw_outputs *out, const sw_outfiles *f, const ssm_error *why, ssm_error *err)
{
    if (err && err != why)
        *err = *why;
    discard(out, f);
    return why->code;
}

/* A fresh journal and results file. */
static ssm_status create_fresh(const sw_resume_request *rq, sw_outputs *out, ssm_error *err)
{
    const sw_outfiles *f = rq->files;
    ssm_error why;
    if (rq->force && unlink(f->output) != 0 && errno != ENOENT) {
        ssm_fail(&why, SSM_EIO, "cannot replace %s: %s", f->output, strerror(errno));
        return fail(out, f, &why, err);
    }
    if (sw_journal_create(f->journal, rq->tasks, &out->journal, &why) != SSM_OK)
        return fail(out, f, &why, err);
    if (sw_h5_create(f->output, rq->tasks, rq->prov, &out->h5, &why) != SSM_OK) {
        ssm_status code = fail(out, f, &why, err);
        unlink(f->journal);   /* it held nothing yet */
        return code;
    }
    return SSM_OK;
}

/* Whether the records of a journal with header h can be reused at all,
 * and how: records without hashes are vouched for only by the spec hash. */
static int usable_journal(reuse *u, const sw_journal_header *h)
{
    const sw_tasks *t = u->t;
    u->legacy = h->version < 3;
    u->trusted = h->spec_hash == t->spec_hash && h->n_tasks == t->n_tasks &&
                 h->shard.index == sw_tasks_shard(t).index && h->shard.count == sw_tasks_shard(t).count;
    /* a task's seed is a function of the master seed and its hash: under
     * another master seed the same parameters draw other numbers, so
     * nothing carries over (the spec hash covers the seed; older journals
     * do not record it and are trusted only under the same spec hash) */
    return u->legacy || h->master_seed == t->master_seed;
}

/* Visits the records of the main journal, then of every part journal, in
 * that order (the ordinals of plan_record and write_record run on across
 * them: a task's last record wins). */
static ssm_status read_all(const sw_resume_request *rq, const found_journal *j, reuse *u,
                           int (*visit)(void *, const sw_record *), ssm_error *err)
{
    sw_journal_header h;
    for (size_t k = 0; k <= j->parts.n; ++k) {
        const char *path = k == 0 ? rq->files->journal : j->parts.path[k - 1];
        if (k == 0 && !j->readable)
            continue;
        ssm_status st = sw_journal_read(path, &h, NULL, NULL, NULL, err);
        if (st == SSM_OK && !usable_journal(u, &h))
            continue;
        if (st == SSM_OK)
            st = sw_journal_read(path, &h, visit, u, NULL, err);
        if (st != SSM_OK || u->st != SSM_OK)
            return st != SSM_OK ? st : u->st;
    }
    return SSM_OK;
}

/* The journals there, read once to choose the records to keep. */
static ssm_status plan_reuse(const sw_resume_request *rq, const found_journal *j, reuse *u, ssm_error *err)
{
    ssm_status st = reuse_init(u, rq->tasks, rq->force, err);
    if (st)
        return st;
    st = read_all(rq, j, u, plan_record, err);
    return st ? st : reuse_order(u, err);
}

/* Rebuilds OUT.h5 (and, if rewrite, the journal) from the chosen records. */
static ssm_status rebuild(const sw_resume_request *rq, const found_journal *j, reuse *u, int rewrite,
                          sw_outputs *out, ssm_error *err)
{
    const sw_outfiles *f = rq->files;
    ssm_error why;
    unlink(f->rebuild);
    unlink(f->journal_rewrite);
    if (rewrite && sw_journal_create(f->journal_rewrite, rq->tasks, &out->journal, &why) != SSM_OK)
        return fail(out, f, &why, err);
    if (!rewrite && sw_journal_open_append(f->journal, rq->tasks, &out->journal, &why) != SSM_OK)
        return fail(out, f, &why, err);
    if (sw_h5_create(f->rebuild, rq->tasks, rq->prov, &out->h5, &why) != SSM_OK)
        return fail(out, f, &why, err);
    u->out = out;
    u->h5 = out->h5;
    u->journal = rewrite ? out->journal : NULL;
    u->st = SSM_OK;
    if (u->n_picks) {
        ssm_status st = read_all(rq, j, u, write_record, &why);
        if (st == SSM_OK)
            st = u->st = flush_batch(u);
        if (st == SSM_OK && u->st != SSM_OK)
            return fail(out, f, u->err, err);
        if (st != SSM_OK)
            return fail(out, f, st == u->st ? u->err : &why, err);
    }
    /* the journal first: from here on it is the authority, and a kill
     * before OUT.h5 is in place only means the next resume rebuilds it */
    if (rewrite && sw_journal_replace(out->journal, f->journal, &why) != SSM_OK)
        return fail(out, f, &why, err);
    ssm_status st = sw_h5_close(out->h5, NULL, &why);
    out->h5 = NULL;
    if (st == SSM_OK && j->parts.n)   /* the parts go once both files are durable */
        st = sw_sync_path(f->rebuild, &why);
    if (st == SSM_OK && rename(f->rebuild, f->output) != 0)
        st = ssm_fail(&why, SSM_EIO, "cannot replace %s: %s", f->output, strerror(errno));
    /* a kill among the removals leaves parts whose records the journal
     * holds too: the next reading takes them again, and a task's copies
     * are the same record */
    if (st == SSM_OK && j->parts.n)
        st = sw_journal_parts_remove(f->output, &why);
    if (st == SSM_OK)
        st = sw_h5_open(f->output, rq->tasks, &out->h5, &why);
    if (st != SSM_OK)
        return fail(out, f, &why, err);
    return SSM_OK;
}

/* The journal's header, if it has one; an unreadable one is an error for
 * a plain --resume and means "nothing to keep" for --force. */
static ssm_status look_at_journal(const sw_resume_request *rq, found_journal *j, ssm_error *err)
{
    ssm_error why;
    ssm_status st = sw_journal_read(rq->files->journal, &j->have, NULL, NULL, &j->scan, &why);
    j->readable = st == SSM_OK;
    if (j->readable || rq->force)
        return SSM_OK;
    /* a header that cannot be read is bad input (SSM_EINVAL); a read that failed is I/O */
    return ssm_fail(err, st, "--resume: %s", why.message);
}

/* A plain --resume takes part journals of this very spec only, as it
 * does the main journal. */
static ssm_status check_parts(const sw_resume_request *rq, const found_journal *j, const sw_journal_header *want,
                              ssm_error *err)
{
    for (size_t k = 0; k < j->parts.n && !rq->force; ++k) {
        sw_journal_header h;
        ssm_error why;
        ssm_status st = sw_journal_read(j->parts.path[k], &h, NULL, NULL, NULL, &why);
        if (st != SSM_OK)
            return ssm_fail(err, st, "--resume: %s", why.message);
        if (!same_spec(&h, want))
            return refuse_mismatch(j->parts.path[k], &h, want, err);
    }
    return SSM_OK;
}

/* Checkpoints of tasks the journal records as done are stale: a kill came
 * between the journal's sync and their removal.  They go once the journal
 * is durable (its records may so far be only in the page cache of the
 * killed run); if it cannot be synced they stay, harmless. */
static void remove_stale_checkpoints(const sw_resume_request *rq, const sw_outputs *out)
{
    ssm_error ignored;
    if (out->n_done && sw_journal_sync(out->journal, &ignored) == SSM_OK)
        sw_ckpt_remove_done(rq->files->ckpt, rq->tasks, out->state);
}

/* Continues or rewrites the journal there (and the part journals). */
static ssm_status open_existing(const sw_resume_request *rq, found_journal *j, sw_outputs *out, ssm_error *err)
{
    const sw_outfiles *f = rq->files;
    const sw_tasks *t = rq->tasks;
    sw_journal_header want;
    ssm_error why;
    ssm_status code = look_at_journal(rq, j, err);
    if (code != SSM_OK)
        return code;
    if (sw_journal_header_of(t, &want, &why) != SSM_OK)
        return fail(out, f, &why, err);
    int same_tasks = j->readable && same_spec(&j->have, &want), same = same_tasks && j->have.version == want.version;
    if (rq->resume && j->readable) {
        int shard_differs = j->have.shard.index != want.shard.index || j->have.shard.count != want.shard.count;
        if ((!rq->force && !same_tasks) || shard_differs)
            return refuse_mismatch(f->journal, &j->have, &want, err);
    }
    if ((code = check_parts(rq, j, &want, err)) != SSM_OK)
        return code;
    if (!j->readable && !rq->quiet)
        say(rq, "--force: journal %s cannot be read: nothing of it is kept", f->journal);

    reuse u;
    if ((code = plan_reuse(rq, j, &u, err)) != SSM_OK) {
        reuse_free(&u);
        return code;
    }
    if (j->scan.damaged)
        report_damage(rq, f->journal, &j->scan, j->scan.records);
    /* a journal that cannot simply go on is written anew, and so is one
     * with part journals: each task's record once, the parts absorbed */
    int rewrite = !same || j->scan.damaged || j->parts.n;
    code = rebuild(rq, j, &u, rewrite, out, err);
    if (code == SSM_OK)
        remove_stale_checkpoints(rq, out);
    if (code == SSM_OK && j->parts.n && !rq->quiet)
        say(rq, "%zu part journal%s of a run with --part-files merged into %s and %s", j->parts.n,
            j->parts.n == 1 ? "" : "s", f->journal, f->output);
    if (code == SSM_OK && !same && !rq->quiet) {
        size_t reused = out->n_done + out->n_failed;
        if (!j->readable || j->have.spec_hash != t->spec_hash || j->have.n_tasks != t->n_tasks)
            say(rq, "%s: %zu task%s reused from journal %s (same parameters), %zu to compute", rq->force ? "--force" : "--resume",
                reused, reused == 1 ? "" : "s", f->journal, t->n_tasks - reused);
        else
            say(rq, "journal %s rewritten in format version %d", f->journal, SW_JOURNAL_VERSION);
    }
    reuse_free(&u);
    return code;
}

ssm_status sw_resume_open(const sw_resume_request *rq, sw_outputs *out, ssm_error *err)
{
    const sw_outfiles *f = rq->files;
    found_journal j;
    memset(&j, 0, sizeof j);
    out->journal = NULL;
    out->h5 = NULL;
    out->n_done = out->n_failed = 0;
    ssm_status code = sw_journal_parts(f->output, &j.parts, err);
    if (code != SSM_OK)
        return code;
    int journal_there = file_exists(f->journal);
    const char *there = file_exists(f->output) ? f->output : journal_there ? f->journal
                        : j.parts.n                          ? j.parts.path[0]
                                                             : NULL;
    if (!rq->resume && !rq->force && there)
        code = ssm_fail(err, SSM_EINVAL, "%s already exists: --resume continues it (or write to another -o)", there);
    else if (rq->resume && !journal_there)
        code = ssm_fail(err, SSM_EINVAL, "--resume: no journal %s to resume from", f->journal);
    if (code != SSM_OK) {
        sw_journal_parts_free(&j.parts);
        return code;
    }
    /* what a killed run left behind (we hold the lock: it is nobody's);
     * parts without a main journal (deleted by hand) go with --force */
    unlink(f->rebuild);
    unlink(f->journal_rewrite);
    for (size_t k = 0; !journal_there && k < j.parts.n; ++k)
        unlink(j.parts.path[k]);
    code = journal_there ? open_existing(rq, &j, out, err) : create_fresh(rq, out, err);
    sw_journal_parts_free(&j.parts);
    return code;
}

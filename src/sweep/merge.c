#include "config.h"

#include "merge.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coordinator.h"
#include "h5out.h"
#include "journal.h"
#include "outfiles.h"
#include "spec.h"

typedef struct {
    const sw_tasks *t;          /* the whole spec (lazy) */
    sw_task_cursor cur;         /* its tasks' hashes */
    const char *const *inputs;  /* all of them, */
    const sw_h5_info *info;     /* with what they hold */
    size_t n_inputs;
    const char *path;           /* the input being read */
    sw_shard shard;             /* what it holds */
    unsigned char *seen;        /* a bit per task: a record came from some input */
    sw_h5 *h5;
    sw_journal *journal;
    sw_record *batch;
    size_t cap;
    sw_merge_summary *sum;
    ssm_status st;
    ssm_error *err;
} merge_ctx;

/* A row must be a task of its file's shard of this spec, with the same
 * content, and no other input may have given it. */
static ssm_status check_row(merge_ctx *m, const sw_record *r, uint64_t hash)
{
    const sw_tasks *t = m->t;
    uint64_t id = r->task;
    if (id >= t->n_tasks || id % m->shard.count != m->shard.index)
        return ssm_fail(m->err, SSM_EINVAL, "%s: task %llu is not a task of shard %llu/%llu of its spec", m->path,
                        (unsigned long long)id, (unsigned long long)m->shard.index,
                        (unsigned long long)m->shard.count);
    sw_task_cursor_at(&m->cur, (size_t)id);
    if (hash != m->cur.hash)
        return ssm_fail(m->err, SSM_EINVAL, "%s: task %llu has hash %016llx, the spec's task %llu has %016llx",
                        m->path, (unsigned long long)id, (unsigned long long)hash, (unsigned long long)id,
                        (unsigned long long)m->cur.hash);
    if (m->seen[id / 8] & (1u << (id % 8))) {
        /* the input of its shard gave it before (inputs hold different shards) */
        const char *before = m->path;
        for (size_t k = 0; k < m->n_inputs; ++k)
            if (m->info[k].shard.index == id % m->shard.count)
                before = m->inputs[k];
        return ssm_fail(m->err, SSM_EINVAL, "task %llu is in both %s and %s", (unsigned long long)id, before,
                        m->path);
    }
    return SSM_OK;
}

/* One block of an input: its finished rows go to the journal and, in
 * one write, to the output. */
static int merge_rows(void *ctx, const sw_record *recs, const uint64_t *hash, size_t n)
{
    merge_ctx *m = ctx;
    size_t kept = 0;
    if (n > m->cap) {
        sw_record *bigger = realloc(m->batch, n * sizeof *bigger);
        if (!bigger) {
            m->st = ssm_fail(m->err, SSM_ENOMEM, "out of memory merging %s", m->path);
            return 1;
        }
        m->batch = bigger;
        m->cap = n;
    }
    for (size_t k = 0; k < n; ++k) {
        const sw_record *r = &recs[k];
        if (r->status == SW_PENDING)
            continue;
        m->st = check_row(m, r, hash[k]);
        if (m->st)
            return 1;
        m->seen[r->task / 8] |= (unsigned char)(1u << (r->task % 8));
        m->sum->n_done += r->status == SW_DONE;
        m->sum->n_failed += r->status == SW_FAILED;
        m->batch[kept++] = *r;   /* shallow: the values live until we return */
    }
    for (size_t k = 0; k < kept && m->st == SSM_OK; ++k)
        m->st = sw_journal_append(m->journal, &m->batch[k], m->err);
    /* a record that does not fit the kind's layout came from the input:
     * SSM_EINVAL, as every fault of an input */
    if (m->st == SSM_OK)
        m->st = sw_h5_write(m->h5, m->batch, kept, m->err);
    return m->st != SSM_OK;
}

/* The inputs' headers against each other and against the spec rebuilt
 * from the first one's provenance; fills which shards are there. */
static ssm_status check_inputs(const char *const *inputs, size_t n, const sw_h5_info *info, const sw_tasks *t,
                               unsigned char *present, ssm_error *err)
{
    const sw_h5_info *a = &info[0];
    for (size_t k = 0; k < n; ++k) {
        const sw_h5_info *b = &info[k];
        if (strcmp(b->kind, a->kind) != 0 || b->spec_hash != a->spec_hash)
            return ssm_fail(err, SSM_EINVAL, "%s is from another spec (spec_hash %016llx, %s has %016llx)", inputs[k],
                            (unsigned long long)b->spec_hash, inputs[0], (unsigned long long)a->spec_hash);
        if (b->shard.count != a->shard.count)
            return ssm_fail(err, SSM_EINVAL, "%s is shard %llu/%llu, %s is shard %llu/%llu: shards of different "
                                             "--shard counts do not merge", inputs[k],
                            (unsigned long long)b->shard.index, (unsigned long long)b->shard.count, inputs[0],
                            (unsigned long long)a->shard.index, (unsigned long long)a->shard.count);
        for (size_t j = 0; j < k; ++j)
            if (info[j].shard.index == b->shard.index)
                return ssm_fail(err, SSM_EINVAL, "%s and %s both hold shard %llu/%llu", inputs[j], inputs[k],
                                (unsigned long long)b->shard.index, (unsigned long long)b->shard.count);
        uint64_t want = sw_shard_size(t->n_tasks, b->shard.index, b->shard.count);
        if (b->shard.n_tasks_total != t->n_tasks || b->n_tasks != want)
            return ssm_fail(err, SSM_EINVAL, "%s holds %llu of %llu tasks, shard %llu/%llu of its spec has %llu of "
                                             "%zu", inputs[k], (unsigned long long)b->n_tasks,
                            (unsigned long long)b->shard.n_tasks_total, (unsigned long long)b->shard.index,
                            (unsigned long long)b->shard.count, (unsigned long long)want, t->n_tasks);
        if (b->shard.index < t->n_tasks)   /* shards beyond hold no task */
            present[b->shard.index] = 1;
    }
    return SSM_OK;
}

/* The spec of the inputs, from the first one's /provenance. */
static ssm_status rebuild_spec(const char *path, const sw_registry *kinds, const sw_h5_info *info, sw_tasks *t,
                               ssm_error *err)
{
    ssm_error why;
    if (!*info->spec)
        return ssm_fail(err, SSM_EINVAL, "%s has no spec in /provenance to rebuild the task table from", path);
    if (sw_spec_parse_lazy(*info->spec_path ? info->spec_path : path, info->spec, strlen(info->spec), kinds, t,
                           &why) != SSM_OK)
        return ssm_fail(err, SSM_EINVAL, "%s: its spec (in /provenance) no longer parses: %s", path, why.message);
    if (t->spec_hash != info->spec_hash || strcmp(t->kind->name, info->kind) != 0)
        return ssm_fail(err, SSM_EINVAL, "%s: its spec gives spec hash %016llx here, the file says %016llx "
                                         "(written by another ssmsweep version?)", path,
                        (unsigned long long)t->spec_hash, (unsigned long long)info->spec_hash);
    return SSM_OK;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Whether the comma-separated list holds item[0..len). */
static int list_has(const char *list, const char *item, size_t len)
{
    for (const char *p = list; *p;) {
        size_t w = strcspn(p, ",");
        if (w == len && strncmp(p, item, len) == 0)
            return 1;
        p += w + (p[w] == ',');
    }
    return 0;
}

/* The inputs' hosts (each a comma-separated list), each once. */
static char *join_hosts(const sw_h5_info *info, size_t n)
{
    size_t len = 1;
    for (size_t k = 0; k < n; ++k)
        len += strlen(info[k].hosts) + 1;
    char *out = calloc(len, 1);
    for (size_t k = 0; out && k < n; ++k)
        for (const char *h = info[k].hosts; *h;) {
            size_t w = strcspn(h, ",");
            if (w && !list_has(out, h, w)) {
                if (*out)
                    strcat(out, ",");
                strncat(out, h, w);
            }
            h += w + (h[w] == ',');
        }
    return out;
}

/* Which of the shards that hold tasks (the first count) no input had. */
static void note_missing(sw_merge_summary *sum, const unsigned char *present, uint64_t count)
{
    size_t at = 0;
    for (uint64_t s = 0; s < count; ++s) {
        if (present[s])
            continue;
        ++sum->n_missing;
        if (at < sizeof sum->missing - 16)
            at += (size_t)snprintf(sum->missing + at, sizeof sum->missing - at, "%s%llu", at ? ", " : "",
                                   (unsigned long long)s);
        else if (!strstr(sum->missing, "..."))
            snprintf(sum->missing + at, sizeof sum->missing - at, ", ...");
    }
}

/* Writes the output under temporary names; on success renames them
 * into place, the journal first, so OUT.h5 appears last and complete.  On
 * a failure (a full disk too) nothing of it is left. */
static ssm_status write_output(const char *const *inputs, size_t n, const sw_outfiles *f, const sw_h5_info *info,
                               const sw_tasks *t, const sw_merge_options *opt, sw_merge_summary *sum,
                               ssm_error *err)
{
    char now[32], text[96];
    merge_ctx m = {.t = t, .inputs = inputs, .info = info, .n_inputs = n, .sum = sum, .err = err};
    char *hosts = join_hosts(info, n);
    ssm_status st = SSM_OK;
    /* left by a merge that was killed */
    unlink(f->creating);
    unlink(f->journal_creating);
    m.seen = calloc(t->n_tasks / 8 + 1, 1);
    if (!hosts || !m.seen) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory merging into %s", f->output);
        goto done;
    }
    if ((st = sw_task_cursor_start(&m.cur, t, err)) != SSM_OK)
        goto done;
    unsigned maj, min, rel;
    char libraries[64];
    H5get_libversion(&maj, &min, &rel);
    snprintf(libraries, sizeof libraries, "HDF5 %u.%u.%u", maj, min, rel);
    sw_utc_now(now, sizeof now);
    /* mpi_size 0: no MPI run wrote this file; the inputs' hosts ran its tasks */
    sw_provenance prov = {info[0].spec_path, info[0].spec, opt->command_line, now, hosts, libraries, 0,
                          opt->merged_from, NULL};
    st = sw_journal_create(f->journal_creating, t, &m.journal, err);
    if (st == SSM_OK)
        st = sw_h5_create(f->creating, t, &prov, &m.h5, err);
    for (size_t k = 0; st == SSM_OK && k < n; ++k) {
        sw_h5_info again;
        m.path = inputs[k];
        m.shard = info[k].shard;
        st = sw_h5_read(inputs[k], opt->kinds, &again, 1, merge_rows, &m, err);
        sw_h5_info_free(&again);
        if (st == SSM_OK)
            st = m.st;
    }
    sum->n_pending = t->n_tasks - sum->n_done - sum->n_failed;
    sw_utc_now(now, sizeof now);
    ssm_status closed = sw_h5_close(m.h5, now, st == SSM_OK ? err : NULL);
    m.h5 = NULL;
    if (st == SSM_OK)
        st = closed;
    closed = sw_journal_close(m.journal, st == SSM_OK ? err : NULL);
    m.journal = NULL;
    if (st == SSM_OK)
        st = closed;
    if (st == SSM_OK && rename(f->journal_creating, f->journal) != 0)
        st = ssm_fail(err, SSM_EIO, "cannot move the merged journal into place as %s: %s", f->journal,
                      sw_errno_text(errno, text, sizeof text));
    if (st == SSM_OK && rename(f->creating, f->output) != 0) {
        st = ssm_fail(err, SSM_EIO, "cannot move the merged file into place as %s: %s", f->output,
                      sw_errno_text(errno, text, sizeof text));
        unlink(f->journal);   /* a journal without its file would only block the next merge */
    }
done:
    if (m.h5)
        sw_h5_close(m.h5, NULL, NULL);
    if (m.journal)
        sw_journal_abandon(m.journal);
    if (st != SSM_OK) {
        unlink(f->creating);
        unlink(f->journal_creating);
    }
    free(m.batch);
    free(m.seen);
    sw_task_cursor_end(&m.cur);
    free(hosts);
    return st;
}

static int exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* An input beside part journals (a --part-files run stopped or kept
 * before its merge) lacks the leaders' results: refused, with the fix. */
static ssm_status unmerged_parts(const char *input, ssm_error *err)
{
    sw_journal_part_list parts;
    ssm_status st = sw_journal_parts(input, &parts, err);
    if (st == SSM_OK && parts.n)
        st = ssm_fail(err, SSM_EINVAL, "%s has part journals not merged yet (%s): 'ssmsweep run SPEC -o %s "
                      "--merge-only' merges them", input, parts.path[0], input);
    sw_journal_parts_free(&parts);
    return st;
}

ssm_status sw_merge(const char *const *inputs, size_t n, const char *output, const sw_merge_options *opt,
                    sw_merge_summary *sum, ssm_error *err)
{
    sw_outfiles f;
    sw_lock lock = {.fd = -1};
    sw_h5_info *info = calloc(n ? n : 1, sizeof *info);
    unsigned char *present = NULL;
    sw_tasks t;
    ssm_status st = SSM_OK;
    memset(sum, 0, sizeof *sum);
    memset(&t, 0, sizeof t);
    if (!info)
        return ssm_fail(err, SSM_ENOMEM, "out of memory");
    if (n == 0) {
        st = ssm_fail(err, SSM_EINVAL, "no input files");
        goto done;
    }
    st = sw_outfiles_init(&f, output, err);
    for (size_t k = 0; st == SSM_OK && k < n; ++k)
        if (strcmp(inputs[k], output) == 0 || same_file(inputs[k], output))
            st = ssm_fail(err, SSM_EINVAL, "the output %s is one of the inputs", output);
    /* a second merge to this output, or a run writing it, is refused here */
    if (st == SSM_OK)
        st = sw_lock_take(&lock, &f, "merge", err);
    if (st == SSM_OK && !opt->force && (exists(f.output) || exists(f.journal)))
        st = ssm_fail(err, SSM_EINVAL, "%s already exists (--force replaces it)",
                      exists(f.output) ? f.output : f.journal);
    for (size_t k = 0; st == SSM_OK && k < n; ++k)
        st = unmerged_parts(inputs[k], err);
    for (size_t k = 0; st == SSM_OK && k < n; ++k)
        st = sw_h5_read(inputs[k], NULL, &info[k], 0, NULL, NULL, err);
    if (st == SSM_OK)
        st = rebuild_spec(inputs[0], opt->kinds, &info[0], &t, err);
    if (st == SSM_OK) {
        sum->n_tasks = t.n_tasks;
        sum->shard_count = info[0].shard.count;
        /* per shard index that holds tasks (check_inputs refuses other counts first) */
        present = calloc(sum->shard_count < t.n_tasks ? sum->shard_count + 1 : t.n_tasks + 1, 1);
        st = present ? check_inputs(inputs, n, info, &t, present, err)
                     : ssm_fail(err, SSM_ENOMEM, "out of memory for %zu tasks", t.n_tasks);
    }
    if (st == SSM_OK) {
        note_missing(sum, present, sum->shard_count < t.n_tasks ? sum->shard_count : t.n_tasks);
        st = write_output(inputs, n, &f, info, &t, opt, sum, err);
    }
done:
    /* the inputs, the output's name, a second merge: the user's to fix */
    sum->bad_input = st == SSM_EINVAL;
    sw_lock_release(&lock);
    for (size_t k = 0; k < n; ++k)
        sw_h5_info_free(&info[k]);
    free(info);
    free(present);
    sw_tasks_free(&t);
    return st;
}

void sw_merge_discard(const char *output)
{
    sw_outfiles f;
    char building[PATH_MAX + 16];
    if (sw_outfiles_init(&f, output, NULL) != SSM_OK || sw_lock_held(output) != 0)
        return;
    snprintf(building, sizeof building, "%s.creating", f.creating);   /* sw_h5_create's own temporary name */
    unlink(building);
    unlink(f.creating);
    unlink(f.journal_creating);
    unlink(f.lock);
}

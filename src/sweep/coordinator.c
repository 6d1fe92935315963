#include "config.h"

#include "coordinator.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>
#include <hdf5.h>
#include <yaml.h>
#include <zlib.h>

#include "h5out.h"
#include "journal.h"
#include "progress.h"
#include "record.h"

enum { TAG_RESULTS = 17, TAG_WORK = 18 };

/* Requests each worker keeps outstanding: one batch runs while the next
 * waits in the MPI buffer, so workers do not idle while rank 0 computes. */
#define CREDITS 2
/* Records buffered on rank 0 before they go to HDF5 in one write. */
#define H5_BATCH 1024
/* Upper bound of a batch, so one message stays small. */
#define MAX_BATCH 4096
/* Up to this many ranks rank 0 computes between serving requests: on a
 * small machine a pure master would waste a core; on a large job serving
 * every worker promptly matters more than one more worker. */
#define MASTER_COMPUTES_MAX_RANKS 32

/* ---- stop requests ----------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

void sw_install_stop_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: a blocking call returns and the loop sees the flag */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* ---- small utilities --------------------------------------------------------- */

void sw_utc_now(char *buf, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static double wall_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Runs task id into rec: the only place a task is executed.  A task may
 * keep checkpoints under ckpt_dir (OUT.h5.ckpt), named by its hash. */
static void run_task(const sw_tasks *t, size_t id, int rank, const char *host, const char *ckpt_dir,
                     sw_record *rec)
{
    ssm_error err;
    memset(rec, 0, sizeof *rec);
    rec->task = id;
    rec->rank = rank;
    snprintf(rec->host, sizeof rec->host, "%s", host);
    double start = sw_now();
    const sw_task_env env = {ckpt_dir, t->hash[id]};
    ssm_status st = sw_result_init(&rec->result, t->kind, &err);
    if (st == SSM_OK)
        st = t->kind->run(sw_task_params(t, id), t->seed[id], &env, &rec->result, &err);
    rec->elapsed = sw_now() - start;
    rec->finished = wall_clock();
    if (st == SSM_OK) {
        rec->status = SW_DONE;
    } else {
        rec->status = SW_FAILED;
        snprintf(rec->error, sizeof rec->error, "%s", err.message);
        sw_result_free(&rec->result);   /* a failed record carries no values */
    }
}

/* A growable byte buffer for RESULTS messages: [u32 len][record] ... */
typedef struct {
    unsigned char *data;
    size_t len, cap;
} bytes;

static int bytes_reserve(bytes *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra)
        cap *= 2;
    unsigned char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

static int bytes_append_record(bytes *b, const sw_record *rec)
{
    size_t need = sw_record_packed_size(rec);
    uint32_t len = (uint32_t)need;
    if (bytes_reserve(b, need + 4))
        return -1;
    memcpy(b->data + b->len, &len, 4);
    sw_record_pack(rec, b->data + b->len + 4);
    b->len += need + 4;
    return 0;
}

/* ---- worker ------------------------------------------------------------------- */

/* Results go out with MPI_Isend from two alternating buffers: a worker
 * never waits for rank 0 to receive (rank 0 may be busy with a task of its
 * own) unless two batches are in flight.  Large messages use rendezvous,
 * so a blocking send here against rank 0's send of the next batch could
 * also deadlock. */
static void worker(MPI_Comm comm, const sw_tasks *t, int rank, const char *host, const char *ckpt_dir)
{
    bytes out[2] = {{0}, {0}};
    MPI_Request sent[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    uint64_t *ids = NULL;
    int capacity = 0, zeros = 0, which = 0;
    for (int c = 0; c < CREDITS; ++c)
        MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_RESULTS, comm);
    while (zeros < CREDITS) {
        MPI_Status status;
        int count;
        MPI_Probe(0, TAG_WORK, comm, &status);
        MPI_Get_count(&status, MPI_UINT64_T, &count);
        if (count > capacity) {
            uint64_t *bigger = realloc(ids, (size_t)count * sizeof *ids);
            if (!bigger)
                MPI_Abort(comm, SW_EXIT_ERROR);
            ids = bigger;
            capacity = count;
        }
        MPI_Recv(ids, count, MPI_UINT64_T, 0, TAG_WORK, comm, MPI_STATUS_IGNORE);
        if (count == 0) {
            ++zeros;
            continue;
        }
        bytes *b = &out[which];
        MPI_Wait(&sent[which], MPI_STATUS_IGNORE);   /* the buffer's previous message */
        b->len = 0;
        for (int k = 0; k < count && !stop_signal; ++k) {
            sw_record rec;
            run_task(t, (size_t)ids[k], rank, host, ckpt_dir, &rec);
            int full = bytes_append_record(b, &rec);
            sw_record_free(&rec);
            if (full)
                MPI_Abort(comm, SW_EXIT_ERROR);
        }
        /* tasks skipped after a stop request stay pending: resume reruns them */
        MPI_Isend(b->data, (int)b->len, MPI_BYTE, 0, TAG_RESULTS, comm, &sent[which]);
        which ^= 1;
    }
    MPI_Waitall(2, sent, MPI_STATUSES_IGNORE);
    free(out[0].data);
    free(out[1].data);
    free(ids);
}

/* Rank 0's pending sends of batches: each keeps its buffer until done. */
typedef struct {
    MPI_Request *req;
    uint64_t **buf;
    size_t n, cap;
} outbox;

static void outbox_reap(outbox *o)
{
    for (size_t k = 0; k < o->n;) {
        int done;
        MPI_Test(&o->req[k], &done, MPI_STATUS_IGNORE);
        if (done) {
            free(o->buf[k]);
            o->req[k] = o->req[o->n - 1];
            o->buf[k] = o->buf[o->n - 1];
            --o->n;
        } else {
            ++k;
        }
    }
}

static void outbox_send(outbox *o, MPI_Comm comm, const uint64_t *ids, size_t n, int dest)
{
    outbox_reap(o);
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 16;
        MPI_Request *req = realloc(o->req, cap * sizeof *req);
        if (req)
            o->req = req;
        uint64_t **buf = realloc(o->buf, cap * sizeof *buf);
        if (!req || !buf)
            MPI_Abort(comm, SW_EXIT_ERROR);
        o->buf = buf;
        o->cap = cap;
    }
    uint64_t *copy = malloc((n ? n : 1) * sizeof *copy);
    if (!copy)
        MPI_Abort(comm, SW_EXIT_ERROR);
    memcpy(copy, ids, n * sizeof *copy);
    MPI_Isend(copy, (int)n, MPI_UINT64_T, dest, TAG_WORK, comm, &o->req[o->n]);
    o->buf[o->n++] = copy;
}

static void outbox_drain(outbox *o)
{
    MPI_Waitall((int)o->n, o->req, MPI_STATUSES_IGNORE);
    for (size_t k = 0; k < o->n; ++k)
        free(o->buf[k]);
    free(o->req);
    free(o->buf);
    memset(o, 0, sizeof *o);
}

/* ---- master (rank 0) ------------------------------------------------------------ */

typedef struct {
    const sw_tasks *tasks;
    const sw_run_options *opt;
    const char *ckpt_dir;
    sw_journal *journal;
    sw_h5 *h5;
    unsigned char *state;         /* sw_status per task */
    size_t n_done, n_failed;
    size_t *queue, head, tail;    /* pending tasks, most expensive first */
    double queue_cost;
    sw_record *buffer;            /* records waiting for the HDF5 write */
    size_t n_buffer;
    size_t unsynced;
    double last_sync;
    sw_progress progress;
    ssm_error err;
    int io_failed;
} master;

static void count_transition(master *m, size_t task, sw_status to)
{
    sw_status from = (sw_status)m->state[task];
    if (from == SW_DONE)
        --m->n_done;
    else if (from == SW_FAILED)
        --m->n_failed;
    if (to == SW_DONE)
        ++m->n_done;
    else if (to == SW_FAILED)
        ++m->n_failed;
    m->state[task] = (unsigned char)to;
}

static int flush_buffer(master *m)
{
    int rc = 0;
    if (m->n_buffer && !m->io_failed && sw_h5_write(m->h5, m->buffer, m->n_buffer, &m->err)) {
        m->io_failed = 1;
        rc = -1;
    }
    for (size_t k = 0; k < m->n_buffer; ++k)
        sw_record_free(&m->buffer[k]);
    m->n_buffer = 0;
    return rc;
}

/* Makes everything received so far durable: the journal first (it is the
 * authority), then the HDF5 view. */
static void sync_outputs(master *m)
{
    if (m->io_failed)
        return;
    if (m->unsynced && sw_journal_sync(m->journal, &m->err) != SSM_OK) {
        m->io_failed = 1;
        return;
    }
    m->unsynced = 0;
    if (flush_buffer(m) == 0 && m->h5 && sw_h5_flush(m->h5, &m->err) != SSM_OK)
        m->io_failed = 1;
    m->last_sync = sw_now();
}

/* Takes ownership of rec. */
static void accept_record(master *m, sw_record *rec)
{
    if (rec->task >= m->tasks->n_tasks) {   /* cannot happen with our workers */
        sw_record_free(rec);
        return;
    }
    if (!m->io_failed && sw_journal_append(m->journal, rec, &m->err) != SSM_OK)
        m->io_failed = 1;
    ++m->unsynced;
    count_transition(m, (size_t)rec->task, rec->status);
    m->buffer[m->n_buffer++] = *rec;
    if (m->n_buffer == H5_BATCH)
        flush_buffer(m);
    if (sw_now() - m->last_sync >= m->opt->sync_interval)
        sync_outputs(m);
    sw_progress_update(&m->progress, m->n_done, m->n_failed, 0);
}

/* Guided self-scheduling on cost: about a quarter of the fair share of the
 * remaining work, so batches shrink towards the end and the most expensive
 * tasks go out alone. */
static size_t next_batch(master *m, int size, uint64_t *ids)
{
    double target = m->queue_cost / (4.0 * size);
    double cost = 0;
    size_t n = 0;
    while (m->head < m->tail && n < MAX_BATCH && (n == 0 || cost < target)) {
        size_t id = m->queue[m->head++];
        cost += m->tasks->cost[id];
        m->queue_cost -= m->tasks->cost[id];
        ids[n++] = id;
    }
    return n;
}

static void receive_results(master *m, MPI_Comm comm, MPI_Status *status)
{
    int len;
    MPI_Get_count(status, MPI_BYTE, &len);
    unsigned char *buf = malloc(len > 0 ? (size_t)len : 1);
    if (!buf)
        MPI_Abort(comm, SW_EXIT_ERROR);
    MPI_Recv(buf, len, MPI_BYTE, status->MPI_SOURCE, TAG_RESULTS, comm, MPI_STATUS_IGNORE);
    size_t off = 0;
    while (off + 4 <= (size_t)len) {
        uint32_t rlen;
        sw_record rec;
        ssm_error err;
        memcpy(&rlen, buf + off, 4);
        if (off + 4 + rlen > (size_t)len ||
            sw_record_unpack(buf + off + 4, rlen, &rec, &err) != SSM_OK) {
            fprintf(stderr, "ssmsweep run: malformed result message from rank %d\n",
                    status->MPI_SOURCE);
            MPI_Abort(comm, SW_EXIT_ERROR);
        }
        accept_record(m, &rec);
        off += 4 + rlen;
    }
    free(buf);
}

static int stop_requested(const master *m, double start, const char **reason)
{
    if (stop_signal) {
        *reason = stop_signal == SIGUSR1 ? "SIGUSR1" : stop_signal == SIGINT ? "SIGINT" : "SIGTERM";
        return 1;
    }
    if (m->opt->walltime > 0) {
        double margin = m->opt->walltime_margin >= 0 ? m->opt->walltime_margin
                                                     : fmin(60.0, 0.1 * m->opt->walltime);
        if (sw_now() - start >= m->opt->walltime - margin) {
            *reason = "--walltime";
            return 1;
        }
    }
    if (m->io_failed) {
        *reason = "an output error";
        return 1;
    }
    return 0;
}

static void master_loop(master *m, MPI_Comm comm, int size, const char *host, double start)
{
    uint64_t *ids = malloc(MAX_BATCH * sizeof *ids);
    int *zeros_sent = calloc((size_t)size, sizeof *zeros_sent);
    /* rank 0 starts a task of its own only once every worker has asked
     * for work: a task of minutes (kind sfmnist) begun before the first
     * requests arrive would leave the workers idle for its whole length */
    int *greeted = calloc((size_t)size, sizeof *greeted);
    int workers_left = size - 1, workers_greeted = 0, stopping = 0;
    outbox box = {0};
    const char *reason = NULL;
    if (!ids || !zeros_sent || !greeted)
        MPI_Abort(comm, SW_EXIT_ERROR);
    for (;;) {
        int flag;
        MPI_Status status;
        /* serve every worker that is waiting */
        for (;;) {
            MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULTS, comm, &flag, &status);
            if (!flag)
                break;
            if (!greeted[status.MPI_SOURCE]) {
                greeted[status.MPI_SOURCE] = 1;
                ++workers_greeted;
            }
            receive_results(m, comm, &status);
            if (!stopping && stop_requested(m, start, &reason))
                stopping = 1;
            size_t n = stopping ? 0 : next_batch(m, size, ids);
            outbox_send(&box, comm, ids, n, status.MPI_SOURCE);
            if (n == 0 && ++zeros_sent[status.MPI_SOURCE] == CREDITS)
                --workers_left;
        }
        if (!stopping && stop_requested(m, start, &reason)) {
            stopping = 1;
            if (!m->opt->quiet)
                fprintf(stderr, "\nssmsweep run: %s: no new tasks; finishing the running ones\n", reason);
        }
        if (!stopping && m->head < m->tail &&
            ((size <= MASTER_COMPUTES_MAX_RANKS && workers_greeted == size - 1) || workers_left == 0)) {
            /* rank 0's own work: the cheapest task, so it is back soon */
            size_t id = m->queue[--m->tail];
            sw_record rec;
            m->queue_cost -= m->tasks->cost[id];
            run_task(m->tasks, id, 0, host, m->ckpt_dir, &rec);
            accept_record(m, &rec);
            continue;
        }
        if (workers_left == 0)
            break;
        /* waiting for workers only: poll gently instead of spinning */
        struct timespec nap = {0, 200000};
        nanosleep(&nap, NULL);
        if (sw_now() - m->last_sync >= m->opt->sync_interval)
            sync_outputs(m);
        sw_progress_update(&m->progress, m->n_done, m->n_failed, 0);
    }
    outbox_drain(&box);
    free(ids);
    free(zeros_sent);
    free(greeted);
}

/* ---- output set-up (rank 0) ----------------------------------------------------- */

typedef struct {
    master *m;
    ssm_status status;
    ssm_error *err;
} replay_ctx;

/* Journal replay: the last record of a task wins, in the state and in the
 * rebuilt HDF5 file alike. */
static int replay_record(void *ctx, const sw_record *rec)
{
    replay_ctx *r = ctx;
    master *m = r->m;
    if (rec->task >= m->tasks->n_tasks)
        return 0;
    count_transition(m, (size_t)rec->task, rec->status);
    if (m->h5 && sw_h5_write(m->h5, rec, 1, r->err) != SSM_OK) {
        r->status = SSM_EIO;
        return -1;
    }
    return 0;
}

static void gather_provenance_strings(MPI_Comm comm, int rank, int size, const char *host,
                                      char **hosts_out, char *libraries, size_t lib_size)
{
    char *all = rank == 0 ? calloc((size_t)size, SW_HOST_MAX) : NULL;
    char name[SW_HOST_MAX] = {0};
    snprintf(name, sizeof name, "%s", host);
    MPI_Gather(name, SW_HOST_MAX, MPI_CHAR, all, SW_HOST_MAX, MPI_CHAR, 0, comm);
    if (rank != 0)
        return;
    /* unique names, in rank order */
    char *list = calloc((size_t)size, SW_HOST_MAX + 1);
    for (int r = 0; list && all && r < size; ++r) {
        const char *h = all + (size_t)r * SW_HOST_MAX;
        int seen = 0;
        for (int q = 0; q < r && !seen; ++q)
            seen = strncmp(h, all + (size_t)q * SW_HOST_MAX, SW_HOST_MAX) == 0;
        if (!seen) {
            if (*list)
                strcat(list, ",");
            strncat(list, h, SW_HOST_MAX - 1);
        }
    }
    free(all);
    *hosts_out = list;

    char mpi_version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len;
    unsigned maj, min, rel;
    MPI_Get_library_version(mpi_version, &len);
    mpi_version[strcspn(mpi_version, ",\n")] = '\0';
    H5get_libversion(&maj, &min, &rel);
    snprintf(libraries, lib_size, "HDF5 %u.%u.%u; %s; OpenBLAS %s; libyaml %s; zlib %s", maj, min, rel,
             mpi_version,
#ifdef HAVE_OPENBLAS_GET_CONFIG
             openblas_get_config(),
#else
             "?",
#endif
             yaml_get_version_string(), zlibVersion());
}

typedef struct {
    double cost;
    size_t id;
} queue_entry;

/* Decreasing cost, then increasing id: a total order, so the schedule does
 * not depend on the sort algorithm. */
static int by_cost_then_id(const void *pa, const void *pb)
{
    const queue_entry *a = pa, *b = pb;
    if (a->cost != b->cost)
        return a->cost > b->cost ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static void sort_queue(size_t *queue, size_t n, const double *cost)
{
    queue_entry *e = malloc((n ? n : 1) * sizeof *e);
    if (!e)
        return;   /* id order: still correct, only less well balanced */
    for (size_t k = 0; k < n; ++k)
        e[k] = (queue_entry){cost[queue[k]], queue[k]};
    qsort(e, n, sizeof *e, by_cost_then_id);
    for (size_t k = 0; k < n; ++k)
        queue[k] = e[k].id;
    free(e);
}

/* Creates or resumes the outputs; fills m->state and the queue.  Returns
 * an exit status (SW_EXIT_OK to go on). */
static int setup_outputs(master *m, const sw_provenance *prov)
{
    const sw_run_options *opt = m->opt;
    const sw_tasks *t = m->tasks;
    char journal_path[4096], rebuild_path[4096];
    ssm_error *err = &m->err;
    snprintf(journal_path, sizeof journal_path, "%s.journal", opt->output);
    snprintf(rebuild_path, sizeof rebuild_path, "%s.rebuild", opt->output);

    if (!opt->resume) {
        if ((file_exists(opt->output) || file_exists(journal_path)) && !opt->force) {
            fprintf(stderr, "ssmsweep run: %s already exists: use --resume to continue it or --force "
                            "to start over\n", file_exists(opt->output) ? opt->output : journal_path);
            return SW_EXIT_USAGE;
        }
        if (opt->force) {
            unlink(opt->output);
            unlink(journal_path);
        }
        if (sw_journal_create(journal_path, t, &m->journal, err) != SSM_OK ||
            sw_h5_create(opt->output, t, prov, &m->h5, err) != SSM_OK) {
            fprintf(stderr, "ssmsweep run: %s\n", err->message);
            return SW_EXIT_ERROR;
        }
    } else {
        if (!file_exists(journal_path)) {
            fprintf(stderr, "ssmsweep run: --resume: no journal %s to resume from\n", journal_path);
            return SW_EXIT_USAGE;
        }
        ssm_status st = sw_journal_open_append(journal_path, t, opt->force, &m->journal, err);
        if (st != SSM_OK) {
            fprintf(stderr, "ssmsweep run: %s\n", err->message);
            return st == SSM_EINVAL ? SW_EXIT_USAGE : SW_EXIT_ERROR;
        }
        /* The HDF5 file may be torn by a kill: rebuild it from the journal
         * beside it, then replace it in one rename. */
        unlink(rebuild_path);
        replay_ctx ctx = {m, SSM_OK, err};
        sw_journal_header header;
        long valid;
        int torn;
        st = sw_h5_create(rebuild_path, t, prov, &m->h5, err);
        if (st == SSM_OK)
            st = sw_journal_read(journal_path, &header, replay_record, &ctx, &valid, &torn, err);
        if (st == SSM_OK)
            st = ctx.status;
        if (st == SSM_OK)
            st = sw_h5_close(m->h5, NULL, err);
        m->h5 = NULL;
        if (st == SSM_OK && rename(rebuild_path, opt->output) != 0)
            st = ssm_fail(err, SSM_EIO, "cannot replace %s: %s", opt->output, strerror(errno));
        if (st == SSM_OK)
            st = sw_h5_open(opt->output, t, &m->h5, err);
        if (st != SSM_OK) {
            fprintf(stderr, "ssmsweep run: --resume: %s\n", err->message);
            return SW_EXIT_ERROR;
        }
    }
    /* the queue: what is not done (failed ones only with --retry-failed),
     * most expensive first; ties keep id order so runs are comparable */
    for (size_t id = 0; id < t->n_tasks; ++id) {
        sw_status s = (sw_status)m->state[id];
        if (s == SW_PENDING || (s == SW_FAILED && opt->retry_failed)) {
            m->queue[m->tail++] = id;
            m->queue_cost += t->cost[id];
        }
    }
    sort_queue(m->queue, m->tail, t->cost);
    return SW_EXIT_OK;
}

/* ---- entry point ---------------------------------------------------------------- */

int sw_coordinate(MPI_Comm comm, const sw_tasks *t, const sw_run_options *opt)
{
    int rank, size, code = SW_EXIT_OK;
    char host[SW_HOST_MAX] = "unknown";
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    gethostname(host, sizeof host - 1);
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    /* one rank per core: BLAS threads would fight the other ranks, and a
     * fixed thread count keeps results bit-identical across runs */
    openblas_set_num_threads(1);
#endif

    /* every rank parsed the same spec file: make sure it was the same */
    unsigned long long mine = t->spec_hash, lo, hi;
    MPI_Allreduce(&mine, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, comm);
    MPI_Allreduce(&mine, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, comm);
    if (lo != hi) {
        if (rank == 0)
            fprintf(stderr, "ssmsweep run: the ranks read different specs from %s\n", opt->spec_path);
        return SW_EXIT_USAGE;
    }

    char *hosts = NULL, libraries[1024] = "", start_utc[32];
    sw_utc_now(start_utc, sizeof start_utc);
    gather_provenance_strings(comm, rank, size, host, &hosts, libraries, sizeof libraries);

    /* tasks that take long (kind sfmnist) checkpoint here between epochs */
    char ckpt_dir[4096];
    snprintf(ckpt_dir, sizeof ckpt_dir, "%s.ckpt", opt->output);
    master m;
    memset(&m, 0, sizeof m);
    double start = sw_now();
    if (rank == 0) {
        sw_provenance prov = {opt->spec_path, opt->spec_text, opt->command_line, start_utc,
                              hosts ? hosts : host, libraries, size, NULL};
        m.tasks = t;
        m.opt = opt;
        m.ckpt_dir = ckpt_dir;
        m.state = calloc(t->n_tasks ? t->n_tasks : 1, 1);
        m.queue = malloc((t->n_tasks ? t->n_tasks : 1) * sizeof *m.queue);
        m.buffer = malloc(H5_BATCH * sizeof *m.buffer);
        m.last_sync = start;
        if (!m.state || !m.queue || !m.buffer) {
            fprintf(stderr, "ssmsweep run: out of memory for %zu tasks\n", t->n_tasks);
            code = SW_EXIT_ERROR;
        } else {
            code = setup_outputs(&m, &prov);
        }
    }
    MPI_Bcast(&code, 1, MPI_INT, 0, comm);
    if (code != SW_EXIT_OK)
        goto done;

    if (rank == 0) {
        sw_progress_init(&m.progress, opt->quiet ? NULL : stderr, opt->progress_interval, t->n_tasks,
                         m.n_done, m.n_failed);
        const sw_shard shard = sw_tasks_shard(t);
        char part[64] = "";
        if (shard.count > 1)
            snprintf(part, sizeof part, " of shard %llu/%llu", (unsigned long long)shard.index,
                     (unsigned long long)shard.count);
        if (!opt->quiet)
            fprintf(stderr, "ssmsweep run: %zu tasks%s (%zu done, %zu failed before), %d rank%s -> %s\n",
                    t->n_tasks, part, m.n_done, m.n_failed, size, size > 1 ? "s" : "", opt->output);
        master_loop(&m, comm, size, host, start);
        flush_buffer(&m);
        sync_outputs(&m);
        char end_utc[32];
        sw_utc_now(end_utc, sizeof end_utc);
        ssm_error close_err;
        if (sw_journal_close(m.journal, &close_err) != SSM_OK && !m.io_failed) {
            m.io_failed = 1;
            m.err = close_err;
        }
        m.journal = NULL;
        if (sw_h5_close(m.h5, end_utc, &close_err) != SSM_OK && !m.io_failed) {
            m.io_failed = 1;
            m.err = close_err;
        }
        m.h5 = NULL;
        size_t pending = t->n_tasks - m.n_done - m.n_failed;
        if (m.io_failed) {
            fprintf(stderr, "\nssmsweep run: %s\n", m.err.message);
            code = SW_EXIT_ERROR;
        } else if (pending > 0) {
            code = SW_EXIT_INTERRUPTED;
        } else if (m.n_failed > 0) {
            code = SW_EXIT_TASKS_FAILED;
        }
        if (code != SW_EXIT_INTERRUPTED)
            rmdir(ckpt_dir);   /* finished tasks removed their checkpoints; fails harmlessly if absent */
        sw_progress_finish(&m.progress, code == SW_EXIT_INTERRUPTED ? "interrupted (resume with --resume)"
                                        : code == SW_EXIT_ERROR     ? "stopped by an error"
                                                                    : "finished");
    } else {
        worker(comm, t, rank, host, ckpt_dir);
    }
    MPI_Bcast(&code, 1, MPI_INT, 0, comm);
done:
    if (rank == 0) {
        for (size_t k = 0; k < m.n_buffer; ++k)
            sw_record_free(&m.buffer[k]);
        if (m.journal)
            sw_journal_close(m.journal, NULL);
        if (m.h5)
            sw_h5_close(m.h5, NULL, NULL);
    }
    free(m.state);
    free(m.queue);
    free(m.buffer);
    free(hosts);
    return code;
}

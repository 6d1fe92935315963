#include "config.h"

#include "coordinator.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "ckpt.h"
#include "farm.h"
#include "outbox.h"
#include "h5out.h"
#include "journal.h"
#include "leader.h"
#include "outfiles.h"
#include "progress.h"
#include "provenance.h"
#include "queue.h"
#include "record.h"
#include "resume.h"

/* Records buffered on rank 0 before they go to HDF5 in one write. */
#define H5_BATCH 1024
/* Records rank 0's compute thread gathers before it wakes the main
 * thread (which also looks on its own every WAIT_SLICE seconds). */
#define LOCAL_NOTIFY 256

/* ---- stop requests ----------------------------------------------------------- */

volatile sig_atomic_t sw_stop_signal;

static void on_stop_signal(int sig)
{
    sw_stop_signal = sig;
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

/* One line for the user through the caller's reporter (none: silent);
 * after_progress: a progress line may be unfinished. */
#define say(opt, after_progress, ...) sw_say((opt)->say, (opt)->say_ctx, (after_progress), __VA_ARGS__)

double sw_thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void sw_nap(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Runs task id (a row) into rec: the only place a task is executed.  Its
 * parameters, hash and seed come from the thread's cursor (computed from
 * the id: no rank holds a table).  A task may keep checkpoints under
 * ckpt_dir (OUT.h5.ckpt), named by its hash. */
static void run_task(sw_task_cursor *c, size_t id, int rank, const char *host, const char *ckpt_dir,
                     sw_record *rec)
{
    ssm_error err;
    const sw_kind *kind = c->t->kind;
    sw_task_cursor_at(c, id);
    memset(rec, 0, sizeof *rec);
    rec->task = id;
    rec->hash = c->hash;
    rec->rank = rank;
    snprintf(rec->host, sizeof rec->host, "%s", host);
    double start = sw_now();
    const sw_task_env env = {ckpt_dir, c->hash};
    ssm_status st = sw_result_init(&rec->result, kind, &err);
    if (st == SSM_OK)
        st = kind->run(c->values, c->seed, &env, &rec->result, &err);
    rec->elapsed = sw_now() - start;
    rec->finished = sw_wall_clock();
    if (st == SSM_OK) {
        rec->status = SW_DONE;
    } else {
        rec->status = SW_FAILED;
        sw_error_text(&err, rec->error, sizeof rec->error);
        sw_result_free(&rec->result);   /* a failed record carries no values */
    }
}

int sw_bytes_reserve(sw_bytes *b, size_t extra)
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

int sw_bytes_begin_message(sw_bytes *b)
{
    uint32_t flags = 0;
    b->len = 0;
    if (sw_bytes_reserve(b, 4))
        return -1;
    memcpy(b->data, &flags, 4);
    b->len = 4;
    return 0;
}

int sw_bytes_append_record(sw_bytes *b, const sw_record *rec)
{
    size_t need = sw_record_packed_size(rec);
    uint32_t len = (uint32_t)need;
    if (sw_bytes_reserve(b, need + 4))
        return -1;
    memcpy(b->data + b->len, &len, 4);
    sw_record_pack(rec, b->data + b->len + 4);
    b->len += need + 4;
    return 0;
}

/* ---- worker ------------------------------------------------------------------- */

void sw_send_results(sw_outbox *box, MPI_Comm comm, sw_bytes *b, uint32_t flags)
{
    memcpy(b->data, &flags, 4);
    sw_outbox_send(box, comm, b->data, (int)b->len, MPI_BYTE, 0, TAG_RESULTS);
    memset(b, 0, sizeof *b);
    if (sw_bytes_begin_message(b))
        MPI_Abort(comm, ABORT_CODE);
}

void sw_worker(MPI_Comm comm, const sw_tasks *t, int rank, const char *host, const char *ckpt_dir,
               double flush_interval)
{
    sw_outbox box = {0};
    sw_bytes b = {0};
    uint64_t *ids = NULL;
    int capacity = 0, zeros = 0;
    sw_task_cursor cursor;
    ssm_error err;
    if (sw_bytes_begin_message(&b) || sw_task_cursor_start(&cursor, t, &err) != SSM_OK)
        MPI_Abort(comm, ABORT_CODE);
    for (int c = 0; c < CREDITS; ++c)
        sw_send_results(&box, comm, &b, MSG_REQUEST);
    while (zeros < CREDITS) {
        MPI_Status status;
        int count;
        MPI_Probe(0, TAG_WORK, comm, &status);
        MPI_Get_count(&status, MPI_UINT64_T, &count);
        if (count > capacity) {
            uint64_t *bigger = realloc(ids, (size_t)count * sizeof *ids);
            if (!bigger)
                MPI_Abort(comm, ABORT_CODE);
            ids = bigger;
            capacity = count;
        }
        MPI_Recv(ids, count, MPI_UINT64_T, 0, TAG_WORK, comm, MPI_STATUS_IGNORE);
        if (count == 0) {
            ++zeros;
            continue;
        }
        double last_sent = sw_now();
        for (int k = 0; k < count && !sw_stop_signal; ++k) {
            sw_record rec;
            run_task(&cursor, (size_t)ids[k], rank, host, ckpt_dir, &rec);
            int full = sw_bytes_append_record(&b, &rec);
            sw_record_free(&rec);
            if (full)
                MPI_Abort(comm, ABORT_CODE);
            /* a long batch delivers its results as it goes */
            if (k + 1 < count && sw_now() - last_sent >= flush_interval) {
                sw_send_results(&box, comm, &b, 0);
                last_sent = sw_now();
            }
        }
        /* tasks skipped after a stop request stay pending: resume reruns them */
        sw_send_results(&box, comm, &b, MSG_REQUEST);
    }
    sw_outbox_drain(&box);
    sw_task_cursor_end(&cursor);
    free(b.data);
    free(ids);
}

/* ---- rank 0's own tasks: a thread ------------------------------------------------ */

static int local_idle_locked(const sw_local *w)
{
    return w->next == w->n_ids && !w->in_task;
}

static void *local_main(void *arg)
{
    sw_local *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->quit && w->next == w->n_ids)
            pthread_cond_wait(&w->wake_thread, &w->lock);
        if (w->quit)
            break;
        if (w->abandon || sw_stop_signal) {   /* the rest of the batch stays pending */
            w->next = w->n_ids;
            pthread_cond_signal(&w->wake_main);
            continue;
        }
        size_t id = (size_t)w->ids[w->next++];
        w->in_task = 1;
        pthread_mutex_unlock(&w->lock);
        sw_record rec;
        run_task(&w->cursor, id, w->rank, w->host, w->ckpt_dir, &rec);
        pthread_mutex_lock(&w->lock);
        w->in_task = 0;
        if (w->n_done == w->cap_done) {
            size_t cap = w->cap_done ? 2 * w->cap_done : 64;
            sw_record *bigger = realloc(w->done, cap * sizeof *bigger);
            if (!bigger) {   /* the record is lost; the main thread stops the sweep */
                w->no_memory = 1;
                sw_record_free(&rec);
                pthread_cond_signal(&w->wake_main);
                continue;
            }
            w->done = bigger;
            w->cap_done = cap;
        }
        w->done[w->n_done++] = rec;
        if (w->n_done >= LOCAL_NOTIFY || w->next == w->n_ids)
            pthread_cond_signal(&w->wake_main);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int sw_local_start(sw_local *w, const sw_tasks *t, int rank, const char *host, const char *ckpt_dir)
{
    ssm_error err;
    memset(w, 0, sizeof *w);
    w->rank = rank;
    w->host = host;
    w->ckpt_dir = ckpt_dir;
    w->ids = malloc(MAX_BATCH * sizeof *w->ids);
    if (!w->ids || sw_task_cursor_start(&w->cursor, t, &err) != SSM_OK || pthread_mutex_init(&w->lock, NULL) ||
        pthread_cond_init(&w->wake_thread, NULL) || pthread_cond_init(&w->wake_main, NULL))
        return -1;
    if (pthread_create(&w->thread, NULL, local_main, w) != 0)
        return -1;
    w->started = 1;
    return 0;
}

int sw_local_idle(sw_local *w)
{
    if (!w->started)
        return 1;
    pthread_mutex_lock(&w->lock);
    int idle = local_idle_locked(w);
    pthread_mutex_unlock(&w->lock);
    return idle;
}

void sw_local_give(sw_local *w, const uint64_t *ids, size_t n)
{
    pthread_mutex_lock(&w->lock);
    memcpy(w->ids, ids, n * sizeof *ids);
    w->n_ids = n;
    w->next = 0;
    pthread_cond_signal(&w->wake_thread);
    pthread_mutex_unlock(&w->lock);
}

/* Waits up to seconds for finished records or the end of the batch; then
 * hands over what is finished (*n records in *recs, the caller's to free;
 * *cap is the capacity of the array it passes in and gets back). */
void sw_local_collect(sw_local *w, double seconds, sw_record **recs, size_t *n, size_t *cap)
{
    *n = 0;
    if (!w->started)
        return;
    pthread_mutex_lock(&w->lock);
    if (seconds > 0 && w->n_done == 0 && !local_idle_locked(w)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        double t = (double)until.tv_nsec * 1e-9 + seconds;
        until.tv_sec += (time_t)t;
        until.tv_nsec = (long)((t - floor(t)) * 1e9);
        pthread_cond_timedwait(&w->wake_main, &w->lock, &until);
    }
    /* swap arrays: the thread goes on with an empty one */
    sw_record *mine = *recs;
    size_t mine_cap = *cap;
    *recs = w->done;
    *n = w->n_done;
    *cap = w->cap_done;
    w->done = mine;
    w->cap_done = mine_cap;
    w->n_done = 0;
    pthread_mutex_unlock(&w->lock);
}

/* Tells the thread to take no further task of its batch. */
void sw_local_abandon(sw_local *w)
{
    if (!w->started)
        return;
    pthread_mutex_lock(&w->lock);
    w->abandon = 1;
    pthread_mutex_unlock(&w->lock);
}

/* Ends the thread unless it is inside a task (then it is left to run: the
 * process ends without waiting, see sw_coordinate_end); returns whether it
 * was left running. */
int sw_local_stop(sw_local *w)
{
    if (!w->started) {   /* nothing, or what a failed start left */
        sw_task_cursor_end(&w->cursor);
        free(w->ids);
        w->ids = NULL;
        return 0;
    }
    pthread_mutex_lock(&w->lock);
    w->quit = 1;
    int busy = w->in_task;
    pthread_cond_signal(&w->wake_thread);
    pthread_mutex_unlock(&w->lock);
    if (busy)
        return 1;
    pthread_join(w->thread, NULL);
    for (size_t k = 0; k < w->n_done; ++k)
        sw_record_free(&w->done[k]);
    free(w->done);
    free(w->ids);
    sw_task_cursor_end(&w->cursor);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake_thread);
    pthread_cond_destroy(&w->wake_main);
    return 0;
}

/* ---- master (rank 0) ------------------------------------------------------------ */

typedef struct {
    const sw_tasks *tasks;
    const sw_run_options *opt;
    const char *ckpt_dir;
    sw_journal *journal;
    sw_h5 *h5;
    unsigned char *state;         /* sw_status per task: with the queue all rank 0 holds per task */
    size_t n_done, n_failed;
    sw_queue queue;               /* tasks to run, most expensive first */
    sw_task_cursor check;         /* the main thread's view of the tasks: hashes of arriving records */
    sw_record *buffer;            /* records waiting for the HDF5 write */
    size_t n_buffer;
    size_t unsynced;
    double last_sync;
    sw_progress progress;
    ssm_error err;                /* the first output error */
    int io_failed;                /* an output failed: the sweep stops */
    sw_ckpt_pending ckpt_done;    /* checkpoints of done tasks, removed once the journal is synced */
    int journal_failed, h5_failed;   /* which: the other one still takes what it can */
    /* scheduling */
    MPI_Comm comm;
    int size;
    const sw_layout *layout;      /* who rank 0 serves, with what weight */
    int remote_signal;            /* a stop signal a leader received */
    int parts;                    /* part files: the leaders write their groups' records */
    double stat_merge, stat_merge_cpu;   /* seconds of that merge and closing: wall, main thread CPU */
    unsigned char *scratch;       /* a record packed, for copies */
    size_t cap_scratch;
    /* SSMSWEEP_COORD_STATS: what receiving results costs rank 0 */
    size_t stat_messages, stat_records;
    double stat_cpu;              /* main thread CPU seconds in receive_results */
    /* of these, the leaders' status messages (part files) */
    size_t stat_status_messages, stat_statuses;
    double stat_status_cpu;
    int *zeros_sent, *greeted;
    int workers_left, workers_greeted;   /* of the clients: workers and leaders */
    sw_outbox box;
    uint64_t *ids;
    sw_local local;
    sw_record *collected;         /* records taken from the local thread */
    size_t cap_collected;
    /* stopping */
    int stopping, urgent, closed;
    double deadline;
    sw_lock lock;                 /* OUT.h5.lock */
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

/* Records the first error (in m->err) and which output failed. */
static void output_failed(master *m, int *which, const ssm_error *err)
{
    if (!m->io_failed)
        m->err = *err;
    m->io_failed = *which = 1;
}

static int flush_buffer(master *m)
{
    int rc = 0;
    ssm_error err;
    if (m->n_buffer && !m->h5_failed && !m->closed && sw_h5_write(m->h5, m->buffer, m->n_buffer, &err)) {
        output_failed(m, &m->h5_failed, &err);
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
    ssm_error err;
    m->last_sync = sw_now();
    if (m->closed)
        return;
    if (!m->journal_failed && m->unsynced) {
        if (sw_journal_sync(m->journal, &err) != SSM_OK)
            output_failed(m, &m->journal_failed, &err);
        else
            m->unsynced = 0;
    }
    if (!m->journal_failed && !m->unsynced)
        sw_ckpt_pending_remove(&m->ckpt_done);
    if (flush_buffer(m) == 0 && !m->h5_failed && m->h5 && sw_h5_flush(m->h5, &err) != SSM_OK)
        output_failed(m, &m->h5_failed, &err);
}

/* Takes ownership of rec. */
static void accept_record(master *m, sw_record *rec)
{
    const sw_tasks *t = m->tasks;
    if (rec->task < t->n_tasks)   /* records arrive in batches of neighbours: cheap */
        sw_task_cursor_at(&m->check, (size_t)rec->task);
    if (rec->task >= t->n_tasks || rec->hash != m->check.hash) {   /* cannot happen with our workers */
        say(m->opt, 0, "a result names task %llu with hash %016llx, which this task table does not have",
            (unsigned long long)rec->task, (unsigned long long)rec->hash);
        MPI_Abort(MPI_COMM_WORLD, ABORT_CODE);
    }
    if (m->closed) {   /* after an urgent stop the files are closed: the task is run again on resume */
        sw_record_free(rec);
        return;
    }
    ssm_error err;
    /* the journal takes what it can also after the HDF5 file failed:
     * --resume rebuilds the file from it */
    if (!m->journal_failed && sw_journal_append(m->journal, rec, &err) != SSM_OK)
        output_failed(m, &m->journal_failed, &err);
    ++m->unsynced;
    if (rec->status == SW_DONE)
        sw_ckpt_pending_add(&m->ckpt_done, rec->hash);
    count_transition(m, (size_t)rec->task, rec->status);
    m->buffer[m->n_buffer++] = *rec;
    if (m->n_buffer == H5_BATCH)
        flush_buffer(m);
}

/* After the records of one message (or of rank 0's thread): durable every
 * --sync seconds, at once during a stop that lets tasks finish (once per
 * message: a leader's message holds the records of many ranks). */
static void records_accepted(master *m)
{
    if (sw_now() - m->last_sync >= m->opt->sync_interval || (m->stopping && !m->urgent))
        sync_outputs(m);
    sw_progress_update(&m->progress, m->n_done, m->n_failed, 0);
}

/* Guided self-scheduling on cost: about a quarter of the fair share of the
 * remaining work, so batches shrink towards the end and the most expensive
 * tasks go out alone; a leader's batch holds that for each of the weight
 * ranks it feeds.  Workers take from the head (most expensive first),
 * rank 0's thread from the tail (cheapest), so it is soon free again. */
static size_t next_batch(master *m, int weight, int from_tail, uint64_t *ids)
{
    return sw_queue_take(&m->queue, from_tail, weight * m->queue.cost / (4.0 * m->size),
                         (size_t)MAX_BATCH * (size_t)weight, ids);
}

/* Part files: the (id << 2 | status) words of a leader, whose part
 * journal holds the records. */
static void accept_statuses(master *m, const unsigned char *words, size_t len, int src)
{
    for (size_t off = 0; off + 8 <= len; off += 8) {
        uint64_t w;
        memcpy(&w, words + off, 8);
        uint64_t task = w >> 2;
        unsigned status = (unsigned)(w & 3);
        if (task >= m->tasks->n_tasks || (status != SW_DONE && status != SW_FAILED)) {
            say(m->opt, 0, "malformed status message from rank %d", src);
            MPI_Abort(m->comm, ABORT_CODE);
        }
        count_transition(m, (size_t)task, (sw_status)status);
        ++m->stat_records;
        ++m->stat_statuses;
    }
}

/* A leader could not write its part journal (its message is above). */
static void part_failed(master *m, int src)
{
    ssm_error err;
    ssm_fail(&err, SSM_EIO, "node leader rank %d could not write its part journal (see its message); --resume "
             "continues from what the journals hold", src);
    int ignored = 0;
    output_failed(m, &ignored, &err);
}

/* One RESULTS message: its records; returns its flags. */
static uint32_t receive_results(master *m, MPI_Comm comm, MPI_Status *status)
{
    int len;
    uint32_t flags = 0;
    MPI_Get_count(status, MPI_BYTE, &len);
    unsigned char *buf = malloc(len > 0 ? (size_t)len : 1);
    if (!buf)
        MPI_Abort(comm, ABORT_CODE);
    MPI_Recv(buf, len, MPI_BYTE, status->MPI_SOURCE, TAG_RESULTS, comm, MPI_STATUS_IGNORE);
    if (len >= 4)
        memcpy(&flags, buf, 4);
    if (flags & MSG_PART_FAILED)
        part_failed(m, status->MPI_SOURCE);
    if (flags & MSG_STATUSES) {
        accept_statuses(m, buf + 4, len >= 4 ? (size_t)len - 4 : 0, status->MPI_SOURCE);
        records_accepted(m);
        free(buf);
        return flags;
    }
    size_t off = 4;
    while (len >= 4 && off + 4 <= (size_t)len) {
        uint32_t rlen;
        sw_record rec;
        ssm_error err;
        memcpy(&rlen, buf + off, 4);
        if (off + 4 + rlen > (size_t)len ||
            sw_record_unpack(buf + off + 4, rlen, &rec, &err) != SSM_OK) {
            say(m->opt, 0, "malformed result message from rank %d", status->MPI_SOURCE);
            MPI_Abort(comm, ABORT_CODE);
        }
        accept_record(m, &rec);
        ++m->stat_records;
        off += 4 + rlen;
    }
    records_accepted(m);
    free(buf);
    return flags;
}

static int stop_requested(const master *m, double start, const char **reason, int *urgent)
{
    *urgent = 0;
    if (m->io_failed) {
        *reason = "an output error";
        *urgent = 1;
        return 1;
    }
    int sig = sw_stop_signal ? sw_stop_signal : m->remote_signal;
    if (sig) {
        *reason = sig == SIGUSR1 ? "SIGUSR1" : sig == SIGINT ? "SIGINT" : "SIGTERM";
        *urgent = sig != SIGUSR1;
        return 1;
    }
    if (m->opt->merge_only) {   /* the journals are absorbed: nothing is run */
        *reason = "--merge-only";
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
    return 0;
}

/* SIGUSR1 and --walltime let running tasks finish; SIGTERM and SIGINT
 * (which come shortly before a SIGKILL) give them URGENT_GRACE seconds;
 * an output error stops at once.  In every case what was received is made
 * durable first. */
static void begin_stop(master *m, const char *reason, int urgent)
{
    m->stopping = 1;
    m->urgent = urgent;
    m->deadline = sw_now() + (m->io_failed ? 0 : URGENT_GRACE);
    sw_local_abandon(&m->local);
    /* the leaders still at work drop the tasks they hold */
    for (int r = 1; r < m->size; ++r)
        if (m->layout->leads[r] && m->zeros_sent[r] < CREDITS) {
            int *msg = malloc(sizeof *msg);
            if (!msg)
                MPI_Abort(m->comm, ABORT_CODE);
            *msg = urgent;
            sw_outbox_send(&m->box, m->comm, msg, 1, MPI_INT, r, TAG_STOP);
        }
    sync_outputs(m);
    if (m->opt->quiet || m->io_failed || m->opt->merge_only)
        return;
    if (urgent)
        say(m->opt, 1, "%s: no new tasks; tasks still running in %.1f s are abandoned (--resume runs them again)",
            reason, URGENT_GRACE);
    else
        say(m->opt, 1, "%s: no new tasks; finishing the running ones", reason);
}

/* Answers every worker that is waiting: its results, then a batch (or
 * nothing, which tells it to stop). */
static void serve_workers(master *m, MPI_Comm comm, double start)
{
    for (;;) {
        int flag;
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULTS, comm, &flag, &status);
        if (!flag)
            return;
        int src = status.MPI_SOURCE;
        double cpu = sw_thread_cpu();
        uint32_t flags = receive_results(m, comm, &status);
        cpu = sw_thread_cpu() - cpu;
        m->stat_cpu += cpu;
        ++m->stat_messages;
        if (flags & MSG_STATUSES) {
            m->stat_status_cpu += cpu;
            ++m->stat_status_messages;
        }
        if (flags >> MSG_SIGNAL_SHIFT && !m->remote_signal)
            m->remote_signal = (int)(flags >> MSG_SIGNAL_SHIFT & 0xff);
        if (!(flags & MSG_REQUEST))
            continue;
        if (!m->greeted[src]) {
            m->greeted[src] = 1;
            ++m->workers_greeted;
        }
        const char *reason;
        int urgent;
        if (!m->stopping && stop_requested(m, start, &reason, &urgent))
            begin_stop(m, reason, urgent);
        size_t n = m->stopping ? 0 : next_batch(m, m->layout->weight[src], 0, m->ids);
        uint64_t *copy = malloc((n ? n : 1) * sizeof *copy);
        if (!copy)
            MPI_Abort(comm, ABORT_CODE);
        memcpy(copy, m->ids, n * sizeof *copy);
        sw_outbox_send(&m->box, comm, copy, (int)n, MPI_UINT64_T, src, TAG_WORK);
        if (n == 0 && ++m->zeros_sent[src] == CREDITS)
            --m->workers_left;
    }
}

/* Records rank 0's thread finished, waiting up to seconds for some. */
static void collect_local(master *m, double seconds)
{
    size_t n = 0;
    sw_local_collect(&m->local, seconds, &m->collected, &n, &m->cap_collected);
    for (size_t k = 0; k < n; ++k)
        accept_record(m, &m->collected[k]);
    if (n > 0)
        records_accepted(m);
    if (m->local.no_memory && !m->io_failed) {
        ssm_error err;
        ssm_fail(&err, SSM_ENOMEM, "out of memory for the results of rank 0");
        output_failed(m, &m->h5_failed, &err);
    }
}

static void master_loop(master *m, MPI_Comm comm, double start)
{
    const int size = m->size;
    const char *reason = NULL;
    int urgent = 0;
    for (;;) {
        serve_workers(m, comm, start);
        collect_local(m, 0);
        if (!m->stopping && stop_requested(m, start, &reason, &urgent))
            begin_stop(m, reason, urgent);
        int idle = sw_local_idle(&m->local);
        /* rank 0 starts work of its own only once every worker has asked
         * for work: a task of minutes (kind sfmnist) begun before the first
         * requests arrive would leave the workers idle for its whole
         * length */
        if (!m->stopping && idle && !sw_queue_empty(&m->queue) && m->local.started &&
            ((size <= MASTER_COMPUTES_MAX_RANKS && m->workers_greeted == m->layout->clients) ||
             m->workers_left == 0)) {
            sw_local_give(&m->local, m->ids, next_batch(m, 1, 1, m->ids));
            idle = 0;
        }
        if (m->workers_left == 0 && idle && (m->stopping || sw_queue_empty(&m->queue)))
            break;
        if (m->stopping && m->urgent && sw_now() >= m->deadline)
            break;   /* what still runs is abandoned */
        /* waiting: on the thread's results if it is all there is, else
         * polling the workers gently instead of spinning */
        if (m->workers_left == 0 && m->local.started)
            collect_local(m, WAIT_SLICE);
        else
            sw_nap(200e-6);
        if (sw_now() - m->last_sync >= m->opt->sync_interval)
            sync_outputs(m);
        sw_progress_update(&m->progress, m->n_done, m->n_failed, 0);
    }
}

/* After the files are closed: workers still finishing a task are answered
 * (their results dropped) until each has its stop. */
static void drain_workers(master *m, MPI_Comm comm, double start)
{
    while (m->workers_left > 0) {
        serve_workers(m, comm, start);
        if (m->workers_left > 0)
            sw_nap(1e-3);
    }
}

/* ---- the queue --------------------------------------------------- */


/* A record of a part journal, copied (the reader frees its own) into
 * rank 0's own writing path. */
static int absorb_record(void *ctx, const sw_record *rec)
{
    master *m = ctx;
    sw_record copy;
    ssm_error err;
    if (sw_record_copy(&copy, rec, &m->scratch, &m->cap_scratch, &err) != SSM_OK) {
        output_failed(m, &m->h5_failed, &err);
        return 1;
    }
    accept_record(m, &copy);
    return m->io_failed;
}

/* Part files: once every leader has closed its part journal (each said
 * goodbye), rank 0 takes their records as it takes a worker's: appended
 * to OUT.h5.journal and written into OUT.h5; the parts are removed only
 * after both are closed and durable (finish_merge).  A kill before that
 * leaves the parts beside a journal that may hold some of their records
 * too: --resume reads them all, keeps one record per task and rewrites
 * the journal (resume.h).  After an urgent stop or an output error, and
 * with --part-files=keep, the parts stay for --resume.  Returns whether
 * the parts were taken. */
static int merge_parts(master *m, const sw_outfiles *files)
{
    if (!m->parts || m->urgent || m->io_failed || m->workers_left > 0)
        return 0;
    if (m->opt->part_files == SW_PARTS_KEEP) {
        size_t left = m->tasks->n_tasks - m->n_done - m->n_failed;
        if (!m->opt->quiet && left == 0)
            say(m->opt, 0, "part journals kept: ssmsweep run SPEC -o %s --merge-only merges them into %s",
                files->output, files->output);
        else if (!m->opt->quiet)
            say(m->opt, 0, "part journals kept: ssmsweep run SPEC -o %s --resume merges them into %s and runs the "
                "%zu task%s left", files->output, files->output, left, left == 1 ? "" : "s");
        return 0;
    }
    sw_journal_part_list parts;
    sw_journal_header h;
    ssm_error err;
    if (sw_journal_parts(files->output, &parts, &err) != SSM_OK) {
        output_failed(m, &m->journal_failed, &err);
        return 0;
    }
    for (size_t k = 0; k < parts.n && !m->io_failed; ++k)
        if (sw_journal_read(parts.path[k], &h, absorb_record, m, NULL, &err) != SSM_OK)
            output_failed(m, &m->journal_failed, &err);
    sw_journal_parts_free(&parts);
    return !m->io_failed;
}

/* After the outputs are closed: OUT.h5 durable, then the parts go. */
static void finish_merge(master *m, const sw_outfiles *files)
{
    ssm_error err;
    if (!m->io_failed && (sw_sync_path(files->output, &err) != SSM_OK ||
                          sw_journal_parts_remove(files->output, &err) != SSM_OK))
        output_failed(m, &m->h5_failed, &err);
}

/* The outputs closed: the journal, then the HDF5 file with its counts. */
static void close_outputs(master *m)
{
    char end_utc[32];
    ssm_error close_err;
    flush_buffer(m);
    sync_outputs(m);
    sw_utc_now(end_utc, sizeof end_utc);
    if (m->journal_failed)   /* nothing more is written: what it holds stays valid */
        sw_journal_abandon(m->journal);
    else if (sw_journal_close(m->journal, &close_err) != SSM_OK)
        output_failed(m, &m->journal_failed, &close_err);
    else
        sw_ckpt_pending_remove(&m->ckpt_done);
    m->journal = NULL;
    if (sw_h5_close(m->h5, end_utc, &close_err) != SSM_OK)
        output_failed(m, &m->h5_failed, &close_err);
    m->h5 = NULL;
    m->closed = 1;
}

/* rank 0 of a run that left its compute thread inside a task */
static int local_left_running;

int sw_coordinate_end(int code)
{
    if (local_left_running) {
        /* the thread's task cannot be stopped, and exit handlers (OpenBLAS,
         * FFTW) would pull its memory away under it: end here */
        fflush(stdout);
        fflush(stderr);
        _exit(code);
    }
    return code;
}

/* Everything rank 0 holds, released (also after a failed set-up). */
static void master_free(master *m)
{
    for (size_t k = 0; k < m->n_buffer; ++k)
        sw_record_free(&m->buffer[k]);
    if (m->journal)
        sw_journal_abandon(m->journal);
    if (m->h5)
        sw_h5_close(m->h5, NULL, NULL);
    local_left_running = sw_local_stop(&m->local);
    sw_ckpt_pending_free(&m->ckpt_done);
    free(m->collected);
    free(m->scratch);
    free(m->state);
    sw_queue_free(&m->queue);
    sw_task_cursor_end(&m->check);
    free(m->buffer);
    free(m->zeros_sent);
    free(m->greeted);
    free(m->ids);
    sw_lock_release(&m->lock);
}

/* Lock, outputs, queue, compute thread: SSM_OK to go on (SSM_EINVAL:
 * refused, nothing written). */
static ssm_status master_setup(master *m, const sw_outfiles *files, const sw_provenance *prov, const char *host,
                               ssm_error *err)
{
    const sw_tasks *t = m->tasks;
    const sw_run_options *opt = m->opt;
    size_t n = t->n_tasks ? t->n_tasks : 1;
    m->state = calloc(n, 1);
    m->buffer = malloc(H5_BATCH * sizeof *m->buffer);
    m->zeros_sent = calloc((size_t)m->size, sizeof *m->zeros_sent);
    m->greeted = calloc((size_t)m->size, sizeof *m->greeted);
    m->ids = malloc((size_t)MAX_BATCH * (size_t)m->layout->max_weight * sizeof *m->ids);
    if (!m->state || !m->buffer || !m->zeros_sent || !m->greeted || !m->ids) {
        return ssm_fail(err, SSM_ENOMEM, "out of memory for %zu tasks", t->n_tasks);
    }
    ssm_status st = sw_task_cursor_start(&m->check, t, err);
    if (st == SSM_OK)
        st = sw_lock_take(&m->lock, files, "run", err);
    if (st != SSM_OK)
        return st;
    sw_resume_request rq = {t, files, prov, opt->resume, opt->force, opt->quiet, opt->say, opt->say_ctx};
    sw_outputs out = {.state = m->state};
    if ((st = sw_resume_open(&rq, &out, err)) != SSM_OK)
        return st;
    m->journal = out.journal;
    m->h5 = out.h5;
    m->n_done = out.n_done;
    m->n_failed = out.n_failed;
    /* what is not done (failed ones only with --retry-failed), most
     * expensive first; ties keep id order so runs are comparable */
    if ((st = sw_queue_init(&m->queue, t, m->state, opt->retry_failed, err)) != SSM_OK)
        return st;
    if (m->size <= MASTER_COMPUTES_MAX_RANKS && sw_local_start(&m->local, t, 0, host, m->ckpt_dir) != 0) {
        return ssm_fail(err, SSM_EIO, "cannot start rank 0's compute thread");
    }
    return SSM_OK;
}

/* How the run ended, once rank 0 has closed its outputs. */
static sw_run_status outcome(master *m, sw_run_outcome *out)
{
    size_t pending = m->tasks->n_tasks - m->n_done - m->n_failed;
    out->n_tasks = m->tasks->n_tasks;
    out->n_done = m->n_done;
    out->n_failed = m->n_failed;
    if (m->io_failed) {
        out->err = m->err;
        out->after_progress = !m->opt->quiet;
        return SW_RUN_ERROR;
    }
    if (pending > 0)
        return SW_RUN_INTERRUPTED;
    return m->n_failed > 0 ? SW_RUN_TASKS_FAILED : SW_RUN_DONE;
}

/* The status every rank returns: rank 0's. */
static sw_run_status agree(MPI_Comm comm, sw_run_status status)
{
    int code = (int)status;
    MPI_Bcast(&code, 1, MPI_INT, 0, comm);
    return (sw_run_status)code;
}

/* SSMSWEEP_COORD_STATS=1: rank 0's cost of the results it received (the
 * README's "Hierarchical coordination" measures the writer with it). */
static void say_stats(const master *m)
{
    const char *want = getenv("SSMSWEEP_COORD_STATS");
    if (!want || !*want || strcmp(want, "0") == 0)
        return;
    size_t records = m->stat_records ? m->stat_records : 1, messages = m->stat_messages ? m->stat_messages : 1;
    say(m->opt, 0, "coordinator stats: %s; %zu messages with %zu records from the other ranks; rank 0's main "
        "thread %.3f s CPU receiving and writing them: %.2f us per record, %.1f us per message, %.0f records "
        "per message", m->layout->description, m->stat_messages, m->stat_records, m->stat_cpu,
        1e6 * m->stat_cpu / (double)records, 1e6 * m->stat_cpu / (double)messages,
        (double)m->stat_records / (double)messages);
    if (m->parts)
        say(m->opt, 0, "coordinator stats: part files: %zu status messages with %zu tasks, %.3f s CPU: %.3f us per "
            "task, %.1f us per message; part journals merged (and the files closed) in %.3f s wall, %.3f s CPU: "
            "%.2f us per task of the sweep", m->stat_status_messages, m->stat_statuses, m->stat_status_cpu,
            1e6 * m->stat_status_cpu / (double)(m->stat_statuses ? m->stat_statuses : 1),
            1e6 * m->stat_status_cpu / (double)(m->stat_status_messages ? m->stat_status_messages : 1),
            m->stat_merge, m->stat_merge_cpu,
            1e6 * m->stat_merge_cpu / (double)(m->tasks->n_tasks ? m->tasks->n_tasks : 1));
}

/* ---- entry point ---------------------------------------------------------------- */

sw_run_status sw_coordinate(MPI_Comm comm, const sw_tasks *t, const sw_run_options *opt, sw_run_outcome *out)
{
    int rank, size;
    sw_run_status status = SW_RUN_DONE;
    char host[SW_HOST_MAX] = "unknown";
    memset(out, 0, sizeof *out);
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
        ssm_fail(&out->err, SSM_EINVAL, "the ranks read different specs from %s", opt->spec_path);
        return out->status = SW_RUN_REFUSED;
    }

    char *hosts = NULL, libraries[1024] = "", start_utc[32];
    sw_utc_now(start_utc, sizeof start_utc);
    sw_gather_provenance(comm, rank, size, host, &hosts, libraries, sizeof libraries);

    sw_outfiles files;
    if (sw_outfiles_init(&files, opt->output, &out->err) != SSM_OK) {   /* checked before MPI_Init too */
        free(hosts);
        return out->status = SW_RUN_REFUSED;
    }
    sw_layout layout;
    if (sw_layout_build(comm, &opt->leaders, &layout) != 0) {
        ssm_fail(&out->err, SSM_ENOMEM, "out of memory for the layout of %d ranks", size);
        sw_layout_free(&layout);
        free(hosts);
        return out->status = SW_RUN_ERROR;
    }
    /* part files only under leaders: flat coordination stays as it is */
    const int parts = opt->part_files != SW_PARTS_NONE && layout.hierarchical;
    if (parts)
        snprintf(layout.description + strlen(layout.description), sizeof layout.description - strlen(layout.description),
                 "; part files%s", opt->part_files == SW_PARTS_KEEP ? " (kept)" : "");
    master m;
    memset(&m, 0, sizeof m);
    m.lock.fd = -1;
    double start = sw_now();
    sw_provenance prov = {opt->spec_path, opt->spec_text, opt->command_line, start_utc,
                          hosts ? hosts : host, libraries, size, NULL, layout.description};
    if (rank == 0) {
        m.parts = parts;
        m.tasks = t;
        m.opt = opt;
        m.comm = comm;
        m.size = size;
        m.layout = &layout;
        m.workers_left = layout.clients;
        /* tasks that take long (kind sfmnist) checkpoint here between epochs */
        m.ckpt_dir = files.ckpt;
        m.ckpt_done.dir = files.ckpt;
        m.last_sync = start;
        ssm_status st = master_setup(&m, &files, &prov, host, &out->err);
        status = st == SSM_OK ? SW_RUN_DONE : st == SSM_EINVAL ? SW_RUN_REFUSED : SW_RUN_ERROR;
    }
    status = agree(comm, status);
    if (status != SW_RUN_DONE)
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
            say(opt, 0, "%zu tasks%s (%zu done, %zu failed before), %d rank%s -> %s", t->n_tasks, part, m.n_done,
                m.n_failed, size, size > 1 ? "s" : "", opt->output);
        master_loop(&m, comm, start);
        collect_local(&m, 0);
        double merge_start = sw_now(), merge_cpu = sw_thread_cpu();
        int merged = merge_parts(&m, &files);
        close_outputs(&m);
        if (merged)
            finish_merge(&m, &files);
        m.stat_merge = sw_now() - merge_start;
        m.stat_merge_cpu = sw_thread_cpu() - merge_cpu;
        /* the files are closed: another run may take them (a SIGKILL that
         * follows while workers finish must not leave the lock behind) */
        sw_lock_release(&m.lock);
        status = outcome(&m, out);
        if (status != SW_RUN_INTERRUPTED && status != SW_RUN_ERROR)
            rmdir(files.ckpt);   /* finished tasks' checkpoints are gone; fails harmlessly if absent */
        sw_progress_finish(&m.progress, status == SW_RUN_INTERRUPTED && opt->merge_only
                                            ? "merged; the tasks left run with --resume"
                                        : status == SW_RUN_INTERRUPTED ? "interrupted (resume with --resume)"
                                        : status == SW_RUN_ERROR     ? "stopped by an error"
                                                                     : "finished");
        drain_workers(&m, comm, start);
        sw_outbox_drain(&m.box);
        say_stats(&m);
    } else {
        double flush = opt->sync_interval > 0 ? opt->sync_interval : 1.0;
        sw_leader_io io = {files.ckpt, flush, parts ? files.output : NULL, opt->say, opt->say_ctx};
        if (layout.role == SW_ROLE_LEADER)
            local_left_running = sw_leader(comm, &layout, t, rank, host, &io);
        else if (layout.role == SW_ROLE_MEMBER)   /* half of --sync to the leader, half from it */
            sw_worker(layout.group, t, rank, host, files.ckpt, 0.5 * flush);
        else
            sw_worker(comm, t, rank, host, files.ckpt, flush);
    }
    status = agree(comm, status);
done:
    if (rank == 0)
        master_free(&m);
    sw_layout_free(&layout);
    free(hosts);
    return out->status = status;
}

/* ssmsim: a discrete-event simulator of ssmsweep's coordinator
 * (src/sweep/coordinator.c), flat and hierarchical, to predict parallel
 * efficiency and rank 0's load at rank counts this machine cannot run.
 *
 * What it models, following the coordinator's protocol:
 *  - rank 0 is a polling server: it serves every message that has arrived
 *    (in arrival order), then collects its compute thread's records, then
 *    naps (nap seconds: the real 200 us nanosleep plus the loop around it);
 *    a message costs c_msg plus c_rec per record, every H5_BATCH records
 *    cost c_h5 more, and the journal fsync + HDF5 flush (c_sync) comes at
 *    most every sync seconds;
 *  - guided self-scheduling on cost: a batch is the tasks from the head of
 *    the cost-ordered queue until their cost reaches queue_cost / (4 size),
 *    at most MAX_BATCH; rank 0's thread (at most 32 ranks) takes from the
 *    tail once every worker has asked, and only when its batch is done;
 *  - workers keep CREDITS requests outstanding, run a batch's tasks in turn
 *    (task time + w_task), deliver results with their next request, and
 *    within a long batch every sync seconds; two empty batches end a worker;
 *  - hierarchical: one leader per node of R ranks (a rank of its own); rank 0
 *    serves the leaders with node batches (a quarter of the node's fair
 *    share, at most leader_batch tasks), a leader serves its workers with
 *    worker-sized batches (the target rank 0 computed for one worker) and
 *    forwards their results in aggregated messages (at agg_records records
 *    or after agg_interval), and says when its node is done.  Results are
 *    written by rank 0 (writer=rank0: rank 0 pays c_rec per record, a leader
 *    c_fwd) or by each leader into part journals (writer=node: a leader pays
 *    c_part, no HDF5; rank 0 c_ack per status, then c_merge per part record
 *    in the merge after the last task, which --part-files=keep defers:
 *    efficiency_keep).
 * Everything is deterministic; times in seconds.
 *
 * Usage: ssmsim [key=value ...] [calib=FILE]; prints key=value results.
 * Keys: see the params table below.  Durations: uniform duration=D, or
 * log-spaced from dmin to dmax (tasks=N, spread=log). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH 4096    /* coordinator.c */
#define H5_BATCH 1024     /* coordinator.c */
#define CREDITS 2         /* coordinator.c */
#define MASTER_COMPUTES_MAX_RANKS 32
#define LOCAL_NOTIFY 256

/* ---- parameters ------------------------------------------------------------ */

typedef struct {
    const char *name;
    double value;
    const char *help;
} param;

static param params[] = {
    {"ranks", 2, "MPI ranks P (rank 0 included)"},
    {"tasks", 1000, "number of tasks"},
    {"duration", 0.01, "task duration (uniform), s"},
    {"dmin", 0, "with dmax: log-spaced durations from dmin to dmax"},
    {"dmax", 0, ""},
    {"hier", 0, "1: hierarchical (node leaders)"},
    {"rpn", 128, "ranks per node (hierarchical)"},
    {"writer_node", 0, "1: leaders write per-node part files"},
    {"c_msg", 3e-6, "rank 0 / leader cost per message received (probe, recv, reply), s"},
    {"c_rec", 2.3e-6, "rank 0 cost per record (unpack, journal append, state), s"},
    {"c_h5", 1e-3, "cost of one HDF5 write of H5_BATCH rows, s"},
    {"c_sync", 2e-3, "journal fsync + HDF5 flush, s"},
    {"c_fwd", 0.3e-6, "leader cost per record it forwards, s"},
    {"c_ack", 0.1e-6, "rank 0 cost per record written elsewhere (status only), s"},
    {"c_part", -1, "leader cost per record into its part journal (no HDF5); < 0: c_rec, s"},
    {"c_merge", 0, "rank 0's cost per part record in the merge after the last task (serial), s"},
    {"nap", 260e-6, "rank 0's idle loop period (200 us nap + loop), s"},
    {"leader_nap", 260e-6, "a leader's idle loop period, s"},
    {"w_task", 1.5e-6, "worker overhead per task (run bookkeeping, pack), s"},
    {"lat", 2e-6, "one-way message latency, s"},
    {"sync", 1, "--sync: seconds between fsyncs and a long batch's deliveries"},
    {"leader_batch", 65536, "largest node batch"},
    {"agg_records", 4096, "a leader forwards when it holds this many records"},
    {"agg_interval", 0.05, "or when its oldest held record is this old, s"},
    {"local", -1, "rank 0 computes too: 1, 0, -1 as the coordinator (P <= 32)"},
};
enum { N_PARAMS = sizeof params / sizeof params[0] };

static double par(const char *name)
{
    for (int k = 0; k < N_PARAMS; ++k)
        if (strcmp(params[k].name, name) == 0)
            return params[k].value;
    fprintf(stderr, "ssmsim: no parameter %s\n", name);
    exit(2);
}

static int set_param(const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    if (!eq)
        return -1;
    for (int k = 0; k < N_PARAMS; ++k)
        if (strlen(params[k].name) == (size_t)(eq - assignment) &&
            strncmp(params[k].name, assignment, (size_t)(eq - assignment)) == 0) {
            char *end;
            params[k].value = strtod(eq + 1, &end);
            return end != eq + 1 && (*end == '\0' || *end == '\n' || *end == ' ') ? 0 : -1;
        }
    return -1;
}

/* key = value lines; '#' starts a comment; unknown keys are an error */
static int read_calibration(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "ssmsim: cannot open %s\n", path);
        return -1;
    }
    char line[512];
    int rc = 0, n = 0;
    while (fgets(line, sizeof line, f)) {
        ++n;
        line[strcspn(line, "#\n")] = '\0';
        char key[128], value[128];
        if (sscanf(line, " %127[^= ] = %127s", key, value) != 2)
            continue;
        char assignment[300];
        snprintf(assignment, sizeof assignment, "%s=%s", key, value);
        if (set_param(assignment)) {
            fprintf(stderr, "ssmsim: %s:%d: bad line\n", path, n);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

/* ---- events ------------------------------------------------------------------ */

enum { EV_ARRIVE, EV_STEP, EV_BATCH_DONE, EV_LOCAL_DONE };

typedef struct {
    double t;
    long seq;              /* ties in insertion order: deterministic */
    int type, who;
    long a, b;             /* message: records, flags | range: lo, n */
    double target;
} event;

static event *heap;
static long heap_n, heap_cap, heap_seq;

static int earlier(const event *x, const event *y)
{
    return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

static void push(event e)
{
    if (heap_n == heap_cap) {
        heap_cap = heap_cap ? 2 * heap_cap : 1024;
        heap = realloc(heap, (size_t)heap_cap * sizeof *heap);
        if (!heap)
            abort();
    }
    e.seq = heap_seq++;
    long i = heap_n++;
    while (i > 0 && earlier(&e, &heap[(i - 1) / 2])) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = e;
}

static event pop(void)
{
    event top = heap[0], last = heap[--heap_n];
    long i = 0;
    for (;;) {
        long c = 2 * i + 1;
        if (c >= heap_n)
            break;
        if (c + 1 < heap_n && earlier(&heap[c + 1], &heap[c]))
            ++c;
        if (!earlier(&heap[c], &last))
            break;
        heap[i] = heap[c];
        i = c;
    }
    heap[i] = last;
    return top;
}

/* ---- the world ---------------------------------------------------------------- */

/* message flags */
#define F_REQUEST 1
#define F_DONE 2   /* a leader's node has finished */

typedef struct {
    double arrival;
    int from, flags;
    long records;
} message;

typedef struct {
    long lo, n;
    double target;   /* the worker-sized target (node batches) */
} range;

typedef struct {
    range *r;
    long head, tail, cap;
} ranges;

static void ranges_push(ranges *q, range r)
{
    if (q->tail == q->cap) {
        q->cap = q->cap ? 2 * q->cap : 8;
        q->r = realloc(q->r, (size_t)q->cap * sizeof *q->r);
        if (!q->r)
            abort();
    }
    q->r[q->tail++] = r;
}

/* A server: rank 0, or a leader towards its node's workers. */
typedef struct {
    message *in;
    long in_head, in_tail, in_cap;
    int state;            /* S_RUN: a step is scheduled; S_NAP: napping since nap_start; S_END */
    long gen;             /* only the latest scheduled step counts */
    double nap_start, wake_at, period;
    double busy;
    long msgs, recs;
    double last_sync;
    long unsynced, h5_rows;
    int writes;           /* keeps the journal (and, h5, the HDF5) outputs */
    int h5;
    double per_rec;       /* c_rec, c_fwd or c_ack */
    int clients, clients_left, *zeros, greeted_n, *greeted;
    int first_client;
    /* leader only */
    ranges local;         /* node batches received, not yet handed out */
    int *waiting;         /* workers whose request waits for tasks */
    int n_waiting, zeros_from_0, requests_out;
    long held;            /* records held for forwarding */
    double held_since;
} server;
enum { S_RUN, S_NAP, S_END };

typedef struct {
    int server;           /* 0: rank 0; k > 0: leader k - 1 */
    int id;               /* as its server's client */
    ranges fifo;
    int busy, zeros;
} worker;

static double *dur;         /* task durations, most expensive first */
static long n_tasks, q_head, q_tail;
static double q_cost;
static int P, hier, rpn, n_nodes;
static server *srv;         /* srv[0] rank 0, srv[1..n_nodes] leaders */
static worker *wk;
static int n_workers;
static double c_msg, c_rec, c_h5, c_sync, c_fwd, c_ack, w_task, lat, sync_s, agg_interval;
static long leader_batch, agg_records;
static double first_start = -1, last_end, end_time = -1;
/* rank 0's compute thread */
static int local_on, local_busy;
static double *local_done;  /* completion times of its current batch */
static long local_n, local_collected;

static void schedule(int type, int who, double t, long a, long b, double target)
{
    push((event){.t = t, .type = type, .who = who, .a = a, .b = b, .target = target});
}

/* Guided self-scheduling on cost, from the head (workers) or the tail. */
static range next_batch(double share, long cap, int from_tail)
{
    double target = q_cost * share, cost = 0;
    range r = {from_tail ? q_tail : q_head, 0, 0};
    while (q_head < q_tail && r.n < cap && (r.n == 0 || cost < target)) {
        long id = from_tail ? --q_tail : q_head++;
        cost += dur[id];
        ++r.n;
    }
    if (from_tail)
        r.lo = q_tail;
    q_cost -= cost;
    return r;
}

static void step_at(int s, double at)
{
    schedule(EV_STEP, s, at, ++srv[s].gen, 0, 0);
}

/* A napping server sees what happened at t when its nap ends. */
static void wake(int s, double t)
{
    server *v = &srv[s];
    if (v->state != S_NAP)
        return;
    /* the nap that began at nap_start ends on its period's grid */
    double k = ceil((t - v->nap_start) / v->period);
    double at = v->nap_start + (k < 1 ? 1 : k) * v->period;
    if (at < v->wake_at) {
        v->wake_at = at;
        step_at(s, at);
    }
}

/* Rank 0 waiting on its thread's signal (no worker left): no nap grid. */
static void wake_exact(int s, double at)
{
    server *v = &srv[s];
    if (v->state == S_NAP && at < v->wake_at) {
        v->wake_at = at;
        step_at(s, at);
    }
}

static void send_to_server(int s, int from, double t, long records, int flags)
{
    schedule(EV_ARRIVE, s, t + lat, records, flags | ((long)from << 8), 0);
}

static void send_batch(int w, double t, range r)
{
    schedule(EV_ARRIVE, -1 - w, t + lat, r.lo, r.n, r.target);
}

/* A worker runs a batch: results go out within it every sync seconds and
 * with the request at its end. */
static void worker_start(int w, double t)
{
    worker *x = &wk[w];
    range r = x->fifo.r[x->fifo.head++];
    int s = x->server;
    double last_sent = t;
    long unsent = 0;
    x->busy = 1;
    if (first_start < 0 || t < first_start)
        first_start = t;
    for (long k = 0; k < r.n; ++k) {
        t += dur[r.lo + k] + w_task;
        ++unsent;
        if (k + 1 < r.n && t - last_sent >= sync_s) {
            send_to_server(s, x->id, t, unsent, 0);
            unsent = 0;
            last_sent = t;
        }
    }
    if (t > last_end)
        last_end = t;
    send_to_server(s, x->id, t, unsent, F_REQUEST);
    schedule(EV_BATCH_DONE, w, t, 0, 0, 0);
}

static void worker_receive(int w, double t, range r)
{
    worker *x = &wk[w];
    if (r.n == 0) {
        ++x->zeros;
        return;
    }
    ranges_push(&x->fifo, r);
    if (!x->busy)
        worker_start(w, t);
}

/* ---- servers' costs ------------------------------------------------------------ */

/* Records accepted at a writing server: journal and HDF5 batches. */
static double accept_records(server *v, long n, double t)
{
    double cost = (double)n * v->per_rec;
    v->recs += n;
    if (v->writes) {
        v->unsynced += n;
        long before = v->h5_rows / H5_BATCH;
        v->h5_rows += n;
        if (v->h5)
            cost += (double)(v->h5_rows / H5_BATCH - before) * c_h5;
        if (t + cost - v->last_sync >= sync_s && v->unsynced) {
            cost += c_sync;
            v->unsynced = 0;
            v->last_sync = t + cost;
        }
    }
    return cost;
}

/* The worker-sized target for one worker of P. */
static double worker_share(void) { return 1.0 / (4.0 * P); }

/* ---- leaders ------------------------------------------------------------------ */

/* A leader's batch for one of its workers from its node batches. */
static range leader_take(server *v, int *exhausted)
{
    range *src = &v->local.r[v->local.head];
    double cost = 0;
    range r = {src->lo, 0, 0};
    while (src->n > 0 && r.n < MAX_BATCH && (r.n == 0 || cost < src->target)) {
        cost += dur[src->lo];
        ++src->lo;
        --src->n;
        ++r.n;
    }
    *exhausted = src->n == 0;
    if (*exhausted)
        ++v->local.head;
    return r;
}

static int leader_worker(int s, int client) { return srv[s].first_client + client; }

/* Answers a worker's request: tasks, a stop, or later. */
static double leader_answer(int s, int client, double t)
{
    server *v = &srv[s];
    double cost = 0;
    if (v->local.head < v->local.tail) {
        int exhausted;
        range r = leader_take(v, &exhausted);
        send_batch(leader_worker(s, client), t, r);
        if (exhausted) {   /* a node batch handed out: ask for the next, with the results held */
            cost += c_msg;
            send_to_server(0, s, t, v->held, F_REQUEST);   /* from = leader index s */
            v->held = 0;
        }
    } else if (v->zeros_from_0 >= CREDITS) {
        send_batch(leader_worker(s, client), t, (range){0, 0, 0});
        if (++v->zeros[client] == CREDITS)
            --v->clients_left;
    } else {
        v->waiting[v->n_waiting++] = client;
    }
    return cost;
}

static double leader_forward(int s, double t, int final)
{
    server *v = &srv[s];
    if (!final && (v->held == 0 || (v->held < agg_records && t - v->held_since < agg_interval)))
        return 0;
    send_to_server(0, s, t, v->held, final ? F_DONE : 0);
    v->held = 0;
    return c_msg;
}

/* ---- one step of a server ------------------------------------------------------- */

static void rank0_reply(int client, double t)
{
    server *v = &srv[0];
    range r = {0, 0, 0};
    if (q_head < q_tail) {
        if (hier) {
            int node_workers = srv[client].clients;
            r = next_batch(node_workers * worker_share(), leader_batch, 0);
            r.target = q_cost * worker_share();
            if (r.target <= 0)
                r.target = dur[r.lo];
        } else {
            r = next_batch(worker_share(), MAX_BATCH, 0);
        }
    }
    if (hier)
        schedule(EV_ARRIVE, -1000000 - client, t + lat, r.lo, r.n, r.target);   /* client: leader index */
    else
        send_batch(client - 1 < 0 ? 0 : client - 1, t, r);
    if (r.n == 0 && ++v->zeros[client] == CREDITS && !hier)
        --v->clients_left;
}

static void local_give(double t)
{
    range r = next_batch(worker_share(), MAX_BATCH, 1);
    local_done = realloc(local_done, (size_t)(r.n ? r.n : 1) * sizeof *local_done);
    double at = t;
    for (long k = 0; k < r.n; ++k) {
        at += dur[r.lo + k] + w_task;
        local_done[k] = at;
    }
    if (first_start < 0 || t < first_start)
        first_start = t;
    if (at > last_end)
        last_end = at;
    local_n = r.n;
    local_collected = 0;
    local_busy = r.n > 0;
    if (local_busy)
        schedule(EV_LOCAL_DONE, 0, at, 0, 0, 0);
}

/* Records of rank 0's thread finished by t. */
static double local_collect(double t)
{
    long k = local_collected;
    while (k < local_n && local_done[k] <= t)
        ++k;
    double cost = accept_records(&srv[0], k - local_collected, t);
    local_collected = k;
    if (local_collected == local_n && local_busy && local_done[local_n - 1] <= t)
        local_busy = 0;
    return cost;
}

static int rank0_finished(void)
{
    server *v = &srv[0];
    return v->clients_left == 0 && !local_busy && q_head == q_tail;
}

static void step(int s, double t, long gen)
{
    server *v = &srv[s];
    if (v->state == S_END || gen != v->gen)
        return;   /* superseded by an earlier wake-up */
    v->state = S_RUN;
    v->wake_at = INFINITY;
    double cost = 0;
    if (v->in_head < v->in_tail && v->in[v->in_head].arrival <= t) {
        message m = v->in[v->in_head++];
        ++v->msgs;
        cost = c_msg + accept_records(v, m.records, t);
        if (s == 0) {
            if (hier && (m.flags & F_DONE))
                --v->clients_left;
            if (m.flags & F_REQUEST) {
                if (!v->greeted[m.from]) {
                    v->greeted[m.from] = 1;
                    ++v->greeted_n;
                }
                rank0_reply(m.from, t + cost);
            }
        } else {
            v->held += m.records;
            if (v->held == m.records)
                v->held_since = t;
            if (m.flags & F_REQUEST)
                cost += leader_answer(s, m.from, t + cost);
        }
        v->busy += cost;
        step_at(s, t + cost);
        return;
    }
    /* the inbox is empty: what the loop does between serving and napping */
    if (s == 0) {
        if (local_on) {
            cost += local_collect(t);
            if (!local_busy && q_head < q_tail &&
                ((P <= MASTER_COMPUTES_MAX_RANKS && v->greeted_n == v->clients) || v->clients_left == 0))
                local_give(t + cost);
        }
        if (rank0_finished()) {
            v->busy += cost;
            end_time = t + cost;
            v->state = S_END;
            return;
        }
    } else {
        cost += leader_forward(s, t, 0);
        if (v->clients_left == 0 && v->zeros_from_0 >= CREDITS) {
            cost += leader_forward(s, t + cost, 1);
            v->busy += cost;
            v->state = S_END;
            return;
        }
    }
    if (v->writes && v->unsynced && t + cost - v->last_sync >= sync_s) {
        cost += c_sync;
        v->unsynced = 0;
        v->last_sync = t + cost;
    }
    v->busy += cost;
    v->state = S_NAP;
    v->nap_start = t + cost;
    v->wake_at = INFINITY;
    /* wake-ups the real loop would find on its own */
    if (v->in_head < v->in_tail)
        wake(s, v->in[v->in_head].arrival);
    if (v->writes && v->unsynced)
        wake(s, v->last_sync + sync_s);
    if (s > 0 && v->held)
        wake(s, v->held_since + agg_interval);
    if (s == 0 && local_on && local_busy && local_collected < local_n) {
        if (v->clients_left == 0) {   /* waits on the thread: woken at LOCAL_NOTIFY records or the batch's end */
            long k = local_collected + LOCAL_NOTIFY - 1;
            wake_exact(s, local_done[k < local_n ? k : local_n - 1]);
        } else {
            wake(s, local_done[local_collected]);
        }
    }
    if (s == 0 && local_on && !local_busy && q_head < q_tail)
        wake(s, v->nap_start);   /* gives rank 0's thread a batch once allowed */
}

static void arrive(event *e)
{
    if (e->who <= -1000000) {   /* a node batch reaches a leader */
        int s = (int)(-1000000 - e->who);
        server *v = &srv[s];
        if (e->b == 0) {
            ++v->zeros_from_0;
        } else {
            ranges_push(&v->local, (range){e->a, e->b, e->target});
        }
        /* the leader answers waiting workers at its next step */
        while (v->n_waiting > 0 && (v->local.head < v->local.tail || v->zeros_from_0 >= CREDITS)) {
            int client = v->waiting[--v->n_waiting];
            v->busy += leader_answer(s, client, e->t);
        }
        if (v->state == S_NAP)
            wake(s, e->t);
        return;
    }
    if (e->who < 0) {
        worker_receive(-1 - e->who, e->t, (range){e->a, e->b, e->target});
        return;
    }
    server *v = &srv[e->who];
    if (v->in_tail == v->in_cap) {
        v->in_cap = v->in_cap ? 2 * v->in_cap : 1024;
        v->in = realloc(v->in, (size_t)v->in_cap * sizeof *v->in);
        if (!v->in)
            abort();
    }
    /* compact the consumed prefix now and then */
    if (v->in_head > 4096 && v->in_head > v->in_tail / 2) {
        memmove(v->in, v->in + v->in_head, (size_t)(v->in_tail - v->in_head) * sizeof *v->in);
        v->in_tail -= v->in_head;
        v->in_head = 0;
    }
    v->in[v->in_tail++] = (message){e->t, (int)(e->b >> 8), (int)(e->b & 0xff), e->a};
    wake(e->who, e->t);
}

/* ---- set-up and the run ------------------------------------------------------------ */

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

static void make_tasks(void)
{
    n_tasks = (long)par("tasks");
    dur = malloc((size_t)(n_tasks ? n_tasks : 1) * sizeof *dur);
    if (!dur)
        abort();
    double dmin = par("dmin"), dmax = par("dmax");
    for (long k = 0; k < n_tasks; ++k)
        dur[k] = dmax > 0 ? (n_tasks > 1 ? dmin * pow(dmax / dmin, (double)k / (double)(n_tasks - 1)) : dmin)
                          : par("duration");
    qsort(dur, (size_t)n_tasks, sizeof *dur, cmp_desc);
    q_head = 0;
    q_tail = n_tasks;
    q_cost = 0;
    for (long k = 0; k < n_tasks; ++k)
        q_cost += dur[k];
}

static void server_init(server *v, int clients, int writes, double per_rec, double period)
{
    memset(v, 0, sizeof *v);
    v->clients = v->clients_left = clients;
    v->zeros = calloc((size_t)clients + 1, sizeof *v->zeros);
    v->greeted = calloc((size_t)clients + 1, sizeof *v->greeted);
    v->waiting = calloc((size_t)CREDITS * clients + 1, sizeof *v->waiting);   /* every request of every worker */
    v->writes = v->h5 = writes;
    v->per_rec = per_rec;
    v->period = period;
    v->wake_at = INFINITY;
    v->state = S_NAP;
}

int main(int argc, char **argv)
{
    for (int k = 1; k < argc; ++k) {
        if (strncmp(argv[k], "calib=", 6) == 0) {
            if (read_calibration(argv[k] + 6))
                return 2;
        } else if (strcmp(argv[k], "--help") == 0) {
            for (int p = 0; p < N_PARAMS; ++p)
                printf("%-14s %-10g %s\n", params[p].name, params[p].value, params[p].help);
            return 0;
        } else if (set_param(argv[k])) {
            fprintf(stderr, "ssmsim: bad argument %s (key=value; --help lists the keys)\n", argv[k]);
            return 2;
        }
    }
    P = (int)par("ranks");
    hier = par("hier") != 0;
    rpn = (int)par("rpn");
    c_msg = par("c_msg"), c_rec = par("c_rec"), c_h5 = par("c_h5"), c_sync = par("c_sync");
    c_fwd = par("c_fwd"), c_ack = par("c_ack"), w_task = par("w_task"), lat = par("lat");
    sync_s = par("sync"), agg_interval = par("agg_interval");
    leader_batch = (long)par("leader_batch"), agg_records = (long)par("agg_records");
    int writer_node = par("writer_node") != 0;
    if (P < 1 || (hier && (rpn < 2 || P < rpn + 1))) {
        fprintf(stderr, "ssmsim: need ranks >= 1 (hierarchical: ranks > rpn >= 2)\n");
        return 2;
    }
    make_tasks();
    double local = par("local");
    local_on = !hier && (local < 0 ? P <= MASTER_COMPUTES_MAX_RANKS : local != 0);

    if (!hier) {
        n_nodes = 0;
        n_workers = P - 1;
        srv = calloc(1, sizeof *srv);
        /* client ids of rank 0 are MPI ranks 1 .. P-1 */
        server_init(&srv[0], P - 1, 1, c_rec, par("nap"));
        wk = calloc((size_t)n_workers + 1, sizeof *wk);
        for (int w = 0; w < n_workers; ++w)
            wk[w] = (worker){.server = 0, .id = w + 1};
    } else {
        /* node 0: rank 0, its leader and rpn - 2 workers; the others: a leader and rpn - 1 */
        n_nodes = (P + rpn - 1) / rpn;
        srv = calloc((size_t)n_nodes + 1, sizeof *srv);
        server_init(&srv[0], n_nodes, !writer_node, writer_node ? c_ack : c_rec, par("nap"));
        wk = calloc((size_t)P, sizeof *wk);
        n_workers = 0;
        for (int node = 0; node < n_nodes; ++node) {
            int ranks = node == n_nodes - 1 ? P - node * rpn : rpn;
            int workers = ranks - 1 - (node == 0);
            if (workers < 1) {
                fprintf(stderr, "ssmsim: node %d has no worker\n", node);
                return 2;
            }
            server *v = &srv[node + 1];
            /* part files are journals: no HDF5 on a leader */
            server_init(v, workers, writer_node, writer_node ? (par("c_part") < 0 ? c_rec : par("c_part")) : c_fwd,
                        par("leader_nap"));
            v->h5 = 0;
            v->first_client = n_workers;
            for (int c = 0; c < workers; ++c)
                wk[n_workers++] = (worker){.server = node + 1, .id = c};
        }
    }
    for (int s = 0; s <= n_nodes; ++s)
        srv[s].last_sync = 0;
    /* everyone asks at time 0 */
    for (int w = 0; w < n_workers; ++w)
        for (int c = 0; c < CREDITS; ++c)
            send_to_server(wk[w].server, wk[w].id, 0, 0, F_REQUEST);
    for (int node = 1; node <= n_nodes; ++node)
        for (int c = 0; c < CREDITS; ++c)
            send_to_server(0, node, 0, 0, F_REQUEST);
    for (int s = 0; s <= n_nodes; ++s) {
        srv[s].state = S_RUN;
        step_at(s, 0);
    }

    long events = 0;
    while (heap_n > 0) {
        event e = pop();
        ++events;
        switch (e.type) {
        case EV_ARRIVE:
            arrive(&e);
            break;
        case EV_STEP:
            step(e.who, e.t, e.a);
            break;
        case EV_BATCH_DONE:
            wk[e.who].busy = 0;
            if (wk[e.who].fifo.head < wk[e.who].fifo.tail)
                worker_start(e.who, e.t);
            break;
        case EV_LOCAL_DONE:
            wake(0, e.t);
            break;
        }
    }
    if (end_time < 0 || q_head != q_tail || srv[0].recs != n_tasks) {
        fprintf(stderr, "ssmsim: the simulation ended before the sweep (a bug)\n");
        return 1;
    }
    double work = 0, max_leader = 0;
    long part_records = 0;
    for (long k = 0; k < n_tasks; ++k)
        work += dur[k];
    for (int s = 1; s <= n_nodes; ++s) {
        if (srv[s].busy > max_leader)
            max_leader = srv[s].busy;
        part_records += writer_node ? srv[s].recs : 0;
    }
    /* part files: rank 0 takes the parts' records after the last task
     * (--part-files=keep leaves that to a later one-rank --resume) */
    double merge = (double)part_records * par("c_merge"), keep_end = end_time;
    end_time += merge;
    srv[0].busy += merge;
    printf("ranks=%d tasks=%ld hier=%d writer_node=%d makespan=%.6f span=%.6f work=%.6f efficiency=%.4f "
           "rank0_util=%.4f rank0_msgs=%ld rank0_records=%ld leader_util_max=%.4f events=%ld merge=%.6f "
           "efficiency_keep=%.4f\n",
           P, n_tasks, hier, writer_node, end_time, last_end - first_start, work,
           work / ((double)P * end_time), srv[0].busy / end_time, srv[0].msgs, srv[0].recs,
           n_nodes ? max_leader / end_time : 0.0, events, merge, work / ((double)P * keep_end));
    return 0;
}

#include "config.h"

#include "leader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "coordinator.h"
#include "farm.h"
#include "journal.h"
#include "outfiles.h"
#include "progress.h"

/* ---- the option --------------------------------------------------------------- */

int sw_leaders_parse(const char *text, sw_leaders *out)
{
    out->group_size = 0;
    if (strcmp(text, "auto") == 0)
        out->mode = SW_LEADERS_AUTO;
    else if (strcmp(text, "none") == 0)
        out->mode = SW_LEADERS_NONE;
    else if (strcmp(text, "node") == 0)
        out->mode = SW_LEADERS_NODE;
    else {
        char *end;
        long k = strtol(text, &end, 10);
        if (end == text || *end || k < 1 || k > 1000000)
            return -1;
        out->mode = SW_LEADERS_GROUPS;
        out->group_size = (int)k;
    }
    return 0;
}

/* ---- the groups ------------------------------------------------------------------ */

/* Ranks of a group that compute: all, but a leader of more than
 * MASTER_COMPUTES_MAX_RANKS ranks only serves (as rank 0 does). */
static int computing_ranks(int group_size)
{
    return group_size > MASTER_COMPUTES_MAX_RANKS ? group_size - 1 : group_size;
}

/* Rank 0's view: from the leader of every rank, the weights, the clients
 * and the decision; 1 hierarchical, 0 flat, -1 out of memory. */
static int plan_groups(const int *leader_of, int size, const sw_leaders *how, sw_layout *l)
{
    int *members = calloc((size_t)size, sizeof *members);
    l->weight = calloc((size_t)size, sizeof *l->weight);
    l->leads = calloc((size_t)size, 1);
    if (!members || !l->weight || !l->leads) {
        free(members);
        return -1;
    }
    int groups = 0, largest = 0;
    for (int r = 0; r < size; ++r)
        ++members[leader_of[r]];
    for (int r = 0; r < size; ++r)
        if (members[r] > 0) {
            ++groups;
            largest = members[r] > largest ? members[r] : largest;
        }
    int hierarchical = how->mode == SW_LEADERS_NODE || how->mode == SW_LEADERS_GROUPS ||
                       (how->mode == SW_LEADERS_AUTO && size >= SW_LEADERS_AUTO_MIN_RANKS && groups > 1 &&
                        largest > 1);
    l->max_weight = 1;
    l->clients = 0;
    for (int r = 1; r < size; ++r) {
        int lead = leader_of[r];
        if (!hierarchical || lead == 0 || members[lead] == 1) {
            l->weight[r] = 1;
        } else if (lead == r) {
            l->weight[r] = computing_ranks(members[r]);
            l->leads[r] = 1;
        } else {
            continue;   /* its leader's */
        }
        ++l->clients;
        l->max_weight = l->weight[r] > l->max_weight ? l->weight[r] : l->max_weight;
    }
    if (!hierarchical)
        snprintf(l->description, sizeof l->description, "flat");
    else if (how->mode == SW_LEADERS_GROUPS)
        snprintf(l->description, sizeof l->description,
                 "hierarchical: one leader per group of %d consecutive ranks (forced), %d groups", how->group_size,
                 groups);
    else
        snprintf(l->description, sizeof l->description,
                 "hierarchical: one leader per node (MPI_COMM_TYPE_SHARED), %d groups of up to %d ranks", groups,
                 largest);
    free(members);
    return hierarchical;
}

int sw_layout_build(MPI_Comm world, const sw_leaders *how, sw_layout *out)
{
    int rank, size;
    MPI_Comm_rank(world, &rank);
    MPI_Comm_size(world, &size);
    memset(out, 0, sizeof *out);
    out->group = MPI_COMM_NULL;
    out->role = rank == 0 ? SW_ROLE_MASTER : SW_ROLE_WORKER;
    snprintf(out->description, sizeof out->description, "flat");
    if (how->mode == SW_LEADERS_NONE || size == 1) {
        if (rank != 0)
            return 0;
        out->weight = calloc((size_t)size, sizeof *out->weight);
        out->leads = calloc((size_t)size, 1);
        if (!out->weight || !out->leads)
            return -1;
        for (int r = 1; r < size; ++r)
            out->weight[r] = 1;
        out->max_weight = 1;
        out->clients = size - 1;
        return 0;
    }

    MPI_Comm group;
    if (how->mode == SW_LEADERS_GROUPS)
        MPI_Comm_split(world, rank / how->group_size, rank, &group);
    else
        MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &group);
    int group_rank, group_size, leader = rank;
    MPI_Comm_rank(group, &group_rank);
    MPI_Comm_size(group, &group_size);
    MPI_Bcast(&leader, 1, MPI_INT, 0, group);   /* key = world rank: the lowest leads */
    int *leader_of = rank == 0 ? malloc((size_t)size * sizeof *leader_of) : NULL;
    int decision = 0;   /* 1 hierarchical, 0 flat, -1 no memory */
    if (rank == 0 && !leader_of)
        decision = -1;
    MPI_Bcast(&decision, 1, MPI_INT, 0, world);
    if (decision < 0) {
        MPI_Comm_free(&group);
        return -1;
    }
    MPI_Gather(&leader, 1, MPI_INT, leader_of, 1, MPI_INT, 0, world);
    if (rank == 0)
        decision = plan_groups(leader_of, size, how, out);
    free(leader_of);
    MPI_Bcast(&decision, 1, MPI_INT, 0, world);
    MPI_Bcast(out->description, (int)sizeof out->description, MPI_CHAR, 0, world);
    out->hierarchical = decision == 1;
    if (decision < 0 || !out->hierarchical || leader == 0 || group_size == 1) {
        MPI_Comm_free(&group);
        return decision < 0 ? -1 : 0;
    }
    out->group = group;
    out->group_size = group_size;
    out->role = group_rank == 0 ? SW_ROLE_LEADER : SW_ROLE_MEMBER;
    return 0;
}

void sw_layout_free(sw_layout *l)
{
    if (l->group != MPI_COMM_NULL)
        MPI_Comm_free(&l->group);
    free(l->weight);
    free(l->leads);
    memset(l, 0, sizeof *l);
    l->group = MPI_COMM_NULL;
}

/* ---- the leader --------------------------------------------------------------------- */

typedef struct {
    MPI_Comm world, group;
    sw_task_cursor costs;        /* the tasks' costs, computed from their ids */
    int weight;                  /* computing ranks of the group */
    double forward_interval;
    /* the tasks held, in the order rank 0 gave them (most expensive
     * first): members take from the head, the own thread from the tail */
    uint64_t *queue;
    size_t head, tail, cap;
    double queue_cost;
    double batch_cost;           /* of the last batch from rank 0 */
    /* rank 0: requests unanswered (at most one before the end, so rank 0
     * cannot count CREDITS "no more work" answers while results are
     * still held here), answers "no more work" received */
    int outstanding, zeros;
    int exhausted;               /* rank 0 has no more work */
    int stopping, urgent;
    double deadline;             /* urgent: the own thread is not waited for after it */
    int signal_to_report;        /* a stop signal of this process, not yet told */
    /* the members */
    int *zeros_sent, members_left;
    int *waiting;                /* members whose request waits for work */
    size_t n_waiting, cap_waiting;
    /* results for rank 0 */
    sw_bytes up;
    double held_since;           /* time of the oldest record in up; 0 if none */
    sw_outbox box;
    sw_local local;
    sw_record *collected;
    size_t cap_collected;
    uint64_t *ids;               /* scratch: one batch */
    size_t cap_ids;
    /* part files: the group's records go to the part journal, rank 0
     * gets (id, status) words (farm.h MSG_STATUSES) */
    int parts, rank;             /* part files on; this leader's world rank */
    sw_say_fn say;               /* its lines (sw_leader_io) */
    void *say_ctx;
    sw_journal *part;
    sw_bytes scratch;            /* one record of the own thread, packed */
    int part_failed;             /* a write failed: nothing more is written or reported */
    int part_to_report;          /* ... and rank 0 has not been told yet */
    size_t unsynced;
    double sync_interval, last_sync;
    sw_ckpt_pending ckpt_done;   /* checkpoints of done tasks, removed once the part is synced */
    /* SSMSWEEP_COORD_STATS: the main thread's CPU time taking records */
    size_t stat_records;
    double stat_cpu;
} leader;

/* p with room for need items of item bytes (capacity *cap). */
static void *grow_or_abort(void *p, size_t *cap, size_t need, size_t item, MPI_Comm comm)
{
    if (need <= *cap)
        return p;
    size_t cap2 = *cap ? *cap : 64;
    while (cap2 < need)
        cap2 *= 2;
    void *bigger = realloc(p, cap2 * item);
    if (!bigger)
        MPI_Abort(comm, ABORT_CODE);
    *cap = cap2;
    return bigger;
}

/* The cost estimate of the task in row (the kind's, from its parameters). */
static double task_cost(leader *l, uint64_t row)
{
    sw_task_cursor_at(&l->costs, (size_t)row);
    return l->costs.t->kind->cost(l->costs.values);
}

/* Takes about target of cost (at least one task) from the head or the
 * tail of the queue into l->ids. */
static size_t take_batch(leader *l, int from_tail)
{
    double target = l->batch_cost / l->weight, cost = 0;
    size_t n = 0;
    l->ids = grow_or_abort(l->ids, &l->cap_ids, MAX_BATCH, sizeof *l->ids, l->world);
    while (l->head < l->tail && n < MAX_BATCH && (n == 0 || cost < target)) {
        uint64_t id = from_tail ? l->queue[--l->tail] : l->queue[l->head++];
        double c = task_cost(l, id);
        cost += c;
        l->queue_cost -= c;
        l->ids[n++] = id;
    }
    if (l->head == l->tail) {
        l->head = l->tail = 0;
        l->queue_cost = 0;
    }
    return n;
}

static void drop_queue(leader *l)
{
    l->head = l->tail = 0;
    l->queue_cost = 0;
}

static void send_up(leader *l, uint32_t flags)
{
    if (l->signal_to_report) {
        flags |= (uint32_t)l->signal_to_report << MSG_SIGNAL_SHIFT;
        l->signal_to_report = 0;
    }
    if (l->parts)
        flags |= MSG_STATUSES;
    if (l->part_to_report) {
        flags |= MSG_PART_FAILED;
        l->part_to_report = 0;
    }
    sw_send_results(&l->box, l->world, &l->up, flags);
    l->held_since = 0;
}

static void hold(leader *l)
{
    if (l->held_since == 0)
        l->held_since = sw_now();
}

/* ---- part files ------------------------------------------------------------------ */

/* A write of the part journal failed: the leader says so once (one line,
 * then rank 0 stops the sweep as after an output error of its own) and
 * from then on writes and reports nothing: the tasks whose records were
 * not written stay pending for --resume. */
static void part_failed(leader *l, const ssm_error *err)
{
    if (l->part_failed)
        return;
    sw_say(l->say, l->say_ctx, 0, "rank %d (node leader): %s", l->rank, err->message);
    l->part_failed = l->part_to_report = 1;
    hold(l);
}

/* Makes the part journal durable, then removes the checkpoints of the
 * tasks it records as done. */
static void sync_part(leader *l)
{
    ssm_error err;
    l->last_sync = sw_now();
    if (!l->part || l->part_failed || !l->unsynced)
        return;
    if (sw_journal_sync(l->part, &err) != SSM_OK) {
        part_failed(l, &err);
        return;
    }
    l->unsynced = 0;
    sw_ckpt_pending_remove(&l->ckpt_done);
}

/* One record (packed as a worker sent it) into the part journal, its
 * (id, status) word into the message for rank 0. */
static void take_packed(leader *l, const unsigned char *rec, size_t len)
{
    uint64_t task, hash, word;
    uint8_t status;
    ssm_error err;
    if (len < 17)
        MPI_Abort(l->world, ABORT_CODE);
    memcpy(&task, rec, 8);
    memcpy(&hash, rec + 8, 8);
    memcpy(&status, rec + 16, 1);
    if (task < l->costs.t->n_tasks)   /* records arrive in batches of neighbours: cheap */
        sw_task_cursor_at(&l->costs, (size_t)task);
    if (task >= l->costs.t->n_tasks || hash != l->costs.hash || (status != SW_DONE && status != SW_FAILED)) {
        sw_say(l->say, l->say_ctx, 0, "rank %d (node leader): a result names task %llu with hash %016llx, which "
               "this task table does not have", l->rank, (unsigned long long)task, (unsigned long long)hash);
        MPI_Abort(l->world, ABORT_CODE);
    }
    if (l->part_failed)
        return;
    if (sw_journal_append_packed(l->part, task, rec, len, &err) != SSM_OK) {
        part_failed(l, &err);
        return;
    }
    ++l->unsynced;
    ++l->stat_records;
    if (status == SW_DONE)
        sw_ckpt_pending_add(&l->ckpt_done, hash);
    word = task << 2 | status;
    if (sw_bytes_reserve(&l->up, 8))
        MPI_Abort(l->world, ABORT_CODE);
    memcpy(l->up.data + l->up.len, &word, 8);
    l->up.len += 8;
    hold(l);
}

/* A record of the own thread, packed as a worker would send it. */
static void take_record(leader *l, const sw_record *rec)
{
    size_t len = sw_record_packed_size(rec);
    if (sw_bytes_reserve(&l->scratch, len))
        MPI_Abort(l->world, ABORT_CODE);
    sw_record_pack(rec, l->scratch.data);
    take_packed(l, l->scratch.data, len);
}

/* The records of a RESULTS message ([u32 len][packed record] ...). */
static void take_message(leader *l, const unsigned char *buf, size_t len)
{
    size_t off = 0;
    while (off + 4 <= len) {
        uint32_t rlen;
        memcpy(&rlen, buf + off, 4);
        if (off + 4 + rlen > len)
            MPI_Abort(l->world, ABORT_CODE);
        take_packed(l, buf + off + 4, rlen);
        off += 4 + rlen;
    }
}

static void open_part(leader *l, const char *output, const sw_tasks *t, const char *ckpt_dir)
{
    char path[PATH_MAX];
    ssm_error err;
    l->ckpt_done.dir = ckpt_dir;
    l->last_sync = sw_now();
    if (sw_journal_part_path(path, sizeof path, output, l->rank) != 0) {
        ssm_fail(&err, SSM_EINVAL, "the name of part journal %d of %s is too long", l->rank, output);
        part_failed(l, &err);
    } else if (sw_journal_create(path, t, &l->part, &err) != SSM_OK) {
        part_failed(l, &err);
    }
}

/* Durable and closed before the leader's goodbye: rank 0 merges the parts
 * once every leader has said goodbye. */
static void close_part(leader *l)
{
    ssm_error err;
    if (!l->part)
        return;
    sync_part(l);
    if (l->part_failed)
        sw_journal_abandon(l->part);
    else if (sw_journal_close(l->part, &err) != SSM_OK)
        part_failed(l, &err);
    l->part = NULL;
    sw_ckpt_pending_free(&l->ckpt_done);
}

static void begin_local_stop(leader *l, int urgent)
{
    if (!l->stopping || (urgent && !l->urgent))
        l->deadline = sw_now() + URGENT_GRACE;
    l->stopping = 1;
    l->urgent |= urgent;
    drop_queue(l);
    sw_local_abandon(&l->local);
}

/* WORK and STOP messages from rank 0. */
static void hear_master(leader *l)
{
    for (;;) {
        int flag, count;
        MPI_Status status;
        MPI_Iprobe(0, TAG_STOP, l->world, &flag, &status);
        if (flag) {
            int urgent;
            MPI_Recv(&urgent, 1, MPI_INT, 0, TAG_STOP, l->world, MPI_STATUS_IGNORE);
            begin_local_stop(l, urgent);
            continue;
        }
        MPI_Iprobe(0, TAG_WORK, l->world, &flag, &status);
        if (!flag)
            return;
        MPI_Get_count(&status, MPI_UINT64_T, &count);
        if (l->head > 0 && l->tail + (size_t)count > l->cap) {   /* compact */
            memmove(l->queue, l->queue + l->head, (l->tail - l->head) * sizeof *l->queue);
            l->tail -= l->head;
            l->head = 0;
        }
        l->queue = grow_or_abort(l->queue, &l->cap, l->tail + (size_t)count + 1, sizeof *l->queue, l->world);
        MPI_Recv(l->queue + l->tail, count, MPI_UINT64_T, 0, TAG_WORK, l->world, MPI_STATUS_IGNORE);
        --l->outstanding;
        if (count == 0) {
            ++l->zeros;
            l->exhausted = 1;
            continue;
        }
        if (l->stopping)
            continue;   /* sent before the stop: stays pending */
        double cost = 0;
        for (int k = 0; k < count; ++k)
            cost += task_cost(l, l->queue[l->tail + (size_t)k]);
        l->tail += (size_t)count;
        l->queue_cost += cost;
        l->batch_cost = cost;
    }
}

/* Answers member src: a batch from the head, or "no more work" once there
 * is none to come; 0 if it has to wait. */
static int answer_member(leader *l, int src)
{
    size_t n = 0;
    if (l->head < l->tail)
        n = take_batch(l, 0);
    else if (!(l->exhausted || l->stopping))
        return 0;
    uint64_t *copy = malloc((n ? n : 1) * sizeof *copy);
    if (!copy)
        MPI_Abort(l->world, ABORT_CODE);
    if (n > 0)   /* l->ids is NULL until the first batch */
        memcpy(copy, l->ids, n * sizeof *copy);
    sw_outbox_send(&l->box, l->group, copy, (int)n, MPI_UINT64_T, src, TAG_WORK);
    if (n == 0 && ++l->zeros_sent[src] == CREDITS)
        --l->members_left;
    return 1;
}

/* RESULTS messages of the members: their records go up as they are (rank
 * 0 checks them), their requests are answered or wait. */
static void hear_members(leader *l)
{
    for (;;) {
        int flag, len;
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULTS, l->group, &flag, &status);
        if (!flag)
            return;
        MPI_Get_count(&status, MPI_BYTE, &len);
        unsigned char *buf = malloc(len > 0 ? (size_t)len : 1);
        if (!buf)
            MPI_Abort(l->world, ABORT_CODE);
        MPI_Recv(buf, len, MPI_BYTE, status.MPI_SOURCE, TAG_RESULTS, l->group, MPI_STATUS_IGNORE);
        uint32_t flags = 0;
        if (len >= 4)
            memcpy(&flags, buf, 4);
        if (len > 4 && l->parts) {
            double cpu = sw_thread_cpu();
            take_message(l, buf + 4, (size_t)len - 4);
            l->stat_cpu += sw_thread_cpu() - cpu;
        } else if (len > 4) {
            if (sw_bytes_reserve(&l->up, (size_t)len - 4))
                MPI_Abort(l->world, ABORT_CODE);
            memcpy(l->up.data + l->up.len, buf + 4, (size_t)len - 4);
            l->up.len += (size_t)len - 4;
            hold(l);
        }
        free(buf);
        if ((flags & MSG_REQUEST) && !answer_member(l, status.MPI_SOURCE)) {
            l->waiting = grow_or_abort(l->waiting, &l->cap_waiting, l->n_waiting + 1, sizeof *l->waiting, l->world);
            l->waiting[l->n_waiting++] = status.MPI_SOURCE;
        }
    }
}

static void answer_waiting(leader *l)
{
    size_t k = 0;
    while (k < l->n_waiting && answer_member(l, l->waiting[k]))
        ++k;
    if (k == 0)
        return;   /* also: l->waiting may be NULL */
    memmove(l->waiting, l->waiting + k, (l->n_waiting - k) * sizeof *l->waiting);
    l->n_waiting -= k;
}

/* The own thread: its records go up; it takes the cheapest tasks from the
 * tail once no member waits. */
static void tend_local(leader *l, double wait)
{
    size_t n = 0;
    sw_local_collect(&l->local, wait, &l->collected, &n, &l->cap_collected);
    double cpu = n && l->parts ? sw_thread_cpu() : 0;
    for (size_t k = 0; k < n; ++k) {
        if (l->parts)
            take_record(l, &l->collected[k]);
        else if (sw_bytes_append_record(&l->up, &l->collected[k]))
            MPI_Abort(l->world, ABORT_CODE);
        sw_record_free(&l->collected[k]);
        hold(l);
    }
    if (n && l->parts)
        l->stat_cpu += sw_thread_cpu() - cpu;
    if (l->local.no_memory)
        MPI_Abort(l->world, ABORT_CODE);
    if (l->local.started && !l->stopping && l->n_waiting == 0 && l->head < l->tail && sw_local_idle(&l->local)) {
        size_t batch = take_batch(l, 1);   /* may move l->ids */
        sw_local_give(&l->local, l->ids, batch);
    }
}

/* Asks rank 0 for the next batch once less than half of the last one is
 * left (the results so far go with the request); otherwise sends what it
 * holds every forward_interval seconds, at once while stopping. */
static void talk_to_master(leader *l)
{
    if (!l->exhausted && !l->stopping && l->outstanding == 0 &&
        (l->head == l->tail || l->queue_cost < 0.5 * l->batch_cost)) {
        send_up(l, MSG_REQUEST);
        ++l->outstanding;
    } else if ((l->held_since > 0 &&
                (l->stopping || sw_now() - l->held_since >= l->forward_interval)) || l->signal_to_report ||
               l->part_to_report) {
        send_up(l, 0);
    }
}

static int finished(leader *l)
{
    int local_done = sw_local_idle(&l->local) || (l->urgent && sw_now() >= l->deadline);
    return (l->exhausted || l->stopping) && l->head == l->tail && l->members_left == 0 && local_done &&
           l->outstanding == 0;
}

/* The last results with the remaining requests; rank 0 answers them all
 * with "no more work" (a batch still sent is dropped: it stays pending). */
static void say_goodbye(leader *l)
{
    while (l->zeros < CREDITS) {
        send_up(l, MSG_REQUEST);
        int count;
        MPI_Status status;
        MPI_Probe(0, TAG_WORK, l->world, &status);
        MPI_Get_count(&status, MPI_UINT64_T, &count);
        l->ids = grow_or_abort(l->ids, &l->cap_ids, (size_t)count + 1, sizeof *l->ids, l->world);
        MPI_Recv(l->ids, count, MPI_UINT64_T, 0, TAG_WORK, l->world, MPI_STATUS_IGNORE);
        l->zeros += count == 0;
    }
    /* a STOP rank 0 sent before its last answer */
    int flag, urgent;
    MPI_Iprobe(0, TAG_STOP, l->world, &flag, MPI_STATUS_IGNORE);
    if (flag)
        MPI_Recv(&urgent, 1, MPI_INT, 0, TAG_STOP, l->world, MPI_STATUS_IGNORE);
}

int sw_leader(MPI_Comm world, const sw_layout *lay, const sw_tasks *t, int rank, const char *host,
              const sw_leader_io *io)
{
    const char *ckpt_dir = io->ckpt_dir, *part_output = io->part_output;
    double sync_interval = io->sync_interval;
    leader l;
    memset(&l, 0, sizeof l);
    l.world = world;
    l.rank = rank;
    l.say = io->say;
    l.say_ctx = io->say_ctx;
    l.sync_interval = sync_interval;
    l.group = lay->group;
    l.weight = computing_ranks(lay->group_size);
    /* a record reaches rank 0 within --sync: half of it here, half on the way from the member */
    l.forward_interval = 0.5 * sync_interval;
    l.members_left = lay->group_size - 1;
    l.zeros_sent = calloc((size_t)lay->group_size, sizeof *l.zeros_sent);
    ssm_error err;
    if (!l.zeros_sent || sw_bytes_begin_message(&l.up) || sw_task_cursor_start(&l.costs, t, &err) != SSM_OK)
        MPI_Abort(world, ABORT_CODE);
    if (l.weight == lay->group_size && sw_local_start(&l.local, t, rank, host, ckpt_dir) != 0)
        MPI_Abort(world, ABORT_CODE);
    if (part_output) {
        l.parts = 1;
        open_part(&l, part_output, t, ckpt_dir);
    }
    for (;;) {
        hear_master(&l);
        hear_members(&l);
        answer_waiting(&l);
        if (sw_stop_signal && !l.stopping) {
            l.signal_to_report = sw_stop_signal;
            begin_local_stop(&l, sw_stop_signal != SIGUSR1);
            answer_waiting(&l);
        }
        tend_local(&l, 0);
        if (l.stopping || sw_now() - l.last_sync >= l.sync_interval)
            sync_part(&l);
        talk_to_master(&l);
        if (finished(&l))
            break;
        if (l.members_left == 0 && !sw_local_idle(&l.local))
            tend_local(&l, WAIT_SLICE);   /* only the own thread is left to wait for */
        else
            sw_nap(200e-6);
    }
    tend_local(&l, 0);
    close_part(&l);
    say_goodbye(&l);
    const char *stats = getenv("SSMSWEEP_COORD_STATS");
    if (l.parts && stats && *stats && strcmp(stats, "0") != 0)
        sw_say(l.say, l.say_ctx, 0, "leader stats: rank %d: %zu records into its part journal, main thread %.3f s "
               "CPU taking its ranks' records: %.3f us per record (syncs aside)", rank, l.stat_records, l.stat_cpu,
               1e6 * l.stat_cpu / (double)(l.stat_records ? l.stat_records : 1));
    sw_outbox_drain(&l.box);
    int left_running = sw_local_stop(&l.local);
    free(l.up.data);
    free(l.scratch.data);
    free(l.queue);
    free(l.zeros_sent);
    free(l.waiting);
    free(l.collected);
    free(l.ids);
    sw_task_cursor_end(&l.costs);
    return left_running;
}

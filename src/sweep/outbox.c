#include "config.h"

#include "outbox.h"

#include <stdlib.h>
#include <string.h>

static void outbox_reap(sw_outbox *o)
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

/* Sends count items of buf (malloc'ed; the sw_outbox frees it). */
void sw_outbox_send(sw_outbox *o, MPI_Comm comm, void *buf, int count, MPI_Datatype type, int dest, int tag)
{
    outbox_reap(o);
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 16;
        MPI_Request *req = realloc(o->req, cap * sizeof *req);
        if (req)
            o->req = req;
        void **b = realloc(o->buf, cap * sizeof *b);
        if (!req || !b)
            MPI_Abort(comm, 1);
        o->buf = b;
        o->cap = cap;
    }
    MPI_Isend(buf, count, type, dest, tag, comm, &o->req[o->n]);
    o->buf[o->n++] = buf;
}

void sw_outbox_drain(sw_outbox *o)
{
    MPI_Waitall((int)o->n, o->req, MPI_STATUSES_IGNORE);
    for (size_t k = 0; k < o->n; ++k)
        free(o->buf[k]);
    free(o->req);
    free(o->buf);
    memset(o, 0, sizeof *o);
}

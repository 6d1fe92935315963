/* Non-blocking sends between rank 0 and the workers of a sweep. */
#ifndef SW_OUTBOX_H
#define SW_OUTBOX_H

#include <stddef.h>

#include <mpi.h>

/* Pending sends, each keeping its buffer until it is done: neither rank 0
 * nor a worker ever waits for the other to receive (rank 0 may be busy;
 * large messages use rendezvous, so blocking sends both ways could also
 * deadlock). */
typedef struct {
    MPI_Request *req;
    void **buf;
    size_t n, cap;
} sw_outbox;

/* Sends count items of buf (malloc'ed; the outbox frees it once sent);
 * without memory for the bookkeeping the job is aborted. */
void sw_outbox_send(sw_outbox *o, MPI_Comm comm, void *buf, int count, MPI_Datatype type, int dest, int tag);
/* Waits for every pending send and frees the outbox. */
void sw_outbox_drain(sw_outbox *o);

#endif

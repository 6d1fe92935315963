/* What the sweep remembers of one finished task, and its byte form.
 *
 * The same packed bytes travel from a worker rank to rank 0 over MPI and
 * are appended to the journal, so there is one serializer.  Layout (little
 * endian, as on every machine we run on; checked at startup):
 *   u64 task, u64 hash (the task's content hash), u8 status, i32 rank,
 *   f64 elapsed, f64 finished (unix time),
 *   u16 len + host bytes, u16 len + error bytes,
 *   u32 n_scalars, f64[n_scalars],
 *   u32 n_curves, then per curve u32 len + f64[len].
 * The hash names what was computed, not only where it goes: a record can
 * never be attached to a task of other parameters (journals before format
 * version 3 held the legacy form without it: sw_record_unpack_legacy). */
#ifndef SW_RECORD_H
#define SW_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "kinds.h"

typedef enum { SW_PENDING = 0, SW_DONE = 1, SW_FAILED = 2 } sw_status;

#define SW_HOST_MAX 64
#define SW_ERROR_MAX 320

typedef struct {
    uint64_t task;
    uint64_t hash;           /* content hash of the task's parameters (sw_tasks.hash) */
    sw_status status;
    int32_t rank;
    double elapsed;          /* seconds spent in the task's run function */
    double finished;         /* unix time (s) when it ended */
    char host[SW_HOST_MAX];
    char error[SW_ERROR_MAX];   /* reason of a failure, "" when done */
    sw_result result;        /* empty (no scalars) for a failed task */
} sw_record;

/* Bytes needed by sw_record_pack. */
size_t sw_record_packed_size(const sw_record *rec);
/* Writes the record into buf (at least packed_size bytes); returns bytes
 * written.  A failed record goes without values, whatever its result
 * holds; host and error without their NUL (at most SW_HOST_MAX - 1 and
 * SW_ERROR_MAX - 1 bytes). */
size_t sw_record_pack(const sw_record *rec, unsigned char *buf);
/* Parses len bytes into rec (allocating its result); SSM_EIO if malformed:
 * every length is checked against the buffer before anything is
 * allocated, the record must fill len exactly, its status be done or
 * failed, and a failed one carry no values.  On failure rec is left empty
 * (n_scalars = n_curves = 0, nothing to free). */
ssm_status sw_record_unpack(const unsigned char *buf, size_t len, sw_record *rec, ssm_error *err);
/* The same for the form without the hash (journal format versions 1 and
 * 2); rec->hash is 0: such a record names its task by row only. */
ssm_status sw_record_unpack_legacy(const unsigned char *buf, size_t len, sw_record *rec, ssm_error *err);
/* A deep copy of src into dst, through the byte form (so every field is
 * copied by the one serializer); *scratch (capacity *cap) is the caller's
 * buffer for it, grown as needed. */
ssm_status sw_record_copy(sw_record *dst, const sw_record *src, unsigned char **scratch, size_t *cap,
                          ssm_error *err);
void sw_record_free(sw_record *rec);

#endif

/* The files a sweep keeps beside its results file OUT.h5, and the lock
 * that keeps two processes from writing them at once.
 *
 * Names.  OUT.h5.journal (the record of what is done), .journal.rewrite
 * (a journal being rewritten for an edited spec), .journal.creating
 * (merge's journal before it is complete), .rebuild (OUT.h5 rebuilt from
 * the journal), .creating (a new HDF5 file before its layout is
 * complete), .lock, and the directory .ckpt holding checkpoints named
 * <16 hex digits>.ckpt(.tmp).  sw_outfiles_init derives them all and
 * refuses, before anything is written, an OUT.h5 for which one would not
 * fit PATH_MAX or a name NAME_MAX: snprintf would cut the name and a file
 * of another name would appear.
 *
 * Lock.  OUT.h5.lock holds "host pid command" of the process writing the
 * files, and that process holds an fcntl lock on it (an open file
 * description lock, F_OFD_SETLK, on Linux): the kernel releases it when
 * the process dies, also on kill -9, and on NFS (v3 with lockd, v4) the
 * server does the same when the client's lease ends.  A lock file nobody
 * holds a lock on is stale (its writer died) and is taken over.  Where the
 * file system has no fcntl locks (ENOLCK, ENOSYS: NFS mounted nolock,
 * Lustre without -o flock or localflock), the file's creation with O_EXCL
 * is the lock: a lock file naming this host and a dead pid is stale and
 * replaced; one naming another host cannot be checked and is refused with
 * a line that says to delete it once that run is over. */
#ifndef SW_OUTFILES_H
#define SW_OUTFILES_H

#include <limits.h>
#include <stddef.h>

#include "ssm/error.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

typedef struct {
    char output[PATH_MAX];
    char journal[PATH_MAX];
    char journal_rewrite[PATH_MAX];
    char journal_creating[PATH_MAX];
    char rebuild[PATH_MAX];
    char creating[PATH_MAX];
    char lock[PATH_MAX];
    char ckpt[PATH_MAX];
} sw_outfiles;

/* Derives every name from output; SSM_EINVAL (one line naming the limit)
 * if one of them would be longer than PATH_MAX or have a component longer
 * than NAME_MAX. */
ssm_status sw_outfiles_init(sw_outfiles *o, const char *output, ssm_error *err);

typedef struct {
    int fd;                 /* -1: not held */
    char path[PATH_MAX];
} sw_lock;

/* Takes the lock of the files of o for this process ("run" or "merge" in
 * what).  SSM_EINVAL when a live process holds it: the message names it,
 * "OUT.h5 is being written by ssmsweep run (pid P on host H, since T)";
 * SSM_EIO when the lock file cannot be created. */
ssm_status sw_lock_take(sw_lock *lock, const sw_outfiles *o, const char *what, ssm_error *err);

/* Removes the lock file and releases the lock; a lock not held is fine. */
void sw_lock_release(sw_lock *lock);

/* Whether a live process holds the lock of output's files (1), nobody (0)
 * or it cannot be told (-1: no lock file support and a lock file naming
 * another host).  Readers use it to decide whether a file is being
 * written. */
int sw_lock_held(const char *output);

/* "No space left on device (ENOSPC)": what messages say of an errno. */
const char *sw_errno_text(int e, char *buf, size_t size);

#endif

#include "config.h"

#include "outfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *sw_errno_text(int e, char *buf, size_t size)
{
    const char *name = strerrorname_np(e);
    if (name)
        snprintf(buf, size, "%s (%s)", strerror(e), name);
    else
        snprintf(buf, size, "%s (errno %d)", strerror(e), e);
    return buf;
}

/* ---- names --------------------------------------------------------------------- */

/* The longest name derived from OUT.h5, in the same directory and below it. */
/* merge builds OUT.h5.creating, which sw_h5_create builds as OUT.h5.creating.creating */
#define LONGEST_SIBLING ".creating.creating"
#define LONGEST_BELOW ".ckpt/0123456789abcdef.ckpt.tmp"

static long name_max_of(const char *output)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(output, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash == output ? 1 : slash - output), output);
    long max = pathconf(dir, _PC_NAME_MAX);
    return max > 0 ? max : NAME_MAX;
}

ssm_status sw_outfiles_init(sw_outfiles *o, const char *output, ssm_error *err)
{
    size_t len = strlen(output), longest = strlen(LONGEST_BELOW);
    const char *slash = strrchr(output, '/');
    size_t base = strlen(slash ? slash + 1 : output);
    long name_max = name_max_of(output);
    memset(o, 0, sizeof *o);
    if (len == 0)
        return ssm_fail(err, SSM_EINVAL, "the output file name is empty");
    if (len + longest >= PATH_MAX)
        return ssm_fail(err, SSM_EINVAL, "output path of %zu bytes: the files beside it (up to %s) would exceed "
                                         "PATH_MAX (%d bytes)", len, "OUT.h5" LONGEST_BELOW, PATH_MAX);
    if ((long)(base + strlen(LONGEST_SIBLING)) > name_max)
        return ssm_fail(err, SSM_EINVAL, "output file name of %zu bytes: the names beside it (up to %s) would "
                                         "exceed the file system's limit of %ld bytes", base,
                        "OUT.h5" LONGEST_SIBLING, name_max);
    snprintf(o->output, sizeof o->output, "%s", output);
    snprintf(o->journal, sizeof o->journal, "%s.journal", output);
    snprintf(o->journal_rewrite, sizeof o->journal_rewrite, "%s.journal.rewrite", output);
    snprintf(o->journal_creating, sizeof o->journal_creating, "%s.journal.creating", output);
    snprintf(o->rebuild, sizeof o->rebuild, "%s.rebuild", output);
    snprintf(o->creating, sizeof o->creating, "%s.creating", output);
    snprintf(o->lock, sizeof o->lock, "%s.lock", output);
    snprintf(o->ckpt, sizeof o->ckpt, "%s.ckpt", output);
    return SSM_OK;
}

/* ---- the lock ------------------------------------------------------------------ */

#define HOLDER_MAX 256

/* A write lock on the whole file: 0 taken, 1 held by another process,
 * -1 this file system has no fcntl locks.  Open file description locks
 * where the kernel has them (they belong to this open file, not to the
 * process, so no other close in the process drops them). */
static int try_lock(int fd, int cmd_ofd, int cmd_posix, struct flock *fl)
{
    memset(fl, 0, sizeof *fl);
    fl->l_type = F_WRLCK;
    fl->l_whence = SEEK_SET;
#ifdef F_OFD_SETLK
    if (fcntl(fd, cmd_ofd, fl) == 0)
        return 0;
    if (errno == EINVAL) {   /* a kernel older than 3.15 */
        memset(fl, 0, sizeof *fl);
        fl->l_type = F_WRLCK;
        fl->l_whence = SEEK_SET;
        if (fcntl(fd, cmd_posix, fl) == 0)
            return 0;
    }
#else
    (void)cmd_ofd;
    if (fcntl(fd, cmd_posix, fl) == 0)
        return 0;
#endif
    if (errno == EAGAIN || errno == EACCES)
        return 1;
    return -1;
}

#ifndef F_OFD_SETLK
#define F_OFD_SETLK F_SETLK
#define F_OFD_GETLK F_GETLK
#endif

static int same_file(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

typedef struct {
    char host[HOST_NAME_MAX + 1];
    long pid;
    char what[16];
    char since[32];
} holder;

static void read_holder(int fd, holder *h)
{
    char text[HOLDER_MAX] = "";
    memset(h, 0, sizeof *h);
    ssize_t got = pread(fd, text, sizeof text - 1, 0);
    text[got > 0 ? got : 0] = '\0';
    if (sscanf(text, "%64s %ld %15s %31s", h->host, &h->pid, h->what, h->since) < 2) {
        h->pid = 0;
        h->host[0] = '\0';
    }
}

static void my_host(char *host, size_t size)
{
    if (gethostname(host, size) != 0)
        snprintf(host, size, "unknown");
    host[size - 1] = '\0';
}

static ssm_status write_holder(int fd, const char *path, const char *what, ssm_error *err)
{
    char host[HOST_NAME_MAX + 1], text[HOLDER_MAX], since[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
    my_host(host, sizeof host);
    int n = snprintf(text, sizeof text, "%s %ld %s %s\n", host, (long)getpid(), what, since);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n)
        return ssm_fail(err, SSM_EIO, "cannot write the lock file %s: %s", path, strerror(errno));
    return SSM_OK;
}

/* Whether pid on this host is a live ssmsweep (a pid reused by another
 * program does not count). */
static int alive_here(long pid)
{
    if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
        return 0;
    char path[64], cmd[256] = "";
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 1;   /* no /proc: trust kill */
    size_t n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    for (size_t k = 0; k < n; ++k)
        if (cmd[k] == '\0')
            cmd[k] = ' ';
    cmd[n] = '\0';
    return strstr(cmd, "ssmsweep") != NULL;
}

static ssm_status refuse_held(const sw_outfiles *o, const holder *h, ssm_error *err)
{
    if (!h->pid)
        return ssm_fail(err, SSM_EINVAL, "%s is being written by another ssmsweep (%s is locked)", o->output, o->lock);
    return ssm_fail(err, SSM_EINVAL, "%s is being written by ssmsweep %s (pid %ld on host %s%s%s): wait for it to end "
                                     "or stop it first", o->output, *h->what ? h->what : "", h->pid, h->host,
                    *h->since ? ", since " : "", h->since);
}

/* Without fcntl locks the lock file's existence is the lock: its holder
 * is checked where that can be done (this host). */
static ssm_status lock_without_fcntl(const sw_outfiles *o, int fd, int *stale, ssm_error *err)
{
    holder h;
    char host[HOST_NAME_MAX + 1];
    read_holder(fd, &h);
    my_host(host, sizeof host);
    *stale = 0;
    if (h.pid && strcmp(h.host, host) == 0) {
        if (alive_here(h.pid))
            return refuse_held(o, &h, err);
        *stale = 1;
        return SSM_OK;
    }
    if (!h.pid)
        return ssm_fail(err, SSM_EINVAL, "%s exists but names no process, and this file system has no locks to "
                                         "check it: if no ssmsweep writes %s, delete %s", o->lock, o->output,
                        o->lock);
    return ssm_fail(err, SSM_EINVAL, "%s says ssmsweep %s (pid %ld on host %s) writes %s, and this file system has "
                                     "no locks to check it: if that run is over, delete %s", o->lock, h.what, h.pid,
                    h.host, o->output, o->lock);
}

ssm_status sw_lock_take(sw_lock *lock, const sw_outfiles *o, const char *what, ssm_error *err)
{
    lock->fd = -1;
    snprintf(lock->path, sizeof lock->path, "%s", o->lock);
    /* a few rounds: the file can be replaced between open and lock */
    for (int round = 0; round < 8; ++round) {
        struct flock fl;
        int created = 1;
        int fd = open(o->lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno == EEXIST) {
            created = 0;
            fd = open(o->lock, O_RDWR | O_CLOEXEC);
            if (fd < 0 && errno == ENOENT)
                continue;
        }
        if (fd < 0)
            return ssm_fail(err, SSM_EIO, "cannot create the lock file %s: %s", o->lock, strerror(errno));
        int got = try_lock(fd, F_OFD_SETLK, F_SETLK, &fl);
        if (got == 1) {
            holder h;
            read_holder(fd, &h);
            close(fd);
            return refuse_held(o, &h, err);
        }
        if (got == 0 && !same_file(fd, o->lock)) {   /* released and removed by its holder meanwhile */
            close(fd);
            continue;
        }
        if (got < 0 && !created) {
            int stale;
            ssm_status st = lock_without_fcntl(o, fd, &stale, err);
            if (st == SSM_OK && stale)
                unlink(o->lock);
            close(fd);
            if (st)
                return st;
            continue;
        }
        ssm_status st = write_holder(fd, o->lock, what, err);
        if (st) {
            close(fd);
            if (created)
                unlink(o->lock);
            return st;
        }
        lock->fd = fd;
        return SSM_OK;
    }
    return ssm_fail(err, SSM_EIO, "cannot take the lock %s: it keeps being replaced", o->lock);
}

void sw_lock_release(sw_lock *lock)
{
    if (!lock || lock->fd < 0)
        return;
    /* removed while still held, so nobody takes a lock on a file that is
     * about to disappear (a taker checks the name still leads to its file) */
    if (same_file(lock->fd, lock->path))
        unlink(lock->path);
    close(lock->fd);
    lock->fd = -1;
}

int sw_lock_held(const char *output)
{
    char path[PATH_MAX];
    struct flock fl;
    if ((size_t)snprintf(path, sizeof path, "%s.lock", output) >= sizeof path)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int got = try_lock(fd, F_OFD_GETLK, F_GETLK, &fl);
    int held = got == 0 ? fl.l_type != F_UNLCK : -1;
    if (got != 0) {
        holder h;
        char host[HOST_NAME_MAX + 1];
        read_holder(fd, &h);
        my_host(host, sizeof host);
        held = !h.pid || strcmp(h.host, host) != 0 ? -1 : alive_here(h.pid);
    }
    close(fd);
    return held;
}

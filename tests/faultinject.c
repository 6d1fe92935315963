/* An LD_PRELOAD library that makes system calls fail on purpose, for the
 * failure-path tests (tests/fault_injection.sh), in the spirit of jq's
 * error-injection module and SQLite's I/O error tests.
 *
 *   FAULT_CALLS   calls to act on, comma-separated: write, pwrite, fsync,
 *                 ftruncate, rename (default: none); lock: fcntl's
 *                 record locks fail with ENOLCK, as on a file system
 *                 without locks (NFS mounted nolock, Lustre without flock)
 *   FAULT_PATH    fnmatch pattern of the file (the path of the descriptor,
 *                 from /proc/self/fd; for rename either name); default "*"
 *   FAULT_NTH     the first matching call to act on (1 = the first; default 1)
 *   FAULT_TIMES   how many matching calls from there on (0, the default:
 *                 every one, like a disk that stays full)
 *   FAULT_ERRNO   ENOSPC (default), EDQUOT, EIO, or a number
 *   FAULT_MODE    fail: return -1 with the errno (default);
 *                 short: write half of what was asked (a short write),
 *                 then fail once nothing would be written;
 *                 kill: raise SIGKILL at that call, before doing it;
 *                 stall: sleep FAULT_STALL seconds (default 2), then do it
 *   FAULT_LOG     a file that gets "pid call path" per fault injected
 *   FAULT_TASK_LOG
 *                 a file that gets "pid program" per nanosleep of 5 ms or more:
 *                 a noop task with sleep > 0 makes one, so the lines count
 *                 the tasks a sweep started (the coordinator's own naps are
 *                 shorter)
 * Counting is per process (each MPI rank counts its own calls).  Built
 * without sanitizers: under AddressSanitizer run with
 * ASAN_OPTIONS=verify_asan_link_order=0. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

enum { C_WRITE = 1, C_PWRITE = 2, C_FSYNC = 4, C_FTRUNCATE = 8, C_RENAME = 16, C_LOCK = 32 };
enum { M_FAIL, M_SHORT, M_KILL, M_STALL };

static struct {
    int ready, calls, mode, err;
    double stall;
    long nth, times;
    const char *pattern, *log, *task_log;
} cfg;
static atomic_long matched;

static int errno_named(const char *s)
{
    if (!s || !*s || strcmp(s, "ENOSPC") == 0)
        return ENOSPC;
    if (strcmp(s, "EDQUOT") == 0)
        return EDQUOT;
    if (strcmp(s, "EIO") == 0)
        return EIO;
    return atoi(s) > 0 ? atoi(s) : ENOSPC;
}

static void configure(void)
{
    if (cfg.ready)
        return;
    const char *calls = getenv("FAULT_CALLS"), *mode = getenv("FAULT_MODE");
    if (!calls)
        calls = "";
    cfg.calls = (strstr(calls, "pwrite") ? C_PWRITE : 0) | (strstr(calls, "fsync") ? C_FSYNC : 0) |
                (strstr(calls, "ftruncate") ? C_FTRUNCATE : 0) | (strstr(calls, "rename") ? C_RENAME : 0) |
                (strstr(calls, "lock") ? C_LOCK : 0);
    /* "write" alone, not only as part of "pwrite" */
    for (const char *p = calls; (p = strstr(p, "write")); p += 5)
        if (p == calls || p[-1] == ',')
            cfg.calls |= C_WRITE;
    cfg.pattern = getenv("FAULT_PATH") ? getenv("FAULT_PATH") : "*";
    cfg.nth = getenv("FAULT_NTH") ? atol(getenv("FAULT_NTH")) : 1;
    cfg.times = getenv("FAULT_TIMES") ? atol(getenv("FAULT_TIMES")) : 0;
    cfg.err = errno_named(getenv("FAULT_ERRNO"));
    cfg.mode = !mode                        ? M_FAIL
               : strcmp(mode, "short") == 0 ? M_SHORT
               : strcmp(mode, "kill") == 0  ? M_KILL
               : strcmp(mode, "stall") == 0 ? M_STALL
                                            : M_FAIL;
    cfg.stall = getenv("FAULT_STALL") ? atof(getenv("FAULT_STALL")) : 2.0;
    cfg.log = getenv("FAULT_LOG");
    cfg.task_log = getenv("FAULT_TASK_LOG");
    cfg.ready = 1;
}

static void *next(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

/* Appends one line to path with the real write (not ours). */
static void log_line(const char *path, const char *line)
{
    static ssize_t (*real_write)(int, const void *, size_t);
    if (!real_write)
        real_write = (ssize_t(*)(int, const void *, size_t))next("write");
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return;
    ssize_t w = real_write(fd, line, strlen(line));
    (void)w;
    close(fd);
}

static int path_of(int fd, char *buf, size_t size)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buf, size - 1);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* Whether this call (on path) is one to act on; counts it if it matches. */
static int strike(int call, const char *name, const char *path)
{
    configure();
    if (!(cfg.calls & call) || !path || fnmatch(cfg.pattern, path, 0) != 0)
        return 0;
    long k = atomic_fetch_add(&matched, 1) + 1;
    if (k < cfg.nth || (cfg.times > 0 && k >= cfg.nth + cfg.times))
        return 0;
    if (cfg.log) {
        char line[4200];
        snprintf(line, sizeof line, "%ld %s %s\n", (long)getpid(), name, path);
        log_line(cfg.log, line);
    }
    if (cfg.mode == M_KILL)
        raise(SIGKILL);
    if (cfg.mode == M_STALL) {
        static int (*real_sleep)(const struct timespec *, struct timespec *);
        if (!real_sleep)
            real_sleep = (int (*)(const struct timespec *, struct timespec *))next("nanosleep");
        struct timespec ts = {(time_t)cfg.stall, (long)((cfg.stall - (double)(time_t)cfg.stall) * 1e9)};
        real_sleep(&ts, NULL);
        return 0;   /* then done for real */
    }
    return 1;
}

static int strike_fd(int call, const char *name, int fd)
{
    char path[4096];
    configure();
    if (!(cfg.calls & call) || path_of(fd, path, sizeof path) != 0)
        return 0;
    return strike(call, name, path);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*real)(int, const void *, size_t);
    if (!real)
        real = (ssize_t(*)(int, const void *, size_t))next("write");
    if (n > 0 && strike_fd(C_WRITE, "write", fd)) {
        if (cfg.mode == M_SHORT && n / 2 > 0)
            return real(fd, buf, n / 2);
        errno = cfg.err;
        return -1;
    }
    return real(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real)
        real = (ssize_t(*)(int, const void *, size_t, off_t))next("pwrite");
    if (n > 0 && strike_fd(C_PWRITE, "pwrite", fd)) {
        if (cfg.mode == M_SHORT && n / 2 > 0)
            return real(fd, buf, n / 2, off);
        errno = cfg.err;
        return -1;
    }
    return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    return pwrite(fd, buf, n, off);
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))next("fsync");
    if (strike_fd(C_FSYNC, "fsync", fd)) {
        errno = cfg.err;
        return -1;
    }
    return real(fd);
}

int ftruncate(int fd, off_t len)
{
    static int (*real)(int, off_t);
    if (!real)
        real = (int (*)(int, off_t))next("ftruncate");
    if (strike_fd(C_FTRUNCATE, "ftruncate", fd)) {
        errno = cfg.err;
        return -1;
    }
    return real(fd, len);
}

int rename(const char *from, const char *to)
{
    static int (*real)(const char *, const char *);
    if (!real)
        real = (int (*)(const char *, const char *))next("rename");
    configure();
    if ((cfg.calls & C_RENAME) &&
        (strike(C_RENAME, "rename", fnmatch(cfg.pattern, from, 0) == 0 ? from : to))) {
        errno = cfg.err;
        return -1;
    }
    return real(from, to);
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    static int (*real)(const struct timespec *, struct timespec *);
    if (!real)
        real = (int (*)(const struct timespec *, struct timespec *))next("nanosleep");
    configure();
    if (cfg.task_log && req && (req->tv_sec > 0 || req->tv_nsec >= 5000000)) {
        char line[128];
        snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), program_invocation_short_name);
        log_line(cfg.task_log, line);
    }
    return real(req, rem);
}

static int lock_command(int cmd)
{
#ifdef F_OFD_SETLK
    if (cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW || cmd == F_OFD_GETLK)
        return 1;
#endif
    return cmd == F_SETLK || cmd == F_SETLKW || cmd == F_GETLK;
}

static int fcntl_common(const char *name, int fd, int cmd, va_list ap)
{
    int (*real)(int, int, ...) = (int (*)(int, int, ...))next(name);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    void *arg = va_arg(ap, void *);
    configure();
    if ((cfg.calls & C_LOCK) && lock_command(cmd)) {
        errno = ENOLCK;
        return -1;
    }
    return real(fd, cmd, arg);
}

int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    int rc = fcntl_common("fcntl", fd, cmd, ap);
    va_end(ap);
    return rc;
}

int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    int rc = fcntl_common("fcntl64", fd, cmd, ap);
    va_end(ap);
    return rc;
}

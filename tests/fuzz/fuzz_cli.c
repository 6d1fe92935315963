/* The fuzzers through the real binary, where the exit status and the
 * one-line rule are what a user sees: a few hundred `ssmsweep plan` runs
 * on mutated specs (tests/fuzz/corpus/spec) and `ssmsweep eig --init file`
 * runs on mutated eigenvalue files (tests/fuzz/corpus/csv).  Each run must
 * end within the case limit with status 0 (plan: stderr empty, the plan on
 * stdout; eig: the CSV), or 1 or 2 with exactly one line on stderr that
 * starts with "ssmsweep CMD: " (and for 2, nothing on stdout); a signal, a
 * sanitizer report or anything else fails.  The children get the memory
 * cap of the in-process fuzzers (RLIMIT_AS, or the sanitizer's allocation
 * limit). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

typedef struct {
    const char *cmd;       /* "plan", "eig" */
    char input[4200], out[4200], err[4200];
} cli_ctx;

static const char *ssmsweep;

static size_t slurp(const char *path, char *buf, size_t size)
{
    FILE *fp = fopen(path, "rb");
    size_t n = fp ? fread(buf, 1, size - 1, fp) : 0;
    if (fp)
        fclose(fp);
    buf[n] = '\0';
    return n;
}

/* Reads and removes the sanitizer's log files of the last run; 1 if one
 * holds an error report (then in report). */
static char report[1 << 14];

static int sanitizer_error(void)
{
    DIR *d = opendir(fuzz_scratch());
    struct dirent *e;
    int error = 0;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, "asan.", 5) == 0) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", fuzz_scratch(), e->d_name);
            slurp(path, report, sizeof report);
            error |= strstr(report, "ERROR:") != NULL;
            remove(path);
        }
    if (d)
        closedir(d);
    return error;
}

static void child(const cli_ctx *c)
{
    int out = open(c->out, O_WRONLY | O_CREAT | O_TRUNC, 0600), err = open(c->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(126);
    /* one BLAS thread: OpenBLAS 0.3.21 spins for ever at exit when a
     * thread's buffer cannot be mapped under an address-space cap */
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
#if FUZZ_UNDER_ASAN
    char options[1024];
    const char *old = getenv("ASAN_OPTIONS");
    /* the sanitizer's own lines (a refused allocation is a warning) go to
     * files that run() reads: stderr stays the program's */
    snprintf(options, sizeof options, "%s%sallocator_may_return_null=1:max_allocation_size_mb=%s:log_path=%s/asan",
             old ? old : "", old && *old ? ":" : "", FUZZ_MEMORY_CAP_MB, fuzz_scratch());
    setenv("ASAN_OPTIONS", options, 1);
#else
    /* the binary maps about 90 MiB at start, OpenBLAS 128 MiB at its first call */
    const rlim_t bytes = ((rlim_t)512 + (rlim_t)atoi(FUZZ_MEMORY_CAP_MB)) << 20;
    const struct rlimit cap = {bytes, bytes};
    setrlimit(RLIMIT_AS, &cap);
#endif
    if (strcmp(c->cmd, "plan") == 0)
        execl(ssmsweep, ssmsweep, "plan", c->input, (char *)NULL);
    else
        execl(ssmsweep, ssmsweep, "eig", "--init", "file", "--file", c->input, (char *)NULL);
    _exit(127);
}

/* The exit status of the child, or -1 - signal, or -1000 after the limit. */
static int wait_for(pid_t pid, double limit)
{
    struct timespec start, now, pause = {0, 1000000};
    int status;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1 - WTERMSIG(status);
        if (got < 0 && errno != EINTR)
            return -2000;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - start.tv_sec) + 1e-9 * (double)(now.tv_nsec - start.tv_nsec) > limit) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1000;
        }
        nanosleep(&pause, NULL);
    }
}

static int run(void *vctx, const unsigned char *data, size_t len, ssm_rng *rng)
{
    (void)rng;
    cli_ctx *c = vctx;
    FILE *fp = fopen(c->input, "wb");
    if (!fp || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
        fuzz_fail("cannot write %s\n", c->input);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0)
        child(c);
    const double limit = 15 * strtod(getenv("SSM_SLOW_FACTOR") ? getenv("SSM_SLOW_FACTOR") : "1", NULL);
    const int code = pid < 0 ? -2000 : wait_for(pid, limit);
    static char out[1 << 16], err[1 << 16];
    const size_t n_out = slurp(c->out, out, sizeof out), n_err = slurp(c->err, err, sizeof err);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "ssmsweep %s: ", c->cmd);
    const char *first_newline = memchr(err, '\n', n_err);
    const int one_line = first_newline && first_newline == err + n_err - 1 && strncmp(err, prefix, strlen(prefix)) == 0;
    if (sanitizer_error()) {
        fuzz_fail("ssmsweep %s: a sanitizer report (exit %d): %.600s\n", c->cmd, code, report);
        return -1;
    }
    if (code == -1000) {
        fuzz_fail("ssmsweep %s did not end within %.0f s\n", c->cmd, limit);
        return -1;
    }
    if (code < 0) {
        fuzz_fail("ssmsweep %s ended by signal %d: %.300s\n", c->cmd, -1 - code, err);
        return -1;
    }
    if (code == 0) {
        const char *want = strcmp(c->cmd, "plan") == 0 ? "spec:" : "index,re,im,abs\n";
        if (n_err != 0 || strncmp(out, want, strlen(want)) != 0) {
            fuzz_fail("exit 0 with stderr [%.300s] and stdout [%.80s]\n", err, out);
            return -1;
        }
        fuzz_tally("exit 0");
        return 0;
    }
    if ((code != 1 && code != 2) || !one_line || (code == 2 && n_out != 0)) {
        fuzz_fail("exit %d, %zu bytes on stdout, stderr [%.600s]\n", code, n_out, err);
        return -1;
    }
    fuzz_tally(code == 2 ? "exit 2, one line" : "exit 1, one line");
    return 0;
}

static int fuzz_command(const char *cmd, const char *corpus, const char *suffix, double seconds, uint64_t cases)
{
    cli_ctx ctx = {cmd, "", "", ""};
    fuzz_corpus c = {0};
    char name[64];
    fuzz_corpus_add_dir(&c, fuzz_corpus_dir(corpus));
    snprintf(ctx.input, sizeof ctx.input, "%s/case.%s", fuzz_scratch(), suffix);
    snprintf(ctx.out, sizeof ctx.out, "%s/stdout", fuzz_scratch());
    snprintf(ctx.err, sizeof ctx.err, "%s/stderr", fuzz_scratch());
    snprintf(name, sizeof name, "fuzz_cli (ssmsweep %s)", cmd);
    const fuzz_target t = {name, 1, run, &ctx, seconds, cases};
    int rc = fuzz_main(&t, &c);
    fuzz_corpus_free(&c);
    return rc;
}

int main(void)
{
    ssmsweep = getenv("SSMSWEEP");
    if (!ssmsweep || access(ssmsweep, X_OK) != 0) {
        printf("SKIP: $SSMSWEEP is not set (run through make check)\n");
        return 77;
    }
    int rc = fuzz_command("plan", "spec", "yaml", 25, 300);
    rc |= fuzz_command("eig", "csv", "csv", 8, 100);
    return rc;
}

#include "config.h"

#include "progress.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ssm/error.h"

void sw_format_duration(double s, char *buf, size_t size)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, size, "?");
    else if (s < 60)
        snprintf(buf, size, "%.1f s", s);
    else if (s < 3600)
        snprintf(buf, size, "%d min %d s", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, size, "%d h %d min", (int)(s / 3600), (int)fmod(s / 60, 60));
}

void sw_progress_init(sw_progress *p, FILE *out, double interval, size_t total, size_t done,
                      size_t failed)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = out && isatty(fileno(out));
    p->interval = interval > 0 ? interval : 10.0;
    p->start = p->last = sw_now();
    p->total = total;
    p->done = p->done_at_start = done;
    p->failed = failed;
}

static void render(sw_progress *p, char *line, size_t size)
{
    double elapsed = sw_now() - p->start;
    size_t fresh = p->done + p->failed - p->done_at_start;
    double rate = elapsed > 0 ? (double)fresh / elapsed : 0;
    size_t remaining = p->total - p->done - p->failed;
    char eta[32], spent[32];
    sw_format_duration(rate > 0 ? (double)remaining / rate : NAN, eta, sizeof eta);
    sw_format_duration(elapsed, spent, sizeof spent);
    if (p->tty) {
        char bar[21];
        size_t filled = p->total ? (20 * (p->done + p->failed)) / p->total : 20;
        for (size_t k = 0; k < 20; ++k)
            bar[k] = k < filled ? '#' : '-';
        bar[20] = '\0';
        snprintf(line, size, "[%s] %zu/%zu done, %zu failed | %.1f tasks/s | ETA %s", bar, p->done,
                 p->total, p->failed, rate, eta);
    } else {
        snprintf(line, size, "progress: %zu/%zu done, %zu failed, %zu pending, %.1f tasks/s, "
                 "elapsed %s, ETA %s", p->done, p->total, p->failed, remaining, rate, spent, eta);
    }
}

void sw_progress_update(sw_progress *p, size_t done, size_t failed, int force)
{
    p->done = done;
    p->failed = failed;
    if (!p->out)
        return;
    double now = sw_now();
    if (!force && now - p->last < (p->tty ? 0.2 : p->interval))
        return;
    p->last = now;
    char line[256];
    render(p, line, sizeof line);
    if (p->tty) {
        size_t len = strlen(line);
        fprintf(p->out, "\r%s%*s", line, p->drawn > len ? (int)(p->drawn - len) : 0, "");
        p->drawn = len;
    } else {
        fprintf(p->out, "%s\n", line);
    }
    fflush(p->out);
}

void sw_progress_finish(sw_progress *p, const char *outcome)
{
    if (!p->out)
        return;
    sw_progress_update(p, p->done, p->failed, 1);
    if (p->tty)
        fputc('\n', p->out);
    char spent[32];
    sw_format_duration(sw_now() - p->start, spent, sizeof spent);
    fprintf(p->out, "%s: %zu done, %zu failed, %zu pending of %zu tasks in %s\n", outcome, p->done,
            p->failed, p->total - p->done - p->failed, p->total, spent);
    fflush(p->out);
}

void sw_say(sw_say_fn say, void *ctx, int after_progress, const char *fmt, ...)
{
    char line[SSM_ERROR_MSG_MAX + 200];
    va_list ap;
    if (!say)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    say(ctx, after_progress, line);
}

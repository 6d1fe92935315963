/* Minimal test harness in the GSL spirit: each check prints a line, and
 * the program exits 1 if any failed (the Automake harness then reports
 * FAIL), 0 otherwise. */
#ifndef SSM_TESTUTIL_H
#define SSM_TESTUTIL_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int test_failures, test_checks;

static void test_report(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void test_report(int ok, const char *fmt, ...)
{
    va_list ap;
    ++test_checks;
    if (!ok)
        ++test_failures;
    fputs(ok ? "ok   " : "FAIL ", ok ? stdout : stderr);
    va_start(ap, fmt);
    vfprintf(ok ? stdout : stderr, fmt, ap);
    va_end(ap);
    fputc('\n', ok ? stdout : stderr);
}

/* |got - want| <= atol, reported with both values. */
#define CHECK_ABS(got, want, atol, ...)                                                    \
    do {                                                                                   \
        double g_ = (got), w_ = (want), t_ = (atol);                                       \
        char m_[256];                                                                      \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                              \
        test_report(fabs(g_ - w_) <= t_ && !isnan(g_), "%s: got %.17g want %.17g (|d| %.3g <= %.3g)", \
                    m_, g_, w_, fabs(g_ - w_), t_);                                        \
    } while (0)

/* |got - want| <= rtol * max(|want|, tiny). */
#define CHECK_REL(got, want, rtol, ...)                                                    \
    CHECK_ABS(got, want, (rtol) * fmax(fabs(want), 1e-300), __VA_ARGS__)

#define CHECK(cond, ...) test_report(!!(cond), __VA_ARGS__)

static int test_summary(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
    return test_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Path of a reference file under tests/ref in the source tree. */
__attribute__((unused)) static const char *ref_path(const char *name)
{
    static char path[4096];
    const char *top = getenv("TOP_SRCDIR");
    snprintf(path, sizeof path, "%s/tests/ref/%s", top ? top : ".", name);
    return path;
}

#endif

/* The mutation engine and harness of tests/fuzz (fuzz.h). */
#include "config.h"

#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- corpus ------------------------------------------------------------------------ */

void fuzz_corpus_add(fuzz_corpus *c, const void *data, size_t len)
{
    fuzz_input *bigger = realloc(c->items, (c->n + 1) * sizeof *bigger);
    unsigned char *copy = malloc(len + 1);
    if (!bigger || !copy)
        abort();
    memcpy(copy, data, len);
    copy[len] = '\0';
    c->items = bigger;
    c->items[c->n++] = (fuzz_input){copy, len};
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int fuzz_corpus_add_file(fuzz_corpus *c, const char *path)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = malloc(FUZZ_MAX_INPUT);
    size_t len = fp && buf ? fread(buf, 1, FUZZ_MAX_INPUT, fp) : 0;
    int ok = fp && buf;
    if (ok)
        fuzz_corpus_add(c, buf, len);
    if (fp)
        fclose(fp);
    free(buf);
    return ok ? 0 : -1;
}

size_t fuzz_corpus_add_dir(fuzz_corpus *c, const char *dir)
{
    DIR *d = opendir(dir);
    char *names[256];
    size_t n = 0, added = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 256)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    if (d)
        closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for (size_t k = 0; k < n; ++k) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        free(names[k]);
        added += fuzz_corpus_add_file(c, path) == 0;
    }
    return added;
}

const char *fuzz_corpus_dir(const char *name)
{
    static char path[4096];
    const char *top = getenv("TOP_SRCDIR");
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/%s", top ? top : ".", name);
    return path;
}

void fuzz_corpus_free(fuzz_corpus *c)
{
    for (size_t k = 0; k < c->n; ++k)
        free(c->items[k].data);
    free(c->items);
    memset(c, 0, sizeof *c);
}

/* ---- mutations --------------------------------------------------------------------- */

typedef struct {
    unsigned char *p;
    size_t len;
} buffer;

static uint64_t draw(ssm_rng *rng, uint64_t n)
{
    return n ? ssm_rng_u64(rng) % n : 0;
}

static const unsigned char interesting_bytes[] = {0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x40, 0x20, '\n', '\r', 0x08, 0x03};
static const char text_bytes[] = "0123456789-.:,[]{}#&*!|>'\"% \t\neEx+_aznNiI";
static const uint64_t interesting_ints[] = {0,          1,          2,          7,          0x7f,        0x80,
                                            0xff,       0x100,      0x7fff,     0x8000,     0xffff,      0x10000,
                                            0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0x40000000,
                                            UINT64_MAX, INT64_MAX,  (uint64_t)INT64_MIN,     UINT64_MAX - 1};
static const char *const interesting_numbers[] = {
    "0", "-1", "1", "-0", "65536", "65537", "4096", "100000000", "100000001", "1e9", "1e12", "1e308", "-1e308",
    "1e-308", "4.9e-324", "18446744073709551615", "18446744073709551616", "9223372036854775808",
    "99999999999999999999999", "nan", "inf", "-inf", ".inf", "0x10", "1.5", "2e9", "1e6", "3.0"};
static const char *const yaml_tokens[] = {"&a ", "*a", "!foo ", "!!binary ", "!!str ", "[", "]", "{", "}", ": ",
                                          "- ", "\n", "\n  ", "\t", "%TAG ! tag:x,2000:\n", "---\n", "...\n",
                                          "'", "\"", "? ", "|\n", ">\n", "<<: ", "#", ",", "~", "null", "\\u0000"};

/* Replaces p[at, at + cut) with n bytes of src (src may be NULL: zeros). */
static void splice_in(buffer *b, size_t at, size_t cut, const void *src, size_t n)
{
    if (b->len - cut + n > FUZZ_MAX_INPUT)
        n = FUZZ_MAX_INPUT - (b->len - cut);
    memmove(b->p + at + n, b->p + at + cut, b->len - at - cut);
    if (src)
        memmove(b->p + at, src, n);
    else
        memset(b->p + at, 0, n);
    b->len = b->len - cut + n;
}

/* Overwrites (or, past the end, appends) a width-byte integer. */
static void put_integer(buffer *b, ssm_rng *rng)
{
    static const size_t widths[] = {1, 2, 4, 8};
    const size_t w = widths[draw(rng, 4)];
    const uint64_t v = interesting_ints[draw(rng, sizeof interesting_ints / sizeof interesting_ints[0])];
    const int big_endian = (int)draw(rng, 2);
    unsigned char bytes[8];
    for (size_t k = 0; k < w; ++k)
        bytes[k] = (unsigned char)(v >> (8 * (big_endian ? w - 1 - k : k)));
    size_t at = draw(rng, b->len + 1);
    splice_in(b, at, at + w <= b->len ? w : b->len - at, bytes, w);
}

/* Replaces the digits at (or after) a random place by an interesting number. */
static void put_number(buffer *b, ssm_rng *rng)
{
    size_t at = draw(rng, b->len + 1), end;
    while (at < b->len && !(b->p[at] >= '0' && b->p[at] <= '9'))
        ++at;
    while (at > 0 && b->p[at - 1] >= '0' && b->p[at - 1] <= '9')
        --at;
    for (end = at; end < b->len && ((b->p[end] >= '0' && b->p[end] <= '9') || b->p[end] == '.' || b->p[end] == 'e');)
        ++end;
    const char *s = interesting_numbers[draw(rng, sizeof interesting_numbers / sizeof interesting_numbers[0])];
    splice_in(b, at, end - at, s, strlen(s));
}

static void mutate_once(buffer *b, const fuzz_corpus *c, int text, ssm_rng *rng)
{
    const size_t len = b->len;
    switch (draw(rng, text ? 10 : 9)) {
    case 0:   /* bit flip */
        if (len)
            b->p[draw(rng, len)] ^= (unsigned char)(1u << draw(rng, 8));
        break;
    case 1:   /* byte set */
        if (len)
            b->p[draw(rng, len)] = text ? (unsigned char)text_bytes[draw(rng, sizeof text_bytes - 1)]
                                        : draw(rng, 2) ? interesting_bytes[draw(rng, sizeof interesting_bytes)]
                                                       : (unsigned char)draw(rng, 256);
        break;
    case 2:   /* truncation */
        b->len = draw(rng, len + 1);
        break;
    case 3: { /* duplication of a chunk */
        size_t from = draw(rng, len + 1), n = 1 + draw(rng, len - from < 512 ? len - from : 512);
        if (from < len) {
            unsigned char chunk[512];
            memcpy(chunk, b->p + from, n);
            splice_in(b, draw(rng, len + 1), 0, chunk, n);
        }
        break;
    }
    case 4: { /* deletion */
        size_t from = draw(rng, len + 1), n = draw(rng, len - from + 1);
        splice_in(b, from, n < 256 ? n : 256, NULL, 0);
        break;
    }
    case 5: { /* random bytes inserted */
        unsigned char bytes[16];
        size_t n = 1 + draw(rng, 16);
        for (size_t k = 0; k < n; ++k)
            bytes[k] = text ? (unsigned char)text_bytes[draw(rng, sizeof text_bytes - 1)] : (unsigned char)draw(rng, 256);
        splice_in(b, draw(rng, len + 1), 0, bytes, n);
        break;
    }
    case 6: { /* splice: a prefix of this, a suffix of another entry */
        const fuzz_input *o = &c->items[draw(rng, c->n)];
        size_t at = draw(rng, len + 1), from = draw(rng, o->len + 1);
        splice_in(b, at, len - at, o->data + from, o->len - from);
        break;
    }
    case 7:
    case 8:   /* interesting integers */
        if (text)
            put_number(b, rng);
        else
            put_integer(b, rng);
        break;
    default: { /* text: a YAML token */
        const char *tok = yaml_tokens[draw(rng, sizeof yaml_tokens / sizeof yaml_tokens[0])];
        splice_in(b, draw(rng, len + 1), 0, tok, strlen(tok));
        break;
    }
    }
}

/* Case numbers below the corpus size give the entries unchanged. */
static unsigned char *case_input(const fuzz_corpus *c, int text, uint64_t id, ssm_rng *rng, size_t *len)
{
    buffer b = {malloc(FUZZ_MAX_INPUT + 1), 0};
    if (!b.p)
        abort();
    const fuzz_input *in = &c->items[id < c->n ? id : draw(rng, c->n)];
    b.len = in->len < FUZZ_MAX_INPUT ? in->len : FUZZ_MAX_INPUT;
    memcpy(b.p, in->data, b.len);
    const uint64_t rounds = id < c->n ? 0 : 1 + draw(rng, 4);
    for (uint64_t k = 0; k < rounds; ++k)
        mutate_once(&b, c, text, rng);
    b.p[b.len] = '\0';
    *len = b.len;
    return b.p;
}

unsigned char *fuzz_mutate(const fuzz_corpus *c, int text, ssm_rng *rng, size_t *len)
{
    return case_input(c, text, c->n, rng, len);
}

/* ---- outcomes ------------------------------------------------------------------------ */

#define MAX_LABELS 16

static struct {
    const char *label;
    uint64_t count;
} tally[MAX_LABELS];
static char why[512];

void fuzz_tally(const char *label)
{
    for (int k = 0; k < MAX_LABELS; ++k)
        if (!tally[k].label || strcmp(tally[k].label, label) == 0) {
            tally[k].label = label;
            ++tally[k].count;
            return;
        }
}

void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
}

int fuzz_one_line(const char *m)
{
    if (!m || !*m)
        return 0;
    for (; *m; ++m)
        if ((unsigned char)*m < 0x20 || *m == 0x7f)
            return 0;
    return 1;
}

/* ---- scratch ------------------------------------------------------------------------- */

static char scratch[4096];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_scratch(void)
{
    if (scratch[0])
        nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_scratch(void)
{
    if (!scratch[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/ssm-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(scratch)) {
            perror("mkdtemp");
            exit(99);
        }
        atexit(remove_scratch);
    }
    return scratch;
}

/* ---- the harness --------------------------------------------------------------------- */

/* Prepared before each case, written by the signal handlers as they are. */
static char on_signal[600];
static size_t on_signal_len;

static void announce(void)
{
    if (write(STDERR_FILENO, on_signal, on_signal_len) < 0)
        _exit(98);
}

/* The watchdog: a timer ticks every case limit; a case still running at
 * two ticks in a row (more than one limit, at most two) is a hang.  One
 * timer instead of two alarm() calls per case: they cost more than a
 * case of the record fuzzer. */
static volatile sig_atomic_t cases_started;
static sig_atomic_t seen_at_tick = -1;

static void on_alarm(int sig)
{
    (void)sig;
    static const char hang[] = "FAIL: the case did not finish within the case limit (a hang)\n";
    if (cases_started != seen_at_tick) {
        seen_at_tick = cases_started;
        return;
    }
    announce();
    if (write(STDERR_FILENO, hang, sizeof hang - 1) < 0)
        _exit(98);
    _exit(1);
}

static void on_crash(int sig)
{
    announce();
    signal(sig, SIG_DFL);
    raise(sig);
}

#if FUZZ_UNDER_ASAN
#include <sanitizer/common_interface_defs.h>

/* Sizes the fuzzers must survive end in a refusal, not in the machine's
 * memory: a mutated spec can ask for a table of 10^8 tasks. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=" FUZZ_MEMORY_CAP_MB;
}
#endif

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double env_number(const char *name, double fallback)
{
    const char *v = getenv(name);
    char *end;
    double x = v && *v ? strtod(v, &end) : fallback;
    return v && *v && *end == '\0' ? x : fallback;
}

/* Outside the sanitizers, the address space is capped FUZZ_MEMORY_CAP_MB
 * above what the process maps at start, so a huge allocation fails as it
 * would on a full machine instead of filling this one, and a legal but
 * large task table (10^5 tasks and more take seconds to build) is cut
 * short. */
static void cap_memory(void)
{
#if !FUZZ_UNDER_ASAN
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    double kib = 0;
    while (fp && fgets(line, sizeof line, fp))
        if (strncmp(line, "VmSize:", 7) == 0)
            kib = strtod(line + 7, NULL);
    if (fp)
        fclose(fp);
    const rlim_t cap = (rlim_t)(kib * 1024) + ((rlim_t)atoi(FUZZ_MEMORY_CAP_MB) << 20);
    struct rlimit r = {cap, cap};
    if (kib > 0)
        setrlimit(RLIMIT_AS, &r);
#endif
}

int fuzz_main(const fuzz_target *t, const fuzz_corpus *c)
{
    if (c->n == 0) {
        fprintf(stderr, "%s: empty corpus\n", t->name);
        return 99;
    }
    memset(tally, 0, sizeof tally);
    const double budget = env_number("SSM_FUZZ_SECONDS", t->seconds);
    const uint64_t seed = (uint64_t)env_number("SSM_FUZZ_SEED", 1);
    const double only = env_number("SSM_FUZZ_CASE", -1);
    const long limit = (long)(env_number("SSM_FUZZ_CASE_SECONDS", 20) * env_number("SSM_SLOW_FACTOR", 1));
    cap_memory();
    signal(SIGALRM, on_alarm);
#if FUZZ_UNDER_ASAN
    __sanitizer_set_death_callback(announce);
#else
    const int crashes[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t k = 0; k < sizeof crashes / sizeof crashes[0]; ++k)
        signal(crashes[k], on_crash);
#endif
    const struct itimerval tick = {{limit, 0}, {limit, 0}}, off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &tick, NULL);
    const double start = seconds_now();
    uint64_t cases = 0, failures = 0, slowest = 0;
    double slowest_seconds = 0;
    for (uint64_t id = only >= 0 ? (uint64_t)only : 0;; ++id) {
        if (only >= 0 ? cases == 1 : seconds_now() - start >= budget || (t->max_cases && cases >= t->max_cases))
            break;
        ssm_rng rng;
        size_t len;
        ssm_rng_init(&rng, seed, id, UINT64_C(0x46555a5a));
        unsigned char *data = case_input(c, t->text, id, &rng, &len);
        on_signal_len = (size_t)snprintf(on_signal, sizeof on_signal,
                                         "%s: case %llu (%zu bytes) failed; reproduce with SSM_FUZZ_SEED=%llu "
                                         "SSM_FUZZ_CASE=%llu\n", t->name, (unsigned long long)id, len,
                                         (unsigned long long)seed, (unsigned long long)id);
        why[0] = '\0';
        if (only >= 0 && getenv("SSM_FUZZ_DUMP"))   /* the input of a reproduced case, to look at */
            fwrite(data, 1, len, stdout);
        ++cases_started;
        const double t0 = seconds_now();
        int rc = t->run(t->ctx, data, len, &rng);
        const double took = seconds_now() - t0;
        if (took > slowest_seconds) {
            slowest_seconds = took;
            slowest = id;
        }
        free(data);
        ++cases;
        if (rc) {
            fprintf(stderr, "FAIL %s: %s", why[0] ? why : "(no reason given)\n", on_signal);
            if (++failures == 5)
                break;
        }
    }
    setitimer(ITIMER_REAL, &off, NULL);
    const double spent = seconds_now() - start;
    printf("%s: %llu cases in %.1f s (%.0f cases/s), seed %llu, %llu failed; outcomes:", t->name,
           (unsigned long long)cases, spent, spent > 0 ? (double)cases / spent : 0.0, (unsigned long long)seed,
           (unsigned long long)failures);
    for (int k = 0; k < MAX_LABELS && tally[k].label; ++k)
        printf("%s %s %llu", k ? "," : "", tally[k].label, (unsigned long long)tally[k].count);
    printf("; slowest case %llu, %.2f s\n", (unsigned long long)slowest, slowest_seconds);
    return failures ? 1 : 0;
}

/* Seeded mutation fuzzing inside `make check`: one mutation engine and one
 * harness for every fuzzer under tests/fuzz.
 *
 * A case is a pure function of (seed, case number): a corpus entry chosen
 * by the counter-based generator of src/ssm/rng.h, then 1 to 4 stacked
 * mutations (bit flips, byte sets, truncations, duplications, deletions,
 * insertions, splices with another entry, interesting integers -- as bytes
 * in binary inputs, as decimal text and YAML tokens in text inputs).  The
 * harness runs cases until its time budget is spent and reports the count
 * and rate; it fails on a crash (the signal, or the sanitizer's report),
 * on a case that runs longer than the case limit (a watchdog timer: one to
 * two limits), and on any
 * outcome the target's check refuses (a status outside the documented
 * set, a message that is not exactly one line).
 *
 * Environment: SSM_FUZZ_SECONDS (budget, default per fuzzer),
 * SSM_FUZZ_SEED (default 1), SSM_FUZZ_CASE (run only that case: the
 * reproduction of a failure, whose case number and seed the harness
 * prints; SSM_FUZZ_DUMP=1 writes its input to stdout), SSM_FUZZ_CASE_SECONDS
 * (default 20 x SSM_SLOW_FACTOR). */
#ifndef SSM_FUZZ_H
#define SSM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "ssm/rng.h"

#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_UNDER_ASAN 1
#endif
#endif
#ifndef FUZZ_UNDER_ASAN
#define FUZZ_UNDER_ASAN 0
#endif

/* What a case may allocate beyond the process's start (megabytes): the
 * address space cap outside the sanitizers, the allocation limit under
 * AddressSanitizer; larger allocations fail (SSM_ENOMEM). */
#define FUZZ_MEMORY_CAP_MB "256"

/* Mutated inputs are cut to this size: cases stay fast. */
#define FUZZ_MAX_INPUT (64 * 1024)

typedef struct {
    unsigned char *data;
    size_t len;
} fuzz_input;

typedef struct {
    fuzz_input *items;
    size_t n;
} fuzz_corpus;

/* One case: 0 if the outcome is one the documentation allows, else -1
 * after fuzz_fail() said why.  rng is the case's own generator (targets
 * may draw options from it). */
typedef int (*fuzz_run)(void *ctx, const unsigned char *data, size_t len, ssm_rng *rng);

typedef struct {
    const char *name;      /* "fuzz_spec" */
    int text;              /* mutations of text: digits, YAML tokens */
    fuzz_run run;
    void *ctx;
    double seconds;        /* default budget */
    uint64_t max_cases;    /* 0: no limit but time */
} fuzz_target;

void fuzz_corpus_add(fuzz_corpus *c, const void *data, size_t len);
/* Adds the first FUZZ_MAX_INPUT bytes of a file; -1 if it cannot be read. */
int fuzz_corpus_add_file(fuzz_corpus *c, const char *path);
/* Adds every regular file of dir (sorted by name); returns the count. */
size_t fuzz_corpus_add_dir(fuzz_corpus *c, const char *dir);
/* TOP_SRCDIR/tests/fuzz/corpus/<name> */
const char *fuzz_corpus_dir(const char *name);
void fuzz_corpus_free(fuzz_corpus *c);

/* A mutated copy of a corpus entry (malloc'ed, *len bytes, NUL after them). */
unsigned char *fuzz_mutate(const fuzz_corpus *c, int text, ssm_rng *rng, size_t *len);

/* Counts an outcome by label for the closing report ("refused", ...). */
void fuzz_tally(const char *label);
/* Says why the current case failed (printed with its number and seed). */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A message a user may see: non-empty, one line, no control characters. */
int fuzz_one_line(const char *message);

/* A scratch directory for the fuzzer's files, removed at exit. */
const char *fuzz_scratch(void);

/* Runs the target over the corpus; returns the exit status for Automake. */
int fuzz_main(const fuzz_target *t, const fuzz_corpus *c);

#endif

/* Result records and the journal: byte-exact round trips, rejection of
 * every truncated or damaged input, and recovery of a journal torn at any
 * byte. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sweep/journal.h"
#include "sweep/record.h"
#include "sweeptest.h"
#include "testutil.h"

#define N_TASKS 10
#define SPEC_HASH UINT64_C(0x0123456789abcdef)



/* ---- records ----------------------------------------------------------------- */

static int same_record(const sw_record *a, const sw_record *b)
{
    const sw_result *x = &a->result, *y = &b->result;
    if (a->task != b->task || a->status != b->status || a->rank != b->rank || !same_bits(a->elapsed, b->elapsed) ||
        !same_bits(a->finished, b->finished) || strcmp(a->host, b->host) != 0 || strcmp(a->error, b->error) != 0 ||
        x->n_scalars != y->n_scalars || x->n_curves != y->n_curves)
        return 0;
    for (size_t k = 0; k < x->n_scalars; ++k)
        if (!same_bits(x->scalars[k], y->scalars[k]))
            return 0;
    for (size_t c = 0; c < x->n_curves; ++c) {
        if (x->curve_len[c] != y->curve_len[c])
            return 0;
        for (size_t j = 0; j < x->curve_len[c]; ++j)
            if (!same_bits(x->curves[c][j], y->curves[c][j]))
                return 0;
    }
    return 1;
}

static int is_empty(const sw_record *r)
{
    return r->result.n_scalars == 0 && r->result.n_curves == 0 && !r->result.scalars && !r->result.curves;
}

static unsigned char *packed(const sw_record *r, size_t *len)
{
    *len = sw_record_packed_size(r);
    unsigned char *buf = malloc(*len + 1);
    if (!buf)
        abort();
    size_t wrote = sw_record_pack(r, buf);
    if (wrote != *len) {
        fprintf(stderr, "pack wrote %zu bytes, packed_size said %zu\n", wrote, *len);
        abort();
    }
    return buf;
}

/* Round trip, then every proper prefix and one byte too many must fail
 * cleanly, leaving an empty record. */
static void check_round_trip(const sw_record *r, const char *what)
{
    size_t len;
    unsigned char *buf = packed(r, &len);
    sw_record back;
    ssm_error err;
    CHECK(sw_record_unpack(buf, len, &back, &err) == SSM_OK && same_record(r, &back),
          "%s: pack/unpack round trip of %zu bytes is bit-exact", what, len);
    sw_record_free(&back);
    int all = 1;
    for (size_t cut = 0; cut < len; ++cut) {
        ssm_status st = sw_record_unpack(buf, cut, &back, &err);
        all &= st == SSM_EIO && is_empty(&back) && strstr(err.message, "malformed") != NULL;
        sw_record_free(&back);
    }
    CHECK(all, "%s: all %zu truncations rejected with SSM_EIO (e.g. \"%s\")", what, len, err.message);
    buf[len] = 0;
    CHECK(sw_record_unpack(buf, len + 1, &back, &err) == SSM_EIO && is_empty(&back),
          "%s: a trailing byte is rejected: %s", what, err.message);
    free(buf);
}

static void test_records(void)
{
    const sw_kind *noop = sw_kind_find("noop");
    size_t lens[][1] = {{0}, {1}, {7}, {1000}};
    for (size_t k = 0; k < 4; ++k) {
        sw_record r = hand_record(noop, 3 + k, SW_DONE, 0.25 * (double)k, lens[k], NULL);
        char what[64];
        snprintf(what, sizeof what, "done record, curve of %zu", lens[k][0]);
        check_round_trip(&r, what);
        sw_record_free(&r);
    }

    /* odd doubles: payload NaN, negative NaN, -0, denormal, inf */
    sw_record r = hand_record(noop, 9, SW_DONE, 0, lens[2], NULL);
    uint64_t payload = UINT64_C(0x7ff8000000000123), negnan = UINT64_C(0xfff0000000000001);
    memcpy(&r.result.scalars[0], &payload, 8);
    memcpy(&r.result.scalars[1], &negnan, 8);
    r.result.curves[0][0] = -0.0;
    r.result.curves[0][1] = 4.9e-324;
    r.result.curves[0][2] = -INFINITY;
    r.result.curves[0][3] = NAN;
    r.elapsed = NAN;
    check_round_trip(&r, "NaN payloads, -0, denormal, inf");
    sw_record_free(&r);

    r = hand_record(noop, 1, SW_FAILED, 0, NULL, "LAPACK failed: singular matrix");
    check_round_trip(&r, "failed record with a reason");
    sw_record_free(&r);

    r = hand_record(noop, UINT64_MAX, SW_FAILED, 0, NULL, NULL);
    memset(r.host, 'h', SW_HOST_MAX - 1);
    memset(r.error, 'e', SW_ERROR_MAX - 1);
    r.host[SW_HOST_MAX - 1] = r.error[SW_ERROR_MAX - 1] = '\0';
    r.rank = INT32_MIN;
    check_round_trip(&r, "longest host and error");

    /* the buffers are full (no NUL): pack still stops at size - 1 */
    r.host[SW_HOST_MAX - 1] = 'x';
    r.error[SW_ERROR_MAX - 1] = 'x';
    size_t len;
    unsigned char *buf = packed(&r, &len);
    sw_record back;
    ssm_error err;
    CHECK(sw_record_unpack(buf, len, &back, &err) == SSM_OK && strlen(back.host) == SW_HOST_MAX - 1 &&
              strlen(back.error) == SW_ERROR_MAX - 1,
          "unterminated host/error are cut to %d/%d characters", SW_HOST_MAX - 1, SW_ERROR_MAX - 1);
    sw_record_free(&back);
    free(buf);

    /* a failed record packs no values even if its result has some */
    sw_record f = hand_record(noop, 4, SW_DONE, 1, lens[2], NULL);
    f.status = SW_FAILED;
    buf = packed(&f, &len);
    CHECK(sw_record_unpack(buf, len, &back, &err) == SSM_OK && back.status == SW_FAILED && is_empty(&back),
          "a failed record carries no scalars or curves (%zu bytes)", len);
    sw_record_free(&back);
    free(buf);
    sw_record_free(&f);

    /* garbage in the fields that size allocations */
    r = hand_record(noop, 2, SW_DONE, 1, lens[2], NULL);
    buf = packed(&r, &len);
    size_t at_host = 8 + 1 + 4 + 8 + 8;
    unsigned char saved[4];
    memcpy(saved, buf + at_host, 2);
    uint16_t big = SW_HOST_MAX;
    memcpy(buf + at_host, &big, 2);
    CHECK(sw_record_unpack(buf, len, &back, &err) == SSM_EIO && is_empty(&back), "host length %d rejected: %s",
          SW_HOST_MAX, err.message);
    memcpy(buf + at_host, saved, 2);
    buf[8] = 7;
    CHECK(sw_record_unpack(buf, len, &back, &err) == SSM_EIO, "status 7 rejected: %s", err.message);
    buf[8] = SW_PENDING;
    CHECK(sw_record_unpack(buf, len, &back, &err) == SSM_EIO, "status pending rejected: %s", err.message);
    buf[8] = SW_DONE;
    size_t at_count = at_host + 2 + strlen(r.host) + 2;
    uint32_t huge = UINT32_MAX;
    memcpy(buf + at_count, &huge, 4);
    CHECK(sw_record_unpack(buf, len, &back, &err) == SSM_EIO && is_empty(&back),
          "a scalar count of 2^32-1 is rejected before allocating: %s", err.message);
    free(buf);
    sw_record_free(&r);

    /* random bytes: never a crash, never a leak (sanitizers watch) */
    unsigned long long x = 88172645463325252ULL;
    int accepted = 0;
    unsigned char noise[200];
    for (int round = 0; round < 20000; ++round) {
        for (size_t k = 0; k < sizeof noise; ++k) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            noise[k] = (unsigned char)x;
        }
        noise[8] = (unsigned char)(1 + round % 2);   /* a plausible status gets further */
        memset(noise + 29, 0, 2);                   /* and so do empty strings */
        memset(noise + 31, 0, 2);
        accepted += sw_record_unpack(noise, (size_t)(x % sizeof noise), &back, &err) == SSM_OK;
        sw_record_free(&back);
    }
    CHECK(1, "20000 random buffers unpacked without a crash (%d happened to be valid)", accepted);
}

/* ---- journal ---------------------------------------------------------------------- */

typedef struct {
    sw_record rec[64];
    size_t n;
    size_t stop_after;   /* 0: never stop */
} collected;

static int collect(void *ctx, const sw_record *rec)
{
    collected *c = ctx;
    if (c->n < 64) {
        sw_record *r = &c->rec[c->n++];
        /* a deep copy through the serializer */
        size_t len;
        unsigned char *buf = packed(rec, &len);
        if (sw_record_unpack(buf, len, r, NULL) != SSM_OK)
            abort();
        free(buf);
    }
    return c->stop_after && c->n >= c->stop_after;
}

static void collected_free(collected *c)
{
    for (size_t k = 0; k < c->n; ++k)
        sw_record_free(&c->rec[k]);
    c->n = 0;
}


static void copy_prefix(const char *from, const char *to, long n)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    if (!in || !out)
        abort();
    for (long k = 0; k < n; ++k) {
        int ch = getc(in);
        if (ch == EOF)
            abort();
        putc(ch, out);
    }
    fclose(in);
    if (fclose(out) != 0)
        abort();
}

static void flip_byte(const char *path, long at)
{
    FILE *f = fopen(path, "r+b");
    if (!f || fseek(f, at, SEEK_SET) != 0)
        abort();
    int ch = getc(f);
    fseek(f, at, SEEK_SET);
    putc(ch ^ 0x40, f);
    fclose(f);
}

/* The records the journal tests write: done and failed, curves of
 * several lengths, task 5 twice (a retry). */
#define N_RECS 8
static sw_record recs[N_RECS];

static void make_recs(void)
{
    const sw_kind *noop = sw_kind_find("noop");
    static const size_t lens[N_RECS] = {0, 3, 0, 100, 1, 0, 17, 2};
    static const int fails[N_RECS] = {0, 0, 1, 0, 0, 1, 0, 0};
    static const uint64_t ids[N_RECS] = {7, 0, 5, 2, 9, 3, 5, 4};
    for (size_t k = 0; k < N_RECS; ++k)
        recs[k] = hand_record(noop, ids[k], fails[k] ? SW_FAILED : SW_DONE, (double)k - 2.5, &lens[k], NULL);
}

static int read_all(const char *path, collected *c, long *valid, int *torn, ssm_error *err)
{
    sw_journal_header h;
    collected_free(c);
    return sw_journal_read(path, &h, collect, c, valid, torn, err);
}

static int same_prefix(const collected *c, size_t n)
{
    if (c->n != n)
        return 0;
    for (size_t k = 0; k < n; ++k)
        if (!same_record(&c->rec[k], &recs[k]))
            return 0;
    return 1;
}

static sw_journal *journal_with(const char *path, const sw_tasks *t, size_t n)
{
    sw_journal *j;
    ssm_error err;
    remove(path);
    if (sw_journal_create(path, t, &j, &err) != SSM_OK) {
        fprintf(stderr, "%s\n", err.message);
        abort();
    }
    for (size_t k = 0; k < n; ++k)
        if (sw_journal_append(j, &recs[k], &err) != SSM_OK)
            abort();
    return j;
}

static void test_journal_basic(const sw_tasks *t)
{
    const char *path = scratch("basic.journal");
    sw_journal *j = NULL;
    ssm_error err;
    collected c = {.n = 0};
    long valid;
    int torn;
    sw_journal_header h;

    CHECK(sw_journal_create(path, t, &j, &err) == SSM_OK, "create %s", path);
    CHECK(file_size(path) > 0, "the header is on disk right after create (%ld bytes)", file_size(path));
    for (size_t k = 0; k < N_RECS / 2; ++k)
        sw_journal_append(j, &recs[k], &err);
    CHECK(sw_journal_sync(j, &err) == SSM_OK, "sync");
    ssm_status st = read_all(path, &c, &valid, &torn, &err);
    CHECK(st == SSM_OK && same_prefix(&c, N_RECS / 2) && !torn && valid == file_size(path),
          "a reader sees the synced records while the journal is open (%zu)", c.n);
    for (size_t k = N_RECS / 2; k < N_RECS; ++k)
        sw_journal_append(j, &recs[k], &err);
    CHECK(sw_journal_close(j, &err) == SSM_OK, "close");
    st = read_all(path, &c, &valid, &torn, &err);
    CHECK(st == SSM_OK && same_prefix(&c, N_RECS) && !torn && valid == file_size(path),
          "read gives all %d records in order, bit-exact, not torn, valid = size = %ld", N_RECS, valid);
    st = sw_journal_read(path, &h, NULL, NULL, &valid, &torn, &err);
    CHECK(st == SSM_OK && h.version == 1 &&
              h.spec_hash == SPEC_HASH && h.n_tasks == N_TASKS && strcmp(h.kind, "noop") == 0 &&
              h.n_scalars == 2 && h.n_curves == 1,
          "header: version %u, hash %016llx, %llu tasks, kind %s, %u scalars, %u curves", h.version,
          (unsigned long long)h.spec_hash, (unsigned long long)h.n_tasks, h.kind, h.n_scalars, h.n_curves);
    c.stop_after = 3;
    st = read_all(path, &c, &valid, &torn, &err);
    CHECK(st == SSM_OK && c.n == 3 && !torn, "a visitor returning nonzero stops the reading after %zu records", c.n);
    c.stop_after = 0;

    j = NULL;
    CHECK(sw_journal_create(path, t, &j, &err) == SSM_EIO && !j && strstr(err.message, path) &&
              strstr(err.message, "exists"),
          "create refuses an existing file: %s", err.message);
    CHECK(read_all(path, &c, &valid, &torn, &err) == SSM_OK && c.n == N_RECS, "... and leaves it intact");

    CHECK(sw_journal_open_append(path, t, 0, &j, &err) == SSM_OK, "open_append");
    sw_journal *second = NULL;
    CHECK(sw_journal_open_append(path, t, 0, &second, &err) == SSM_EIO && !second &&
              strstr(err.message, "in use"),
          "a second writer is refused while the first holds it: %s", err.message);
    sw_journal_append(j, &recs[0], &err);
    sw_journal_close(j, &err);
    st = read_all(path, &c, &valid, &torn, &err);
    CHECK(st == SSM_OK && c.n == N_RECS + 1 && same_record(&c.rec[N_RECS], &recs[0]),
          "appending after reopening continues the journal (%zu records)", c.n);
    CHECK(sw_journal_close(NULL, &err) == SSM_OK, "close(NULL) is fine");

    CHECK(sw_journal_read(scratch("missing.journal"), &h, NULL, NULL, &valid, &torn, &err) == SSM_EIO &&
              strstr(err.message, "missing.journal"),
          "a missing journal: %s", err.message);
    FILE *f = fopen(scratch("not.journal"), "w");
    fputs("name,value\nsomething else entirely\n", f);
    fclose(f);
    CHECK(sw_journal_read(scratch("not.journal"), &h, NULL, NULL, &valid, &torn, &err) == SSM_EIO &&
              strstr(err.message, "not an ssmsweep journal"),
          "another file: %s", err.message);
    collected_free(&c);
}

/* Every prefix of a journal: shorter than the header is an error, longer
 * gives the frames that are whole; the last frame torn at every byte is
 * truncated by open_append and appending goes on. */
static void test_journal_torn(const sw_tasks *t)
{
    const char *path = scratch("whole.journal"), *cut_path = scratch("cut.journal");
    sw_journal *j = journal_with(path, t, N_RECS);
    ssm_error err;
    collected c = {.n = 0};
    long valid, size;
    int torn;
    sw_journal_close(j, &err);
    size = file_size(path);
    long last = size - 8 - (long)sw_record_packed_size(&recs[N_RECS - 1]);
    long header = last;
    for (size_t k = 0; k < N_RECS - 1; ++k)
        header -= 8 + (long)sw_record_packed_size(&recs[k]);

    int ok_header = 1, ok_frames = 1, ok_torn = 1, ok_resume = 1;
    for (long cut = 0; cut <= size; ++cut) {
        copy_prefix(path, cut_path, cut);
        ssm_status st = read_all(cut_path, &c, &valid, &torn, &err);
        if (cut < header) {
            ok_header &= st == SSM_EIO && c.n == 0;
            continue;
        }
        /* how many frames are whole in cut bytes */
        size_t whole = 0;
        long end = header;
        while (whole < N_RECS && end + 8 + (long)sw_record_packed_size(&recs[whole]) <= cut)
            end += 8 + (long)sw_record_packed_size(&recs[whole++]);
        ok_frames &= st == SSM_OK && same_prefix(&c, whole) && valid == end;
        ok_torn &= torn == (cut > end);
        if (cut < last)
            continue;
        /* the last frame torn here: resume and append it again */
        sw_journal *a = NULL;
        st = sw_journal_open_append(cut_path, t, 0, &a, &err);
        ok_resume &= st == SSM_OK && file_size(cut_path) == end;
        if (st == SSM_OK && cut < size)
            ok_resume &= sw_journal_append(a, &recs[N_RECS - 1], &err) == SSM_OK;
        ok_resume &= sw_journal_close(a, &err) == SSM_OK;
        ok_resume &= read_all(cut_path, &c, &valid, &torn, &err) == SSM_OK && same_prefix(&c, N_RECS) && !torn &&
                     valid == size;
    }
    CHECK(ok_header, "every cut inside the %ld-byte header is an error (e.g. \"%s\")", header,
          "journal header is truncated");
    CHECK(ok_frames, "every cut from %ld to %ld bytes reads the whole frames before it", header, size);
    CHECK(ok_torn, "torn is set exactly when bytes follow the last whole frame");
    CHECK(ok_resume, "the last frame torn at each of its %ld bytes: open_append truncates, appending resumes",
          size - last);

    /* damage in the middle: reading stops before the damaged frame */
    long third = header;
    for (size_t k = 0; k < 2; ++k)
        third += 8 + (long)sw_record_packed_size(&recs[k]);
    copy_prefix(path, cut_path, size);
    flip_byte(cut_path, third + 8 + 20);
    ssm_status st = read_all(cut_path, &c, &valid, &torn, &err);
    CHECK(st == SSM_OK && same_prefix(&c, 2) && torn && valid == third,
          "a flipped payload byte fails the CRC: 2 records, torn at %ld", valid);
    copy_prefix(path, cut_path, size);
    flip_byte(cut_path, third + 2);
    CHECK(read_all(cut_path, &c, &valid, &torn, &err) == SSM_OK && same_prefix(&c, 2) && torn,
          "a damaged frame length stops the reading too");
    copy_prefix(path, cut_path, size);
    flip_byte(cut_path, 14);
    CHECK(read_all(cut_path, &c, &valid, &torn, &err) == SSM_EIO && strstr(err.message, "corrupt"),
          "a damaged header: %s", err.message);

    /* a frame with a valid CRC that does not fit the header is a bug: an
     * error, never a truncation */
    sw_journal *bad = journal_with(cut_path, t, 2);
    const sw_kind *noop = sw_kind_find("noop");
    sw_record alien = hand_record(noop, N_TASKS + 5, SW_DONE, 0, NULL, NULL);
    sw_journal_append(bad, &alien, &err);
    sw_journal_close(bad, &err);
    sw_record_free(&alien);
    CHECK(read_all(cut_path, &c, &valid, &torn, &err) == SSM_EIO && strstr(err.message, "does not match"),
          "a checksummed record of task %d in a %d-task journal: %s", N_TASKS + 5, N_TASKS, err.message);
    sw_journal *a = NULL;
    long before = file_size(cut_path);
    CHECK(sw_journal_open_append(cut_path, t, 0, &a, &err) == SSM_EIO && !a && file_size(cut_path) == before,
          "... and open_append refuses it without truncating");
    collected_free(&c);
}

static void test_journal_mismatch(const sw_tasks *t)
{
    const char *path = scratch("mismatch.journal");
    sw_journal *j = journal_with(path, t, 3), *a = NULL;
    ssm_error err;
    sw_journal_close(j, &err);

    sw_tasks *other_hash = hand_tasks("noop", N_TASKS, SPEC_HASH + 1);
    sw_tasks *other_n = hand_tasks("noop", N_TASKS + 1, SPEC_HASH);
    sw_tasks *other_kind = hand_tasks("mf", N_TASKS, SPEC_HASH);

    CHECK(sw_journal_open_append(path, other_hash, 0, &a, &err) == SSM_EINVAL && !a &&
              strstr(err.message, "another spec") && strstr(err.message, "--force") &&
              strstr(err.message, "0123456789abcdef"),
          "another spec hash: %s", err.message);
    CHECK(sw_journal_open_append(path, other_hash, 1, &a, &err) == SSM_OK && a, "... accepted with force");
    sw_journal_close(a, &err);
    a = NULL;
    CHECK(sw_journal_open_append(path, other_n, 1, &a, &err) == SSM_EINVAL && !a && strstr(err.message, "10 tasks") &&
              strstr(err.message, "11"),
          "another task count, even with force: %s", err.message);
    CHECK(sw_journal_open_append(path, other_kind, 1, &a, &err) == SSM_EINVAL && !a &&
              strstr(err.message, "kind noop") && strstr(err.message, "mf"),
          "another kind: %s", err.message);
    hand_tasks_free(other_hash);
    hand_tasks_free(other_n);
    hand_tasks_free(other_kind);
}

int main(void)
{
    if (scratch_make("test_journal") != 0) {
        perror("mkdtemp");
        return 99;
    }
    sw_tasks *t = hand_tasks("noop", N_TASKS, SPEC_HASH);
    make_recs();
    test_records();
    test_journal_basic(t);
    test_journal_torn(t);
    test_journal_mismatch(t);
    for (size_t k = 0; k < N_RECS; ++k)
        sw_record_free(&recs[k]);
    hand_tasks_free(t);
    const char *names[] = {"basic.journal", "whole.journal", "cut.journal", "mismatch.journal", "not.journal"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; ++k)
        remove(scratch(names[k]));
    rmdir(scratch_dir);
    return test_summary("test_journal");
}

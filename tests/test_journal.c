/* Result records and the journal: byte-exact round trips, rejection of
 * every truncated or damaged input, recovery of a journal torn at any
 * byte, every valid record kept around damage anywhere, the older formats
 * read, a bounded reader. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

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
    if (a->task != b->task || a->hash != b->hash || a->status != b->status || a->rank != b->rank || !same_bits(a->elapsed, b->elapsed) ||
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
    const sw_kind *noop = sw_registry_find(&ex_registry, "noop");
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

    /* the form of journal versions 1 and 2: no hash after the task id */
    {
        sw_record d = hand_record(noop, 6, SW_DONE, 2, lens[2], NULL), back;
        size_t len;
        ssm_error err;
        unsigned char *buf = packed(&d, &len);
        memmove(buf + 8, buf + 16, len - 16);
        d.hash = 0;
        CHECK(sw_record_unpack_legacy(buf, len - 8, &back, &err) == SSM_OK && same_record(&d, &back),
              "a record without hash (%zu bytes) reads back as the legacy form, hash 0", len - 8);
        sw_record_free(&back);
        CHECK(sw_record_unpack(buf, len - 8, &back, &err) == SSM_EIO, "... and not as the current one: %s",
              err.message);
        free(buf);
        sw_record_free(&d);
    }

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
    size_t at_host = 8 + 8 + 1 + 4 + 8 + 8;   /* task, hash, status, rank, elapsed, finished */
    unsigned char saved[4];
    memcpy(saved, buf + at_host, 2);
    uint16_t big = SW_HOST_MAX;
    memcpy(buf + at_host, &big, 2);
    CHECK(sw_record_unpack(buf, len, &back, &err) == SSM_EIO && is_empty(&back), "host length %d rejected: %s",
          SW_HOST_MAX, err.message);
    memcpy(buf + at_host, saved, 2);
    buf[16] = 7;
    CHECK(sw_record_unpack(buf, len, &back, &err) == SSM_EIO, "status 7 rejected: %s", err.message);
    buf[16] = SW_PENDING;
    CHECK(sw_record_unpack(buf, len, &back, &err) == SSM_EIO, "status pending rejected: %s", err.message);
    buf[16] = SW_DONE;
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
        noise[16] = (unsigned char)(1 + round % 2);   /* a plausible status gets further */
        memset(noise + 37, 0, 2);                    /* and so do empty strings */
        memset(noise + 39, 0, 2);
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

/* Writes n bytes at offset at (extending the file if need be). */
static void overwrite(const char *path, long at, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "r+b");
    if (!f || fseek(f, at, SEEK_SET) != 0 || fwrite(bytes, 1, n, f) != n)
        abort();
    fclose(f);
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
#define FRAME_HEAD 12
static sw_record recs[N_RECS];

static void make_recs(void)
{
    const sw_kind *noop = sw_registry_find(&ex_registry, "noop");
    static const size_t lens[N_RECS] = {0, 3, 0, 100, 1, 0, 17, 2};
    static const int fails[N_RECS] = {0, 0, 1, 0, 0, 1, 0, 0};
    static const uint64_t ids[N_RECS] = {7, 0, 5, 2, 9, 3, 5, 4};
    for (size_t k = 0; k < N_RECS; ++k)
        recs[k] = hand_record(noop, ids[k], fails[k] ? SW_FAILED : SW_DONE, (double)k - 2.5, &lens[k], NULL);
}

static ssm_status read_all(const char *path, collected *c, sw_journal_scan *scan, ssm_error *err)
{
    sw_journal_header h;
    collected_free(c);
    return sw_journal_read(path, &h, collect, c, scan, err);
}

/* c holds recs[0..n) except recs[skip_from..skip_to), in order. */
static int same_records(const collected *c, size_t n, size_t skip_from, size_t skip_to)
{
    size_t at = 0;
    for (size_t k = 0; k < n; ++k) {
        if (k >= skip_from && k < skip_to)
            continue;
        if (at >= c->n || !same_record(&c->rec[at++], &recs[k]))
            return 0;
    }
    return at == c->n;
}

static int same_prefix(const collected *c, size_t n)
{
    return same_records(c, n, n, n);
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

/* Offset of frame k in a journal of recs whose header has header bytes. */
static long frame_start(long header, size_t k, size_t head)
{
    long at = header;
    for (size_t j = 0; j < k; ++j)
        at += (long)head + (long)sw_record_packed_size(&recs[j]);
    return at;
}

static void test_journal_basic(const sw_tasks *t)
{
    const char *path = scratch("basic.journal");
    sw_journal *j = NULL;
    ssm_error err;
    collected c = {.n = 0};
    sw_journal_scan scan;
    sw_journal_header h;

    CHECK(sw_journal_create(path, t, &j, &err) == SSM_OK, "create %s", path);
    CHECK(file_size(path) > 0, "the header is on disk right after create (%ld bytes)", file_size(path));
    for (size_t k = 0; k < N_RECS / 2; ++k)
        sw_journal_append(j, &recs[k], &err);
    CHECK(sw_journal_sync(j, &err) == SSM_OK, "sync");
    ssm_status st = read_all(path, &c, &scan, &err);
    CHECK(st == SSM_OK && same_prefix(&c, N_RECS / 2) && !scan.torn && !scan.damaged &&
              scan.valid_end == file_size(path) && scan.records == N_RECS / 2,
          "a reader sees the synced records while the journal is open (%zu)", c.n);
    for (size_t k = N_RECS / 2; k < N_RECS; ++k)
        sw_journal_append(j, &recs[k], &err);
    CHECK(sw_journal_close(j, &err) == SSM_OK, "close");
    st = read_all(path, &c, &scan, &err);
    CHECK(st == SSM_OK && same_prefix(&c, N_RECS) && !scan.torn && scan.valid_end == file_size(path) &&
              scan.first_damage == -1,
          "read gives all %d records in order, bit-exact (hashes too), not torn, valid = size = %ld", N_RECS,
          scan.valid_end);
    st = sw_journal_read(path, &h, NULL, NULL, &scan, &err);
    CHECK(st == SSM_OK && h.version == SW_JOURNAL_VERSION && h.spec_hash == SPEC_HASH && h.n_tasks == N_TASKS &&
              strcmp(h.kind, "noop") == 0 && h.n_scalars == 2 && h.n_curves == 1 && h.shard.count == 1 &&
              h.master_seed == t->master_seed,
          "header: version %u, hash %016llx, %llu tasks, kind %s, %u scalars, %u curves", h.version,
          (unsigned long long)h.spec_hash, (unsigned long long)h.n_tasks, h.kind, h.n_scalars, h.n_curves);
    c.stop_after = 3;
    st = read_all(path, &c, &scan, &err);
    CHECK(st == SSM_OK && c.n == 3 && !scan.torn && scan.stopped,
          "a visitor returning nonzero stops the reading after %zu records", c.n);
    c.stop_after = 0;

    j = NULL;
    CHECK(sw_journal_create(path, t, &j, &err) == SSM_EIO && !j && strstr(err.message, path) &&
              strstr(err.message, "exists"),
          "create refuses an existing file: %s", err.message);
    CHECK(read_all(path, &c, &scan, &err) == SSM_OK && c.n == N_RECS, "... and leaves it intact");

    CHECK(sw_journal_open_append(path, t, &j, &err) == SSM_OK, "open_append");
    sw_journal *second = NULL;
    CHECK(sw_journal_open_append(path, t, &second, &err) == SSM_EIO && !second && strstr(err.message, "in use"),
          "a second writer is refused while the first holds it: %s", err.message);
    sw_journal_append(j, &recs[0], &err);
    sw_journal_close(j, &err);
    st = read_all(path, &c, &scan, &err);
    CHECK(st == SSM_OK && c.n == N_RECS + 1 && same_record(&c.rec[N_RECS], &recs[0]),
          "appending after reopening continues the journal (%zu records)", c.n);
    CHECK(sw_journal_close(NULL, &err) == SSM_OK, "close(NULL) is fine");

    CHECK(sw_journal_read(scratch("missing.journal"), &h, NULL, NULL, &scan, &err) == SSM_EINVAL &&
              strstr(err.message, "missing.journal"),
          "a missing journal: %s", err.message);
    FILE *f = fopen(scratch("not.journal"), "w");
    fputs("name,value\nsomething else entirely\n", f);
    fclose(f);
    CHECK(sw_journal_read(scratch("not.journal"), &h, NULL, NULL, &scan, &err) == SSM_EINVAL &&
              strstr(err.message, "not an ssmsweep journal"),
          "another file: %s", err.message);
    CHECK(sw_journal_read(scratch_dir, &h, NULL, NULL, &scan, &err) != SSM_OK, "a directory: %s", err.message);

    /* a journal rewritten under a temporary name replaces the old one whole */
    char tmp[256];
    path = scratch("basic.journal");   /* scratch() keeps only its last four names */
    snprintf(tmp, sizeof tmp, "%s.rewrite", path);
    remove(tmp);
    CHECK(sw_journal_create(tmp, t, &j, &err) == SSM_OK && sw_journal_append(j, &recs[3], &err) == SSM_OK &&
              sw_journal_replace(j, path, &err) == SSM_OK && sw_journal_append(j, &recs[4], &err) == SSM_OK &&
              sw_journal_close(j, &err) == SSM_OK,
          "rewrite under a temporary name, replace, append");
    st = read_all(path, &c, &scan, &err);
    CHECK(st == SSM_OK && c.n == 2 && same_record(&c.rec[0], &recs[3]) && same_record(&c.rec[1], &recs[4]) &&
              file_size(tmp) < 0,
          "the replaced journal holds exactly the new records, the temporary name is gone (%zu records, %s)", c.n,
          st ? err.message : "read");
    collected_free(&c);
}

/* Every prefix of a journal: shorter than the header is an error, longer
 * gives the frames that are whole, and only a cut inside the last frame
 * is a torn tail (never damage); the last frame torn at every byte is cut
 * off by open_append and appending goes on. */
static void test_journal_torn(const sw_tasks *t)
{
    const char *path = scratch("whole.journal"), *cut_path = scratch("cut.journal");
    sw_journal *j = journal_with(path, t, N_RECS);
    ssm_error err;
    collected c = {.n = 0};
    sw_journal_scan scan;
    sw_journal_close(j, &err);
    long size = file_size(path);
    long last = size - FRAME_HEAD - (long)sw_record_packed_size(&recs[N_RECS - 1]);
    long header = frame_start(0, N_RECS - 1, FRAME_HEAD);
    header = last - header;

    int ok_header = 1, ok_frames = 1, ok_torn = 1, ok_resume = 1;
    for (long cut = 0; cut <= size; ++cut) {
        copy_prefix(path, cut_path, cut);
        ssm_status st = read_all(cut_path, &c, &scan, &err);
        if (cut < header) {
            ok_header &= st == SSM_EINVAL && c.n == 0;
            continue;
        }
        /* how many frames are whole in cut bytes */
        size_t whole = 0;
        while (whole < N_RECS && frame_start(header, whole + 1, FRAME_HEAD) <= cut)
            ++whole;
        long end = frame_start(header, whole, FRAME_HEAD);
        ok_frames &= st == SSM_OK && same_prefix(&c, whole) && scan.valid_end == end;
        ok_torn &= scan.torn == (cut > end) && scan.damaged == 0;
        if (cut < last)
            continue;
        /* the last frame torn here: resume and append it again */
        sw_journal *a = NULL;
        st = sw_journal_open_append(cut_path, t, &a, &err);
        ok_resume &= st == SSM_OK && file_size(cut_path) == end;
        if (st == SSM_OK && cut < size)
            ok_resume &= sw_journal_append(a, &recs[N_RECS - 1], &err) == SSM_OK;
        ok_resume &= sw_journal_close(a, &err) == SSM_OK;
        ok_resume &= read_all(cut_path, &c, &scan, &err) == SSM_OK && same_prefix(&c, N_RECS) && !scan.torn &&
                     scan.valid_end == size;
    }
    CHECK(ok_header, "every cut inside the %ld-byte header is an error (e.g. \"%s\")", header,
          "journal header is truncated");
    CHECK(ok_frames, "every cut from %ld to %ld bytes reads the whole frames before it", header, size);
    CHECK(ok_torn, "torn is set exactly when bytes follow the last whole frame; no cut is ever called damage");
    CHECK(ok_resume, "the last frame torn at each of its %ld bytes: open_append cuts it off, appending resumes",
          size - last);
    collected_free(&c);
}

/* Damage anywhere in a frame (marker, length, checksum, payload) loses
 * that frame only: every other record is read, and the damage is reported
 * where it is, never as a torn tail. */
static void test_journal_damage(const sw_tasks *t)
{
    const char *path = scratch("whole.journal"), *bad = scratch("damaged.journal");
    ssm_error err;
    collected c = {.n = 0};
    sw_journal_scan scan;
    sw_journal_close(journal_with(path, t, N_RECS), &err);
    long size = file_size(path);
    long header = size - (frame_start(0, N_RECS, FRAME_HEAD));

    int ok = 1, cases = 0;
    for (size_t k = 0; k < N_RECS; ++k) {
        long at = frame_start(header, k, FRAME_HEAD), payload = (long)sw_record_packed_size(&recs[k]);
        long where[] = {0, 3, 5, 9, FRAME_HEAD, FRAME_HEAD + payload / 2, FRAME_HEAD + payload - 1};
        for (size_t w = 0; w < sizeof where / sizeof where[0]; ++w) {
            copy_prefix(path, bad, size);
            flip_byte(bad, at + where[w]);
            ssm_status st = read_all(bad, &c, &scan, &err);
            /* the one case that looks like a kill: the last frame's length
             * damaged so that it runs past the end of the file */
            int like_torn = k == N_RECS - 1 && where[w] == 5;
            int good = st == SSM_OK && same_records(&c, N_RECS, k, k + 1) &&
                       (like_torn ? scan.torn && !scan.damaged
                                  : scan.damaged == 1 && scan.frames_lost == 1 && scan.first_damage == at &&
                                        !scan.torn);
            if (!good)
                fprintf(stderr, "frame %zu byte %ld: st %d, %zu records, damaged %zu, lost %zu, first %ld, torn %d\n",
                        k, where[w], st, c.n, scan.damaged, scan.frames_lost, scan.first_damage, scan.torn);
            ok &= good;
            ++cases;
        }
    }
    CHECK(ok, "%d single flipped bytes (marker, length, checksum, payload of each of %d frames, the last one "
              "too): all other %d records read, one damaged region of one record at the right offset, no torn "
              "tail (but for a last frame whose length now runs past the end: that is what a kill leaves)",
          cases, N_RECS, N_RECS - 1);

    /* random bytes over several frames: what is before and after survives */
    long from = frame_start(header, 2, FRAME_HEAD) + 20, to = frame_start(header, 6, FRAME_HEAD) - 7;
    unsigned char noise[4096];
    unsigned long long x = 0x9e3779b97f4a7c15ULL;
    for (size_t k = 0; k < sizeof noise; ++k) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        noise[k] = (unsigned char)x;
    }
    copy_prefix(path, bad, size);
    overwrite(bad, from, noise, (size_t)(to - from));
    ssm_status st = read_all(bad, &c, &scan, &err);
    CHECK(st == SSM_OK && same_records(&c, N_RECS, 2, 6) && scan.damaged == 1 && scan.frames_lost >= 1 &&
              scan.frames_lost <= 4 && scan.first_damage == frame_start(header, 2, FRAME_HEAD),
          "%ld random bytes over frames 2 to 5: records 0, 1, 6, 7 read; at least %zu record(s) counted lost "
          "(frames whose marker is gone cannot be counted)", to - from, scan.frames_lost);

    /* zeros after the last frame (a crash that extended the file): damage */
    copy_prefix(path, bad, size);
    memset(noise, 0, 100);
    overwrite(bad, size, noise, 100);
    st = read_all(bad, &c, &scan, &err);
    CHECK(st == SSM_OK && same_prefix(&c, N_RECS) && scan.damaged == 1 && !scan.torn && scan.damaged_bytes == 100,
          "100 zero bytes after the last frame: all records, reported as damage, not as a torn tail");

    /* damage in the middle and a torn frame at the end */
    copy_prefix(path, bad, size - 5);
    flip_byte(bad, frame_start(header, 3, FRAME_HEAD) + 14);
    st = read_all(bad, &c, &scan, &err);
    CHECK(st == SSM_OK && c.n == N_RECS - 2 && scan.damaged == 1 && scan.torn,
          "a damaged frame in the middle and a torn last frame are told apart");

    sw_journal *a = NULL;
    long before = file_size(bad);
    CHECK(sw_journal_open_append(bad, t, &a, &err) == SSM_EINVAL && !a && file_size(bad) == before &&
              strstr(err.message, "rewritten"),
          "open_append refuses a damaged journal without cutting it: %s", err.message);

    copy_prefix(path, bad, size);
    flip_byte(bad, 14);
    CHECK(read_all(bad, &c, &scan, &err) == SSM_EINVAL && strstr(err.message, "corrupt"),
          "a damaged header: %s", err.message);

    /* a frame with a valid CRC that does not fit the header is a bug: an
     * error, never skipped */
    sw_journal *j = journal_with(bad, t, 2);
    const sw_kind *noop = sw_registry_find(&ex_registry, "noop");
    sw_record alien = hand_record(noop, N_TASKS + 5, SW_DONE, 0, NULL, NULL);
    sw_journal_append(j, &alien, &err);
    sw_journal_close(j, &err);
    sw_record_free(&alien);
    CHECK(read_all(bad, &c, &scan, &err) == SSM_EINVAL && strstr(err.message, "does not match"),
          "a checksummed record of task %d in a %d-task journal: %s", N_TASKS + 5, N_TASKS, err.message);
    before = file_size(bad);
    CHECK(sw_journal_open_append(bad, t, &a, &err) == SSM_EINVAL && !a && file_size(bad) == before,
          "... and open_append refuses it without cutting it");
    collected_free(&c);
}

/* A journal of format version 1 or 2, as older builds wrote it: the header
 * (version 2 with the shard fields) and frames [len][crc][record without
 * hash]. */
static long write_legacy(const char *path, const sw_tasks *t, uint32_t version, size_t n)
{
    unsigned char buf[256];
    size_t at = 0, k = strlen(t->kind->name);
    uint16_t k16 = (uint16_t)k;
    uint32_t ns = (uint32_t)t->kind->n_scalars, nc = (uint32_t)t->kind->n_curves;
    uint64_t n_tasks = t->n_tasks, shard[3] = {0, 1, t->n_tasks};
    memcpy(buf, "SSMJRNL1", 8), at = 8;
    memcpy(buf + at, &version, 4), at += 4;
    memcpy(buf + at, &t->spec_hash, 8), at += 8;
    memcpy(buf + at, &n_tasks, 8), at += 8;
    memcpy(buf + at, &k16, 2), at += 2;
    memcpy(buf + at, t->kind->name, k), at += k;
    memcpy(buf + at, &ns, 4), at += 4;
    memcpy(buf + at, &nc, 4), at += 4;
    if (version >= 2)
        memcpy(buf + at, shard, 24), at += 24;
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)at);
    memcpy(buf + at, &crc, 4), at += 4;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, at, f) != at)
        abort();
    long header = (long)at;
    for (size_t r = 0; r < n; ++r) {
        size_t len;
        unsigned char *p = packed(&recs[r], &len);
        memmove(p + 8, p + 16, len - 16);
        len -= 8;
        uint32_t len32 = (uint32_t)len, c32 = (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)len);
        if (fwrite(&len32, 4, 1, f) != 1 || fwrite(&c32, 4, 1, f) != 1 || fwrite(p, 1, len, f) != len)
            abort();
        free(p);
    }
    if (fclose(f) != 0)
        abort();
    return header;
}

static void test_journal_legacy(const sw_tasks *t)
{
    const char *path = scratch("legacy.journal");
    ssm_error err;
    collected c = {.n = 0};
    sw_journal_scan scan;
    sw_journal_header h;
    for (uint32_t version = 1; version <= 2; ++version) {
        long header = write_legacy(path, t, version, N_RECS);
        collected_free(&c);
        ssm_status st = sw_journal_read(path, &h, collect, &c, &scan, &err);
        int hashless = 1;
        for (size_t k = 0; k < c.n; ++k)
            hashless &= c.rec[k].hash == 0 && c.rec[k].task == recs[k].task;
        CHECK(st == SSM_OK && h.version == version && c.n == N_RECS && hashless && !scan.torn && !scan.damaged &&
                  h.spec_hash == SPEC_HASH && h.shard.count == 1,
              "a version-%u journal reads: %zu records, hash 0 (the spec hash vouches for them)", version, c.n);
        collected_free(&c);
        long size = file_size(path);
        truncate(path, size - 3);
        st = read_all(path, &c, &scan, &err);
        CHECK(st == SSM_OK && c.n == N_RECS - 1 && scan.torn && !scan.damaged,
              "version %u: a torn last frame is a torn tail", version);
        write_legacy(path, t, version, N_RECS);
        flip_byte(path, frame_start(header, 4, 8) + 10);
        st = read_all(path, &c, &scan, &err);
        CHECK(st == SSM_OK && c.n == 4 && scan.damaged == 1 && !scan.torn,
              "version %u: damage stops the reading (no marker to search for), reported as damage", version);
        sw_journal *a = NULL;
        CHECK(sw_journal_open_append(path, t, &a, &err) == SSM_EINVAL && !a && strstr(err.message, "version"),
              "version %u is never appended to: %s", version, err.message);
    }
    collected_free(&c);
}

/* Hostile journals: a length field near the 1 GiB limit allocates nothing
 * the file does not hold, and a file full of frame markers whose lengths
 * reach the end (each would be checksummed) is read in bounded time. */
static void test_journal_bounded(const sw_tasks *t)
{
    const char *path = scratch("hostile.journal");
    ssm_error err;
    collected c = {.n = 0};
    sw_journal_scan scan;
    sw_journal_close(journal_with(path, t, 1), &err);
    long header = file_size(path) - FRAME_HEAD - (long)sw_record_packed_size(&recs[0]);
    truncate(path, header);
    unsigned char frame[FRAME_HEAD] = {0xf7, 0x1c, 0x5a, 0xe3, 0xff, 0xff, 0xff, 0x3f, 0, 0, 0, 0};
    overwrite(path, header, frame, sizeof frame);
    ssm_status st = read_all(path, &c, &scan, &err);
    CHECK(st == SSM_OK && c.n == 0 && scan.torn, "a frame claiming %u bytes in a %ld-byte file: a torn tail, no "
          "allocation", 0x3fffffffu, file_size(path));

    /* 8 MiB of plausible frame heads, every one claiming the rest of the file */
    size_t n = (size_t)8 << 20, unit = FRAME_HEAD + 17;
    unsigned char *junk = calloc(n, 1);
    if (!junk)
        abort();
    for (size_t at = 0; at + unit <= n; at += unit) {
        uint32_t len = (uint32_t)(n - at - FRAME_HEAD);
        memcpy(junk + at, frame, 4);
        memcpy(junk + at + 4, &len, 4);
        junk[at + FRAME_HEAD + 16] = SW_DONE;
    }
    truncate(path, header);
    overwrite(path, header, junk, n);
    free(junk);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = read_all(path, &c, &scan, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    const char *slow = getenv("SSM_SLOW_FACTOR");
    CHECK(st == SSM_OK && c.n == 0 && (scan.damaged == 1 || scan.torn) && took < 5.0 * (slow ? atof(slow) : 1.0),
          "8 MiB of frame markers whose lengths reach the end: read in %.2f s (checksumming is capped)", took);
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

    CHECK(sw_journal_open_append(path, other_hash, &a, &err) == SSM_EINVAL && !a &&
              strstr(err.message, "another spec") && !strstr(err.message, "--force") &&
              strstr(err.message, "0123456789abcdef"),
          "another spec hash, and no option suggested: %s", err.message);
    CHECK(sw_journal_open_append(path, other_n, &a, &err) == SSM_EINVAL && !a && strstr(err.message, "10 tasks") &&
              strstr(err.message, "11"),
          "another task count: %s", err.message);
    CHECK(sw_journal_open_append(path, other_kind, &a, &err) == SSM_EINVAL && !a &&
              strstr(err.message, "kind noop") && strstr(err.message, "mf"),
          "another kind: %s", err.message);
    hand_tasks_free(other_hash);
    hand_tasks_free(other_n);
    hand_tasks_free(other_kind);
}

/* Part journals: a leader appends the workers' packed bytes unchanged, and
 * they read back as the records; the listing finds OUT.part<k>.journal in
 * numeric order and nothing else; the removal leaves the rest. */
static void test_journal_parts(const sw_tasks *t)
{
    char path[4200], out[4200];
    const char *decoys[] = {"parts.h5.part.journal", "parts.h5.partx.journal", "parts.h5.part3.journal.tmp",
                            "other.h5.part1.journal", "parts.h5.journal"};
    sw_journal *j = NULL;
    ssm_error err;
    collected c = {.n = 0};
    sw_journal_scan scan;
    snprintf(out, sizeof out, "%s", scratch("parts.h5"));
    const int ks[] = {10, 2, 3};
    for (size_t i = 0; i < 3; ++i) {
        sw_journal_part_path(path, sizeof path, out, ks[i]);
        remove(path);
        CHECK(sw_journal_create(path, t, &j, &err) == SSM_OK, "create part %d", ks[i]);
        for (size_t k = 0; i == 0 && k < N_RECS; ++k) {
            unsigned char buf[4096];
            size_t len = sw_record_pack(&recs[k], buf);
            sw_journal_append_packed(j, recs[k].task, buf, len, &err);
        }
        CHECK(sw_journal_close(j, &err) == SSM_OK, "close part %d", ks[i]);
    }
    sw_journal_part_path(path, sizeof path, out, 10);
    ssm_status st = read_all(path, &c, &scan, &err);
    CHECK(st == SSM_OK && same_prefix(&c, N_RECS) && !scan.damaged, "packed appends read back bit-exact (%zu records)",
          c.n);
    collected_free(&c);
    for (size_t i = 0; i < sizeof decoys / sizeof decoys[0]; ++i)
        fclose(fopen(scratch(decoys[i]), "w"));
    sw_journal_part_list parts;
    st = sw_journal_parts(out, &parts, &err);
    char want[3][4200];
    for (int i = 0; i < 3; ++i)
        sw_journal_part_path(want[i], sizeof want[i], out, i == 0 ? 2 : i == 1 ? 3 : 10);
    CHECK(st == SSM_OK && parts.n == 3 && strcmp(parts.path[0], want[0]) == 0 && strcmp(parts.path[1], want[1]) == 0 &&
              strcmp(parts.path[2], want[2]) == 0,
          "the parts listed in numeric order, decoys left out (%zu: %s ...)", parts.n, parts.n ? parts.path[0] : "");
    sw_journal_parts_free(&parts);
    CHECK(sw_journal_parts_remove(out, &err) == SSM_OK && sw_journal_parts(out, &parts, &err) == SSM_OK &&
              parts.n == 0, "removed: %zu parts left", parts.n);
    sw_journal_parts_free(&parts);
    int decoys_left = 1;
    for (size_t i = 0; i < sizeof decoys / sizeof decoys[0]; ++i)
        decoys_left &= remove(scratch(decoys[i])) == 0;
    CHECK(decoys_left, "the removal left the files that are not parts");
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
    test_journal_damage(t);
    test_journal_legacy(t);
    test_journal_bounded(t);
    test_journal_mismatch(t);
    test_journal_parts(t);
    for (size_t k = 0; k < N_RECS; ++k)
        sw_record_free(&recs[k]);
    hand_tasks_free(t);
    const char *names[] = {"basic.journal", "whole.journal", "cut.journal", "mismatch.journal", "not.journal",
                           "damaged.journal", "legacy.journal", "hostile.journal"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; ++k)
        remove(scratch(names[k]));
    rmdir(scratch_dir);
    return test_summary("test_journal");
}

#include "config.h"

#include "journal.h"
#include "outfiles.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define JOURNAL_MAGIC "SSMJRNL1"
/* magic, version, spec hash, task count, kind length: then the kind name,
 * n_scalars, n_curves, (version >= 2) shard index, count and total,
 * (version >= 3) the master seed, and the header's CRC */
#define HEADER_FIXED (8 + 4 + 8 + 8 + 2)
#define HEADER_MAX (HEADER_FIXED + 63 + 4 + 4 + 24 + 8 + 4)
/* Version 3 frames: sync marker, length, CRC.  The marker's bytes (f7 1c
 * 5a e3) are rare in text and in the doubles of results. */
#define FRAME_SYNC UINT32_C(0xe35a1cf7)
#define FRAME_HEAD 12
/* Versions 1 and 2: length, CRC. */
#define LEGACY_HEAD 8
/* The smallest record (sw_record_pack of a failed task without host and
 * reason) and the largest one a frame may hold: no real record comes near
 * it (a 10^6-point curve is 8 MB); a length beyond is garbage. */
#define RECORD_MIN (8 + 8 + 1 + 4 + 8 + 8 + 2 + 2 + 4 + 4)
#define RECORD_MAX (UINT32_C(1) << 30)
/* Reading window and write buffer: the file is read and written in
 * large blocks. */
#define IO_BUFFER ((size_t)1 << 20)
/* While searching for the next valid frame after damage, at most this
 * many bytes (times the file size) are checksummed: a file crafted full
 * of frame markers cannot make the search quadratic. */
#define SEARCH_BUDGET_FACTOR 4
#define SEARCH_BUDGET_EXTRA ((long)64 << 20)

struct sw_journal {
    int fd;
    unsigned char *buf;      /* whole frames not yet written */
    size_t used;
    long written;            /* bytes of the file that are whole frames on disk (or in the page cache) */
    int broken;              /* a write failed: nothing more goes to the file */
    char path[PATH_MAX];
};

static uint32_t crc_of(const unsigned char *data, size_t len)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)len);
}

static uint32_t crc_more(uint32_t crc, const unsigned char *data, size_t len)
{
    return (uint32_t)crc32(crc, data, (uInt)len);
}

static void put_u32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get_u16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get_u32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get_u64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* ---- header -------------------------------------------------------------- */

/* Bytes of the shard fields (version 2 on) and the master seed (version 3
 * on) in a header of version v. */
static size_t shard_bytes(uint32_t v)
{
    return v >= 2 ? 24 : 0;
}

static size_t seed_bytes(uint32_t v)
{
    return v >= 3 ? 8 : 0;
}

ssm_status sw_journal_header_of(const sw_tasks *t, sw_journal_header *h, ssm_error *err)
{
    memset(h, 0, sizeof *h);
    if (strlen(t->kind->name) >= sizeof h->kind)
        return ssm_fail(err, SSM_EINVAL, "kind name %s is too long for a journal header", t->kind->name);
    h->version = SW_JOURNAL_VERSION;
    h->shard = sw_tasks_shard(t);
    h->spec_hash = t->spec_hash;
    h->master_seed = t->master_seed;
    h->n_tasks = t->n_tasks;
    strcpy(h->kind, t->kind->name);
    h->n_scalars = (uint32_t)t->kind->n_scalars;
    h->n_curves = (uint32_t)t->kind->n_curves;
    return SSM_OK;
}

static size_t header_encode(const sw_journal_header *h, unsigned char *buf)
{
    const uint32_t version = h->version;
    size_t k = strlen(h->kind), at = HEADER_FIXED + k + 8;
    uint16_t k16 = (uint16_t)k;
    memcpy(buf, JOURNAL_MAGIC, 8);
    put_u32(buf + 8, version);
    put_u64(buf + 12, h->spec_hash);
    put_u64(buf + 20, h->n_tasks);
    memcpy(buf + 28, &k16, 2);
    memcpy(buf + HEADER_FIXED, h->kind, k);
    put_u32(buf + HEADER_FIXED + k, h->n_scalars);
    put_u32(buf + HEADER_FIXED + k + 4, h->n_curves);
    if (version >= 2) {
        put_u64(buf + at, h->shard.index);
        put_u64(buf + at + 8, h->shard.count);
        put_u64(buf + at + 16, h->shard.n_tasks_total);
    }
    at += shard_bytes(version);
    if (version >= 3)
        put_u64(buf + at, h->master_seed);
    at += seed_bytes(version);
    put_u32(buf + at, crc_of(buf, at));
    return at + 4;
}

/* Reads (with pread) and checks the header; its size goes to *size. */
static ssm_status header_read(int fd, const char *path, sw_journal_header *h, size_t *size, ssm_error *err)
{
    unsigned char buf[HEADER_MAX];
    memset(h, 0, sizeof *h);
    ssize_t got = pread(fd, buf, sizeof buf, 0);
    if (got < 0)
        return ssm_fail(err, SSM_EIO, "cannot read journal %s: %s", path, strerror(errno));
    if (got >= 8 && memcmp(buf, JOURNAL_MAGIC, 8) != 0)
        return ssm_fail(err, SSM_EINVAL, "%s is not an ssmsweep journal", path);
    if (got < HEADER_FIXED)
        goto truncated;
    const uint32_t version = h->version = get_u32(buf + 8);
    if (version < 1 || version > SW_JOURNAL_VERSION)
        return ssm_fail(err, SSM_EINVAL, "%s: journal format version %u, this ssmsweep reads versions 1 to %d", path,
                        version, SW_JOURNAL_VERSION);
    size_t k = get_u16(buf + 28), at = HEADER_FIXED + k + 8, crc_at = at + shard_bytes(version) + seed_bytes(version);
    if (k >= sizeof h->kind)
        return ssm_fail(err, SSM_EINVAL, "%s: journal header is corrupt (kind name of %zu bytes)", path, k);
    if ((size_t)got < crc_at + 4)
        goto truncated;
    if (crc_of(buf, crc_at) != get_u32(buf + crc_at))
        return ssm_fail(err, SSM_EINVAL, "%s: journal header is corrupt (checksum mismatch)", path);
    h->spec_hash = get_u64(buf + 12);
    h->n_tasks = get_u64(buf + 20);
    memcpy(h->kind, buf + HEADER_FIXED, k);
    h->kind[k] = '\0';
    h->n_scalars = get_u32(buf + HEADER_FIXED + k);
    h->n_curves = get_u32(buf + HEADER_FIXED + k + 4);
    /* version 1 had no shards: it was the whole spec */
    h->shard = version >= 2 ? (sw_shard){get_u64(buf + at), get_u64(buf + at + 8), get_u64(buf + at + 16)}
                            : (sw_shard){0, 1, h->n_tasks};
    h->master_seed = version >= 3 ? get_u64(buf + at + shard_bytes(version)) : 0;
    *size = crc_at + 4;
    return SSM_OK;
truncated:
    return ssm_fail(err, SSM_EINVAL, "%s: journal header is truncated (the run died while creating it?)", path);
}

/* "shard 1/3" or "the whole spec" */
static const char *shard_text(const sw_shard *s, char *buf, size_t size)
{
    if (s->count <= 1)
        return "the whole spec";
    snprintf(buf, size, "--shard %llu/%llu", (unsigned long long)s->index, (unsigned long long)s->count);
    return buf;
}

/* What differs, in the order a user can act on it.  No message suggests
 * an option: the coordinator decides what may be done about it. */
static ssm_status header_check(const char *path, const sw_journal_header *have, const sw_journal_header *want,
                               ssm_error *err)
{
    char a[48], b[48];
    if (have->shard.index != want->shard.index || have->shard.count != want->shard.count)
        return ssm_fail(err, SSM_EINVAL, "journal %s was written for %s, this run is %s: resume with the same --shard",
                        path, shard_text(&have->shard, a, sizeof a), shard_text(&want->shard, b, sizeof b));
    if (strcmp(have->kind, want->kind) != 0)
        return ssm_fail(err, SSM_EINVAL, "journal %s was written for kind %s, the spec is of kind %s", path,
                        have->kind, want->kind);
    if (have->n_scalars != want->n_scalars || have->n_curves != want->n_curves)
        return ssm_fail(err, SSM_EINVAL,
                        "journal %s holds %u scalars and %u curves per task, kind %s now has %u and %u "
                        "(written by another ssmsweep version?)",
                        path, have->n_scalars, have->n_curves, want->kind, want->n_scalars, want->n_curves);
    if (have->n_tasks != want->n_tasks)
        return ssm_fail(err, SSM_EINVAL, "journal %s was written for %llu tasks, the spec has %llu", path,
                        (unsigned long long)have->n_tasks, (unsigned long long)want->n_tasks);
    if (have->spec_hash != want->spec_hash)
        return ssm_fail(err, SSM_EINVAL, "journal %s was written for another spec (hash %016llx, this spec %016llx)",
                        path, (unsigned long long)have->spec_hash, (unsigned long long)want->spec_hash);
    return SSM_OK;
}

/* ---- reading --------------------------------------------------------------- */

/* The file through a window of IO_BUFFER bytes, read with pread, so the
 * reader can go back (to search for a frame after damage) cheaply. */
typedef struct {
    int fd;
    long size;
    unsigned char *win;
    long win_off;
    size_t win_len;
    unsigned char *big;      /* a payload larger than the window */
    size_t big_cap;
    int io_errno;            /* a read failed */
    int no_memory;
} reader;

static int read_full(int fd, unsigned char *buf, size_t n, long off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t got = pread(fd, buf + done, n - done, (off_t)(off + (long)done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return got < 0 ? -1 : 0;
        done += (size_t)got;
    }
    return 1;
}

/* n bytes at off (off + n <= size, n <= IO_BUFFER), valid until the next
 * call; NULL after a read error. */
static const unsigned char *rd_at(reader *r, long off, size_t n)
{
    if (off >= r->win_off && off + (long)n <= r->win_off + (long)r->win_len)
        return r->win + (off - r->win_off);
    size_t want = (size_t)(r->size - off) < IO_BUFFER ? (size_t)(r->size - off) : IO_BUFFER;
    int got = read_full(r->fd, r->win, want, off);
    if (got <= 0) {   /* an error, or the file shrank under us */
        r->io_errno = got < 0 ? errno : EIO;
        r->win_len = 0;
        return NULL;
    }
    r->win_off = off;
    r->win_len = want;
    return r->win;
}

/* len bytes at off, len <= RECORD_MAX and off + len <= size (checked by
 * the caller, so nothing is allocated beyond what the file holds). */
static const unsigned char *rd_block(reader *r, long off, size_t len)
{
    if (len <= IO_BUFFER)
        return rd_at(r, off, len);
    if (len > r->big_cap) {
        unsigned char *bigger = realloc(r->big, len);
        if (!bigger) {
            r->no_memory = 1;
            return NULL;
        }
        r->big = bigger;
        r->big_cap = len;
    }
    int got = read_full(r->fd, r->big, len, off);
    if (got <= 0) {
        r->io_errno = got < 0 ? errno : EIO;
        return NULL;
    }
    return r->big;
}

typedef enum { FRAME_OK, FRAME_BAD, FRAME_CUT, FRAME_SHORT, FRAME_IO } frame_kind;

/* The frame of a version-3 journal at off: FRAME_OK with its payload, or
 * why not: FRAME_CUT (its length runs past the end: a torn write),
 * FRAME_SHORT (fewer bytes than a frame head left), FRAME_BAD. */
static frame_kind frame_at(reader *r, long off, const unsigned char **payload, uint32_t *len, long *crc_bytes)
{
    if (r->size - off < FRAME_HEAD)
        return FRAME_SHORT;
    const unsigned char *head = rd_at(r, off, FRAME_HEAD);
    if (!head)
        return FRAME_IO;
    unsigned char len_bytes[4];
    memcpy(len_bytes, head + 4, 4);
    uint32_t sync = get_u32(head), n = get_u32(head + 4), crc = get_u32(head + 8);
    if (sync != FRAME_SYNC || n < RECORD_MIN || n > RECORD_MAX)
        return FRAME_BAD;
    if ((long)n > r->size - off - FRAME_HEAD)
        return FRAME_CUT;
    const unsigned char *p = rd_block(r, off + FRAME_HEAD, n);
    if (!p)
        return FRAME_IO;
    if (crc_bytes)
        *crc_bytes += (long)n;
    if (crc_more(crc_of(len_bytes, 4), p, n) != crc)
        return FRAME_BAD;
    *payload = p;
    *len = n;
    return FRAME_OK;
}

/* The bytes from off to the end are the beginning of a frame head: a
 * write cut off by a kill. */
static int head_prefix(reader *r, long off)
{
    unsigned char sync[4];
    put_u32(sync, FRAME_SYNC);
    size_t n = (size_t)(r->size - off);
    const unsigned char *p = rd_at(r, off, n);
    return p && memcmp(p, sync, n < 4 ? n : 4) == 0;
}

/* Cheap checks of a candidate frame before its checksum: the task and the
 * status fields of its record (task < n_tasks, done or failed). */
static int plausible(reader *r, long off, uint64_t n_tasks)
{
    if (r->size - off < FRAME_HEAD + 17)
        return 0;
    const unsigned char *p = rd_at(r, off, FRAME_HEAD + 17);
    if (!p)
        return 0;
    uint8_t status = p[FRAME_HEAD + 16];
    return get_u32(p) == FRAME_SYNC && get_u64(p + FRAME_HEAD) < n_tasks && (status == SW_DONE || status == SW_FAILED);
}

/* The next valid frame after damage at from: its offset, or r->size if
 * none; *markers counts the frame markers met on the way, *cut says the
 * search ended at a frame cut off by the end of the file. */
static long find_next_frame(reader *r, long from, uint64_t n_tasks, long *budget, size_t *markers, int *cut)
{
    unsigned char sync[4];
    put_u32(sync, FRAME_SYNC);
    *cut = 0;
    for (long pos = from; pos + 4 <= r->size;) {
        size_t span = (size_t)(r->size - pos) < IO_BUFFER ? (size_t)(r->size - pos) : IO_BUFFER;
        const unsigned char *p = rd_at(r, pos, span);
        if (!p)
            return r->size;
        const unsigned char *hit = memmem(p, span, sync, 4);
        if (!hit) {
            pos += (long)span - 3;
            continue;
        }
        long at = pos + (hit - p);
        ++*markers;
        pos = at + 1;
        if (!plausible(r, at, n_tasks))
            continue;
        if (*budget <= 0)
            return r->size;   /* give up: the rest counts as damaged */
        const unsigned char *payload;
        uint32_t len;
        long spent = 0;
        frame_kind k = frame_at(r, at, &payload, &len, &spent);
        *budget -= spent;
        if (k == FRAME_OK)
            return at;
        if (k == FRAME_CUT) {
            *cut = 1;
            return at;
        }
        if (k == FRAME_IO)
            return r->size;
    }
    return r->size;
}

/* A frame whose CRC holds but whose record does not fit the header was
 * written by a bug, not torn by a kill: that is an error, never a reason
 * to skip it. */
static ssm_status record_check(const char *path, long offset, const sw_record *rec, const sw_journal_header *h,
                               ssm_error *err)
{
    int fits = rec->task < h->n_tasks &&
               (rec->status == SW_FAILED ||
                (rec->result.n_scalars == h->n_scalars && rec->result.n_curves == h->n_curves));
    if (fits)
        return SSM_OK;
    return ssm_fail(err, SSM_EINVAL, "journal %s: the record at byte %ld (task %llu) does not match the header", path,
                    offset, (unsigned long long)rec->task);
}

/* Unpacks and checks the record of the frame at offset and visits it. */
static ssm_status take_record(const char *path, const sw_journal_header *h, long offset, const unsigned char *payload,
                              size_t len, int (*visit)(void *, const sw_record *), void *ctx, sw_journal_scan *scan,
                              ssm_error *err)
{
    sw_record rec;
    ssm_error why;
    ssm_status st = h->version >= 3 ? sw_record_unpack(payload, len, &rec, &why)
                                    : sw_record_unpack_legacy(payload, len, &rec, &why);
    if (st != SSM_OK)
        return ssm_fail(err, why.code == SSM_EIO ? SSM_EINVAL : why.code, "journal %s: the record at byte %ld has a valid checksum but cannot be read: %s",
                        path, offset, why.message);
    st = record_check(path, offset, &rec, h, err);
    ++scan->records;
    if (st == SSM_OK && visit)
        scan->stopped = visit(ctx, &rec) != 0;
    sw_record_free(&rec);
    return st;
}

static void note_damage(sw_journal_scan *scan, long from, long to, size_t frames)
{
    if (scan->first_damage < 0)
        scan->first_damage = from;
    ++scan->damaged;
    scan->frames_lost += frames ? frames : 1;
    scan->damaged_bytes += to - from;
}

/* Version 3: every valid frame, damaged regions skipped. */
static ssm_status read_frames(reader *r, const char *path, const sw_journal_header *h, long pos,
                              int (*visit)(void *, const sw_record *), void *ctx, sw_journal_scan *scan, ssm_error *err)
{
    long budget = SEARCH_BUDGET_FACTOR * r->size + SEARCH_BUDGET_EXTRA;
    while (pos < r->size && !scan->stopped) {
        const unsigned char *payload;
        uint32_t len;
        frame_kind k = frame_at(r, pos, &payload, &len, NULL);
        if (k == FRAME_IO)
            break;
        if (k == FRAME_OK) {
            ssm_status st = take_record(path, h, pos, payload, len, visit, ctx, scan, err);
            if (st)
                return st;
            pos += FRAME_HEAD + (long)len;
            scan->valid_end = pos;
            continue;
        }
        if (k == FRAME_SHORT && head_prefix(r, pos)) {
            scan->torn = 1;
            break;
        }
        size_t markers = 0;
        int cut = 0;
        const unsigned char *head = rd_at(r, pos, 4);
        int marked = head && get_u32(head) == FRAME_SYNC;
        long next = find_next_frame(r, pos + 1, h->n_tasks, &budget, &markers, &cut);
        /* a frame running past the end is a torn tail if nothing valid
         * follows it; otherwise its length was damaged */
        if (k == FRAME_CUT && (next == r->size || cut)) {
            scan->torn = 1;
            break;
        }
        note_damage(scan, pos, next, markers + (size_t)marked - (size_t)(cut || next < r->size));
        pos = next;
        if (cut) {
            scan->torn = 1;
            break;
        }
    }
    return SSM_OK;
}

/* Versions 1 and 2: frames up to the first one that does not hold (they
 * have no marker to search for). */
static ssm_status read_legacy_frames(reader *r, const char *path, const sw_journal_header *h, long pos,
                                     int (*visit)(void *, const sw_record *), void *ctx, sw_journal_scan *scan,
                                     ssm_error *err)
{
    while (pos < r->size && !scan->stopped) {
        if (r->size - pos < LEGACY_HEAD) {
            scan->torn = 1;
            break;
        }
        const unsigned char *head = rd_at(r, pos, LEGACY_HEAD);
        if (!head)
            break;
        uint32_t len = get_u32(head), crc = get_u32(head + 4);
        if (len > 0 && len <= RECORD_MAX && (long)len > r->size - pos - LEGACY_HEAD) {
            scan->torn = 1;
            break;
        }
        const unsigned char *payload = len > 0 && len <= RECORD_MAX ? rd_block(r, pos + LEGACY_HEAD, len) : NULL;
        if (!payload || crc_of(payload, len) != crc) {
            if (!r->io_errno && !r->no_memory)
                note_damage(scan, pos, r->size, 1);
            break;
        }
        ssm_status st = take_record(path, h, pos, payload, len, visit, ctx, scan, err);
        if (st)
            return st;
        pos += LEGACY_HEAD + (long)len;
        scan->valid_end = pos;
    }
    return SSM_OK;
}

ssm_status sw_journal_read(const char *path, sw_journal_header *header,
                           int (*visit)(void *ctx, const sw_record *rec), void *ctx, sw_journal_scan *scan_out,
                           ssm_error *err)
{
    ssm_status st = SSM_OK;
    sw_journal_header h;
    sw_journal_scan scan = {.first_damage = -1};
    size_t header_size = 0;
    struct stat sb;
    reader r = {.fd = open(path, O_RDONLY | O_CLOEXEC), .win_off = -1};
    if (r.fd < 0) {
        st = ssm_fail(err, errno == ENOENT || errno == ENOTDIR || errno == EISDIR ? SSM_EINVAL : SSM_EIO,
                      "cannot open journal %s: %s", path, strerror(errno));
        goto done;
    }
    /* frames appended while we read (a running sweep) are left for the next look */
    if (fstat(r.fd, &sb) != 0) {
        st = ssm_fail(err, SSM_EIO, "cannot stat journal %s: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = ssm_fail(err, SSM_EINVAL, "%s is not a regular file", path);
        goto done;
    }
    r.size = scan.size = (long)sb.st_size;
    st = header_read(r.fd, path, &h, &header_size, err);
    if (st)
        goto done;
    if (header)
        *header = h;
    if (!visit && !scan_out)
        goto done;   /* the header alone was asked for */
    r.win = malloc(IO_BUFFER);
    if (!r.win) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory reading journal %s", path);
        goto done;
    }
    scan.valid_end = (long)header_size;
    st = h.version >= 3 ? read_frames(&r, path, &h, (long)header_size, visit, ctx, &scan, err)
                        : read_legacy_frames(&r, path, &h, (long)header_size, visit, ctx, &scan, err);
    if (st == SSM_OK && r.no_memory)
        st = ssm_fail(err, SSM_ENOMEM, "out of memory for a journal record of %s", path);
    if (st == SSM_OK && r.io_errno)
        st = ssm_fail(err, SSM_EIO, "cannot read journal %s: %s", path, strerror(r.io_errno));
done:
    if (scan_out)
        *scan_out = scan;
    if (r.fd >= 0)
        close(r.fd);
    free(r.win);
    free(r.big);
    return st;
}

/* ---- writing --------------------------------------------------------------- */

static sw_journal *journal_new(const char *path, ssm_error *err)
{
    sw_journal *j = calloc(1, sizeof *j);
    if (j)
        j->buf = malloc(IO_BUFFER);
    if (!j || !j->buf) {
        if (j)
            free(j->buf);
        free(j);
        ssm_fail(err, SSM_ENOMEM, "out of memory opening journal %s", path);
        return NULL;
    }
    j->fd = -1;
    snprintf(j->path, sizeof j->path, "%s", path);
    return j;
}

/* Two writers appending to one journal would interleave frames: the
 * second is refused.  File systems without flock simply go unprotected
 * here (the run's lock file guards them). */
static ssm_status lock_journal(int fd, const char *path, ssm_error *err)
{
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
        return ssm_fail(err, SSM_EIO, "journal %s is in use by another ssmsweep run", path);
    return SSM_OK;
}

/* The longest run of whole frames at the start of data[0..n). */
static size_t whole_frames(const unsigned char *data, size_t n)
{
    size_t at = 0;
    while (at + FRAME_HEAD <= n) {
        size_t len = get_u32(data + at + 4);
        if (len > n - at - FRAME_HEAD)
            break;
        at += FRAME_HEAD + len;
    }
    return at;
}

static ssm_status write_failed(sw_journal *j, const char *what, int e, ssm_error *err)
{
    char text[96];
    /* what reached the file beyond its last whole frame is cut off again,
     * so the journal ends with a whole frame; failing that, a reader sees
     * a torn tail */
    int cut = j->fd >= 0 ? ftruncate(j->fd, (off_t)j->written) : 0;
    (void)cut;
    j->broken = 1;
    j->used = 0;
    return ssm_fail(err, SSM_EIO, "cannot %s journal %s: %s", what, j->path, sw_errno_text(e, text, sizeof text));
}

/* Writes n bytes (the header, or whole frames) at the end of the file; on
 * a failure the file keeps the frames that reached it whole and is cut
 * after the last of them. */
static ssm_status write_out(sw_journal *j, const unsigned char *data, size_t n, int frames, ssm_error *err)
{
    size_t done = 0;
    if (j->broken)
        return ssm_fail(err, SSM_EIO, "journal %s: an earlier write failed", j->path);
    while (done < n) {
        ssize_t w = write(j->fd, data + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            if (frames)
                j->written += (long)whole_frames(data, done);
            return write_failed(j, "write", e, err);
        }
        done += (size_t)w;
    }
    j->written += (long)n;
    return SSM_OK;
}

static ssm_status flush_buffer(sw_journal *j, ssm_error *err)
{
    if (!j->used)
        return SSM_OK;
    size_t n = j->used;
    j->used = 0;
    return write_out(j, j->buf, n, 1, err);
}

/* Frees j, closing its file; returns st. */
static ssm_status journal_free(sw_journal *j, ssm_status st, ssm_error *err)
{
    char text[96];
    if (j->fd >= 0 && close(j->fd) != 0 && st == SSM_OK)
        st = ssm_fail(err, SSM_EIO, "cannot close journal %s: %s", j->path, sw_errno_text(errno, text, sizeof text));
    free(j->buf);
    free(j);
    return st;
}

ssm_status sw_journal_sync(sw_journal *j, ssm_error *err)
{
    char text[96];
    ssm_status st = flush_buffer(j, err);
    if (st)
        return st;
    if (fsync(j->fd) != 0)
        return ssm_fail(err, SSM_EIO, "cannot sync journal %s: %s", j->path, sw_errno_text(errno, text, sizeof text));
    return SSM_OK;
}

ssm_status sw_journal_create(const char *path, const sw_tasks *tasks, sw_journal **out, ssm_error *err)
{
    sw_journal_header h;
    unsigned char buf[HEADER_MAX];
    char text[96];
    *out = NULL;
    ssm_status st = sw_journal_header_of(tasks, &h, err);
    if (st)
        return st;
    sw_journal *j = journal_new(path, err);
    if (!j)
        return SSM_ENOMEM;
    j->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0666);
    if (j->fd < 0) {
        st = errno == EEXIST ? ssm_fail(err, SSM_EIO, "journal %s already exists", path)
                             : ssm_fail(err, SSM_EIO, "cannot create journal %s: %s", path,
                                        sw_errno_text(errno, text, sizeof text));
        return journal_free(j, st, NULL);
    }
    st = lock_journal(j->fd, path, err);
    /* durable at once: a journal on disk always has a whole header */
    if (st == SSM_OK)
        st = write_out(j, buf, header_encode(&h, buf), 0, err);
    if (st == SSM_OK && fsync(j->fd) != 0)
        st = ssm_fail(err, SSM_EIO, "cannot sync journal %s: %s", path, sw_errno_text(errno, text, sizeof text));
    if (st) {
        unlink(path);   /* a half-written journal would only block the next attempt */
        return journal_free(j, st, NULL);
    }
    *out = j;
    return SSM_OK;
}

ssm_status sw_journal_open_append(const char *path, const sw_tasks *tasks, sw_journal **out, ssm_error *err)
{
    sw_journal_header want, have;
    sw_journal_scan scan;
    char text[96];
    *out = NULL;
    ssm_status st = sw_journal_header_of(tasks, &want, err);
    if (st)
        return st;
    sw_journal *j = journal_new(path, err);
    if (!j)
        return SSM_ENOMEM;
    /* locked before the scan, so nobody appends between scan and cut */
    j->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (j->fd < 0)
        return journal_free(j, ssm_fail(err, SSM_EIO, "cannot open journal %s: %s", path,
                                         sw_errno_text(errno, text, sizeof text)), NULL);
    st = lock_journal(j->fd, path, err);
    if (st == SSM_OK)
        st = sw_journal_read(path, &have, NULL, NULL, &scan, err);
    if (st == SSM_OK && have.version != SW_JOURNAL_VERSION)
        st = ssm_fail(err, SSM_EINVAL, "journal %s has format version %u: it must be rewritten as version %d", path,
                      have.version, SW_JOURNAL_VERSION);
    if (st == SSM_OK)
        st = header_check(path, &have, &want, err);
    if (st == SSM_OK && scan.damaged)
        st = ssm_fail(err, SSM_EINVAL, "journal %s has %zu damaged region%s: it must be rewritten", path, scan.damaged,
                      scan.damaged == 1 ? "" : "s");
    if (st == SSM_OK && scan.torn && (ftruncate(j->fd, (off_t)scan.valid_end) != 0 || fsync(j->fd) != 0))
        st = ssm_fail(err, SSM_EIO, "cannot cut the torn tail of journal %s: %s", path,
                      sw_errno_text(errno, text, sizeof text));
    if (st)
        return journal_free(j, st, NULL);
    j->written = scan.valid_end;
    *out = j;
    return SSM_OK;
}

/* Appends a frame of len payload bytes that fill() writes into place
 * (the record packed, or bytes already packed). */
static ssm_status append_frame(sw_journal *j, uint64_t task, size_t len,
                               void (*fill)(const void *src, size_t len, unsigned char *dst), const void *src,
                               ssm_error *err)
{
    if (len > RECORD_MAX)
        return ssm_fail(err, SSM_EINVAL, "the record of task %llu has %zu bytes, more than a journal frame holds",
                        (unsigned long long)task, len);
    if (j->broken)
        return ssm_fail(err, SSM_EIO, "journal %s: an earlier write failed", j->path);
    size_t need = FRAME_HEAD + len;
    /* The buffer reaches the file only at frame boundaries, so a reader
     * of a running sweep (ssmsweep status) sees whole frames, and only a
     * kill in the middle of a write can tear one. */
    if (j->used + need > IO_BUFFER) {
        ssm_status st = flush_buffer(j, err);
        if (st)
            return st;
    }
    unsigned char *frame = j->buf + j->used, *own = NULL;
    if (need > IO_BUFFER) {   /* larger than the buffer: out alone */
        frame = own = malloc(need);
        if (!own)
            return ssm_fail(err, SSM_ENOMEM, "out of memory for a journal record of %zu bytes", len);
    }
    fill(src, len, frame + FRAME_HEAD);
    put_u32(frame, FRAME_SYNC);
    put_u32(frame + 4, (uint32_t)len);
    put_u32(frame + 8, crc_more(crc_of(frame + 4, 4), frame + FRAME_HEAD, len));
    if (!own) {
        j->used += need;
        return SSM_OK;
    }
    ssm_status st = write_out(j, own, need, 1, err);
    free(own);
    return st;
}

static void fill_packed(const void *src, size_t len, unsigned char *dst)
{
    memcpy(dst, src, len);
}

static void fill_record(const void *src, size_t len, unsigned char *dst)
{
    (void)len;
    sw_record_pack(src, dst);
}

ssm_status sw_journal_append(sw_journal *j, const sw_record *rec, ssm_error *err)
{
    return append_frame(j, rec->task, sw_record_packed_size(rec), fill_record, rec, err);
}

ssm_status sw_journal_append_packed(sw_journal *j, uint64_t task, const unsigned char *packed, size_t len,
                                    ssm_error *err)
{
    return append_frame(j, task, len, fill_packed, packed, err);
}

ssm_status sw_journal_replace(sw_journal *j, const char *path, ssm_error *err)
{
    char text[96], dir[PATH_MAX];
    ssm_status st = sw_journal_sync(j, err);
    if (st)
        return st;
    if (rename(j->path, path) != 0)
        return ssm_fail(err, SSM_EIO, "cannot replace journal %s: %s", path, sw_errno_text(errno, text, sizeof text));
    snprintf(j->path, sizeof j->path, "%s", path);
    /* the rename is durable only once the directory is */
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash == path ? 1 : slash - path) : 1, slash ? path : ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);   /* some file systems refuse fsync on directories; the rename stands */
        close(fd);
    }
    return SSM_OK;
}

ssm_status sw_journal_close(sw_journal *j, ssm_error *err)
{
    if (!j)
        return SSM_OK;
    ssm_status st = j->broken ? ssm_fail(err, SSM_EIO, "journal %s: an earlier write failed", j->path)
                              : sw_journal_sync(j, err);
    return journal_free(j, st, err);
}

void sw_journal_abandon(sw_journal *j)
{
    if (j)
        journal_free(j, SSM_OK, NULL);
}

/* ---- part journals ------------------------------------------------------------ */

ssm_status sw_sync_path(const char *path, ssm_error *err)
{
    char dir[PATH_MAX], text[96];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return ssm_fail(err, SSM_EIO, "cannot sync %s: %s", path, sw_errno_text(e, text, sizeof text));
    }
    close(fd);
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash == path ? 1 : slash - path) : 1, slash ? path : ".");
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        (void)fsync(fd);   /* some file systems refuse it on directories */
        close(fd);
    }
    return SSM_OK;
}

ssm_status sw_journal_parts_remove(const char *output, ssm_error *err)
{
    sw_journal_part_list parts;
    char journal[PATH_MAX];
    ssm_status st = sw_journal_parts(output, &parts, err);
    for (size_t k = 0; st == SSM_OK && k < parts.n; ++k)
        if (unlink(parts.path[k]) != 0 && errno != ENOENT)
            st = ssm_fail(err, SSM_EIO, "cannot remove part journal %s: %s", parts.path[k], strerror(errno));
    /* the removals are durable with the directory (the journal's) */
    snprintf(journal, sizeof journal, "%s.journal", output);
    if (st == SSM_OK && parts.n)
        st = sw_sync_path(journal, err);
    sw_journal_parts_free(&parts);
    return st;
}

int sw_journal_part_path(char *buf, size_t size, const char *output, int k)
{
    int n = snprintf(buf, size, "%s.part%d.journal", output, k);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* k of name if it is BASE.part<k>.journal, else -1. */
static long part_number(const char *name, const char *base)
{
    size_t b = strlen(base);
    if (strncmp(name, base, b) != 0 || strncmp(name + b, ".part", 5) != 0)
        return -1;
    const char *digits = name + b + 5, *end = digits;
    while (*end >= '0' && *end <= '9' && end - digits < 9)
        ++end;
    if (end == digits || strcmp(end, ".journal") != 0)
        return -1;
    return strtol(digits, NULL, 10);
}

static int by_number(const void *pa, const void *pb)
{
    long a = *(const long *)pa, b = *(const long *)pb;
    return (a > b) - (a < b);
}

ssm_status sw_journal_parts(const char *output, sw_journal_part_list *list, ssm_error *err)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(output, '/'), *base = slash ? slash + 1 : output;
    memset(list, 0, sizeof *list);
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash == output ? 1 : slash - output) : 1, slash ? output : ".");
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? SSM_OK : ssm_fail(err, SSM_EIO, "cannot list %s: %s", dir, strerror(errno));
    long *numbers = NULL;
    size_t cap = 0;
    ssm_status st = SSM_OK;
    for (struct dirent *e; (e = readdir(d));) {
        long k = part_number(e->d_name, base);
        if (k < 0)
            continue;
        if (list->n == cap) {
            size_t cap2 = cap ? 2 * cap : 16;
            long *bigger = realloc(numbers, cap2 * sizeof *bigger);
            if (!bigger) {
                st = ssm_fail(err, SSM_ENOMEM, "out of memory listing the part journals of %s", output);
                break;
            }
            numbers = bigger;
            cap = cap2;
        }
        numbers[list->n++] = k;
    }
    closedir(d);
    if (st == SSM_OK && list->n) {
        qsort(numbers, list->n, sizeof *numbers, by_number);
        list->path = calloc(list->n, sizeof *list->path);
        for (size_t i = 0; st == SSM_OK && i < list->n; ++i) {
            if (list->path)
                list->path[i] = malloc(PATH_MAX);
            if (!list->path || !list->path[i])
                st = ssm_fail(err, SSM_ENOMEM, "out of memory listing the part journals of %s", output);
            else
                sw_journal_part_path(list->path[i], PATH_MAX, output, (int)numbers[i]);   /* fits: it exists */
        }
    }
    free(numbers);
    if (st != SSM_OK)
        sw_journal_parts_free(list);
    return st;
}

void sw_journal_parts_free(sw_journal_part_list *list)
{
    for (size_t i = 0; list->path && i < list->n; ++i)
        free(list->path[i]);
    free(list->path);
    memset(list, 0, sizeof *list);
}

#include "config.h"

#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define JOURNAL_MAGIC "SSMJRNL1"
/* Version 2 adds the shard; the journal of a whole spec is still written
 * as version 1, which older builds can resume. */
#define JOURNAL_VERSION 2
/* magic, version, spec hash, task count, kind length: then the kind name,
 * n_scalars, n_curves, (version 2) shard index, count and total, and the
 * header's CRC */
#define HEADER_FIXED (8 + 4 + 8 + 8 + 2)
#define HEADER_MAX (HEADER_FIXED + 63 + 4 + 4 + 24 + 4)
#define FRAME_HEAD 8

/* Bytes of the shard fields in a header of version v. */
static size_t shard_bytes(uint32_t v)
{
    return v >= 2 ? 24 : 0;
}
/* No real record comes near this (a 10^6-point curve is 8 MB); a length
 * beyond it is garbage from a torn or overwritten frame. */
#define RECORD_MAX (UINT32_C(1) << 30)
/* stdio buffer: appends reach the disk in large writes. */
#define IO_BUFFER ((size_t)1 << 20)

struct sw_journal {
    FILE *fp;
    char *iobuf;             /* the stream's buffer (setvbuf) */
    size_t buffered;         /* bytes appended since the stream was last flushed */
    unsigned char *frame;    /* scratch: frame head + packed record */
    size_t frame_cap;
    char path[];
};

static uint32_t crc_of(const unsigned char *data, size_t len)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)len);
}

static void put_u32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get_u16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get_u32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get_u64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* ---- header -------------------------------------------------------------- */

static ssm_status header_from_tasks(const sw_tasks *t, sw_journal_header *h, ssm_error *err)
{
    memset(h, 0, sizeof *h);
    if (strlen(t->kind->name) >= sizeof h->kind)
        return ssm_fail(err, SSM_EINVAL, "kind name %s is too long for a journal header", t->kind->name);
    h->shard = sw_tasks_shard(t);
    h->version = h->shard.count > 1 ? 2 : 1;
    h->spec_hash = t->spec_hash;
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
    put_u32(buf + at, crc_of(buf, at));
    return at + 4;
}

/* Reads and checks the header at the start of fp; returns its size in *size. */
static ssm_status header_read(FILE *fp, const char *path, sw_journal_header *h, size_t *size, ssm_error *err)
{
    unsigned char buf[HEADER_MAX];
    memset(h, 0, sizeof *h);
    size_t got = fread(buf, 1, HEADER_FIXED, fp);
    if (got >= 8 && memcmp(buf, JOURNAL_MAGIC, 8) != 0)
        return ssm_fail(err, SSM_EIO, "%s is not an ssmsweep journal", path);
    if (got < HEADER_FIXED)
        goto truncated;
    const uint32_t version = h->version = get_u32(buf + 8);
    if (version < 1 || version > JOURNAL_VERSION)
        return ssm_fail(err, SSM_EIO, "%s: journal format version %u, this ssmsweep reads versions 1 to %d", path,
                        version, JOURNAL_VERSION);
    size_t k = get_u16(buf + 28), at = HEADER_FIXED + k + 8, crc_at = at + shard_bytes(version);
    if (k >= sizeof h->kind)
        return ssm_fail(err, SSM_EIO, "%s: journal header is corrupt (kind name of %zu bytes)", path, k);
    if (fread(buf + HEADER_FIXED, 1, crc_at + 4 - HEADER_FIXED, fp) != crc_at + 4 - HEADER_FIXED)
        goto truncated;
    if (crc_of(buf, crc_at) != get_u32(buf + crc_at))
        return ssm_fail(err, SSM_EIO, "%s: journal header is corrupt (checksum mismatch)", path);
    h->spec_hash = get_u64(buf + 12);
    h->n_tasks = get_u64(buf + 20);
    memcpy(h->kind, buf + HEADER_FIXED, k);
    h->kind[k] = '\0';
    h->n_scalars = get_u32(buf + HEADER_FIXED + k);
    h->n_curves = get_u32(buf + HEADER_FIXED + k + 4);
    /* version 1 had no shards: it was the whole spec */
    h->shard = version >= 2 ? (sw_shard){get_u64(buf + at), get_u64(buf + at + 8), get_u64(buf + at + 16)}
                            : (sw_shard){0, 1, h->n_tasks};
    *size = crc_at + 4;
    return SSM_OK;
truncated:
    if (ferror(fp))
        return ssm_fail(err, SSM_EIO, "cannot read journal %s: %s", path, strerror(errno));
    return ssm_fail(err, SSM_EIO, "%s: journal header is truncated (the run died while creating it?)", path);
}

/* What may differ is said in the order a user can act on it; only the
 * spec hash can be overridden (the same tasks, e.g. after editing a
 * comment in the spec, keep their rows). */
/* "shard 1/3" or "the whole spec" */
static const char *shard_text(const sw_shard *s, char *buf, size_t size)
{
    if (s->count <= 1)
        return "the whole spec";
    snprintf(buf, size, "--shard %llu/%llu", (unsigned long long)s->index, (unsigned long long)s->count);
    return buf;
}

static ssm_status header_check(const char *path, const sw_journal_header *have, const sw_journal_header *want,
                               int force, ssm_error *err)
{
    char a[48], b[48];
    if (strcmp(have->kind, want->kind) != 0)
        return ssm_fail(err, SSM_EINVAL, "journal %s was written for kind %s, the spec is of kind %s", path,
                        have->kind, want->kind);
    if (have->n_scalars != want->n_scalars || have->n_curves != want->n_curves)
        return ssm_fail(err, SSM_EINVAL,
                        "journal %s holds %u scalars and %u curves per task, kind %s now has %u and %u "
                        "(written by another ssmsweep version?)",
                        path, have->n_scalars, have->n_curves, want->kind, want->n_scalars, want->n_curves);
    if (have->shard.index != want->shard.index || have->shard.count != want->shard.count)
        return ssm_fail(err, SSM_EINVAL, "journal %s was written for %s, this run is %s: resume with the same --shard",
                        path, shard_text(&have->shard, a, sizeof a), shard_text(&want->shard, b, sizeof b));
    if (have->n_tasks != want->n_tasks)
        return ssm_fail(err, SSM_EINVAL, "journal %s was written for %llu tasks, the spec has %llu", path,
                        (unsigned long long)have->n_tasks, (unsigned long long)want->n_tasks);
    if (have->spec_hash != want->spec_hash && !force)
        return ssm_fail(err, SSM_EINVAL,
                        "journal %s was written for another spec (hash %016llx, this spec %016llx): "
                        "use --force to resume anyway",
                        path, (unsigned long long)have->spec_hash, (unsigned long long)want->spec_hash);
    return SSM_OK;
}

/* ---- reading --------------------------------------------------------------- */

/* A frame whose CRC holds but whose record does not fit the header was
 * written by a bug, not torn by a kill: that is an error, never a reason
 * to truncate. */
static ssm_status record_check(const char *path, long offset, const sw_record *rec, const sw_journal_header *h,
                               ssm_error *err)
{
    int fits = rec->task < h->n_tasks &&
               (rec->status == SW_FAILED ||
                (rec->result.n_scalars == h->n_scalars && rec->result.n_curves == h->n_curves));
    if (fits)
        return SSM_OK;
    return ssm_fail(err, SSM_EIO, "journal %s: the record at byte %ld (task %llu) does not match the header", path,
                    offset, (unsigned long long)rec->task);
}

ssm_status sw_journal_read(const char *path, sw_journal_header *header,
                           int (*visit)(void *ctx, const sw_record *rec), void *ctx,
                           long *valid_bytes, int *torn, ssm_error *err)
{
    ssm_status st = SSM_OK;
    sw_journal_header h;
    unsigned char *payload = NULL;
    size_t cap = 0, header_size = 0;
    long pos = 0, size = 0;
    int stopped = 0;
    struct stat sb;
    FILE *fp = fopen(path, "rb");
    char *iobuf = malloc(IO_BUFFER);
    if (!fp) {
        st = ssm_fail(err, SSM_EIO, "cannot open journal %s: %s", path, strerror(errno));
        goto done;
    }
    if (!iobuf) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory reading journal %s", path);
        goto done;
    }
    setvbuf(fp, iobuf, _IOFBF, IO_BUFFER);
    /* frames appended while we read (a running sweep) are left for the next look */
    if (fstat(fileno(fp), &sb) != 0) {
        st = ssm_fail(err, SSM_EIO, "cannot stat journal %s: %s", path, strerror(errno));
        goto done;
    }
    size = (long)sb.st_size;
    st = header_read(fp, path, &h, &header_size, err);
    if (st)
        goto done;
    if (header)
        *header = h;
    pos = (long)header_size;
    while (!stopped && size - pos >= FRAME_HEAD) {
        unsigned char head[FRAME_HEAD];
        if (fread(head, 1, FRAME_HEAD, fp) != FRAME_HEAD)
            break;
        uint32_t len = get_u32(head), crc = get_u32(head + 4);
        if (len == 0 || len > RECORD_MAX || (long)len > size - pos - FRAME_HEAD)
            break;
        if (len > cap) {
            unsigned char *bigger = realloc(payload, len);
            if (!bigger) {
                st = ssm_fail(err, SSM_ENOMEM, "out of memory for a journal record of %u bytes", len);
                goto done;
            }
            payload = bigger;
            cap = len;
        }
        if (fread(payload, 1, len, fp) != len || crc_of(payload, len) != crc)
            break;
        sw_record rec;
        ssm_error why;
        if (sw_record_unpack(payload, len, &rec, &why) != SSM_OK) {
            st = ssm_fail(err, why.code, "journal %s: the record at byte %ld has a valid checksum but cannot be "
                                         "read: %s", path, pos, why.message);
            goto done;
        }
        st = record_check(path, pos, &rec, &h, err);
        if (st == SSM_OK && visit)
            stopped = visit(ctx, &rec) != 0;
        sw_record_free(&rec);
        if (st)
            goto done;
        pos += FRAME_HEAD + (long)len;
    }
    if (ferror(fp))
        st = ssm_fail(err, SSM_EIO, "cannot read journal %s: %s", path, strerror(errno));
done:
    if (valid_bytes)
        *valid_bytes = pos;
    if (torn)
        *torn = st == SSM_OK && !stopped && pos < size;
    if (fp)
        fclose(fp);
    free(iobuf);
    free(payload);
    return st;
}

/* ---- writing --------------------------------------------------------------- */

static sw_journal *journal_new(const char *path, ssm_error *err)
{
    size_t n = strlen(path) + 1;
    sw_journal *j = calloc(1, sizeof *j + n);
    if (j)
        j->iobuf = malloc(IO_BUFFER);
    if (!j || !j->iobuf) {
        if (j)
            free(j->iobuf);
        free(j);
        ssm_fail(err, SSM_ENOMEM, "out of memory opening journal %s", path);
        return NULL;
    }
    memcpy(j->path, path, n);
    return j;
}

/* Two runs appending to one journal would interleave frames: the second
 * is refused.  File systems without flock (some Lustre mounts) simply
 * go unprotected. */
static ssm_status lock_journal(int fd, const char *path, ssm_error *err)
{
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
        return ssm_fail(err, SSM_EIO, "journal %s is in use by another ssmsweep run", path);
    return SSM_OK;
}

/* Takes fd (closing it on failure) as the journal's buffered stream. */
static ssm_status attach_stream(sw_journal *j, int fd, ssm_error *err)
{
    j->fp = fdopen(fd, "ab");
    if (!j->fp) {
        int e = errno;
        close(fd);
        return ssm_fail(err, SSM_EIO, "cannot open journal %s: %s", j->path, strerror(e));
    }
    setvbuf(j->fp, j->iobuf, _IOFBF, IO_BUFFER);
    return SSM_OK;
}

static ssm_status write_bytes(sw_journal *j, const void *data, size_t n, ssm_error *err)
{
    if (fwrite(data, 1, n, j->fp) != n)
        return ssm_fail(err, SSM_EIO, "cannot write journal %s: %s", j->path, strerror(errno));
    return SSM_OK;
}

/* Frees j, closing its stream; returns the first error. */
static ssm_status journal_free(sw_journal *j, ssm_status st, ssm_error *err)
{
    if (j->fp && fclose(j->fp) != 0 && st == SSM_OK)
        st = ssm_fail(err, SSM_EIO, "cannot close journal %s: %s", j->path, strerror(errno));
    free(j->iobuf);
    free(j->frame);
    free(j);
    return st;
}

ssm_status sw_journal_sync(sw_journal *j, ssm_error *err)
{
    if (fflush(j->fp) != 0)
        return ssm_fail(err, SSM_EIO, "cannot write journal %s: %s", j->path, strerror(errno));
    j->buffered = 0;
    if (fsync(fileno(j->fp)) != 0)
        return ssm_fail(err, SSM_EIO, "cannot sync journal %s: %s", j->path, strerror(errno));
    return SSM_OK;
}

ssm_status sw_journal_create(const char *path, const sw_tasks *tasks, sw_journal **out, ssm_error *err)
{
    sw_journal_header h;
    unsigned char buf[HEADER_MAX];
    sw_journal *j = NULL;
    int created = 0;
    *out = NULL;
    ssm_status st = header_from_tasks(tasks, &h, err);
    if (st)
        return st;
    j = journal_new(path, err);
    if (!j)
        return SSM_ENOMEM;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        st = errno == EEXIST ? ssm_fail(err, SSM_EIO, "journal %s already exists", path)
                             : ssm_fail(err, SSM_EIO, "cannot create journal %s: %s", path, strerror(errno));
        goto done;
    }
    created = 1;
    st = lock_journal(fd, path, err);
    if (st) {
        close(fd);
        goto done;
    }
    st = attach_stream(j, fd, err);
    /* durable at once: a journal on disk always has a whole header */
    if (st == SSM_OK)
        st = write_bytes(j, buf, header_encode(&h, buf), err);
    if (st == SSM_OK)
        st = sw_journal_sync(j, err);
done:
    if (st) {
        journal_free(j, st, NULL);
        if (created)   /* a half-written journal would only block the next attempt */
            unlink(path);
        return st;
    }
    *out = j;
    return SSM_OK;
}

ssm_status sw_journal_open_append(const char *path, const sw_tasks *tasks, int force, sw_journal **out,
                                  ssm_error *err)
{
    sw_journal_header want, have;
    long valid = 0;
    int torn = 0;
    *out = NULL;
    ssm_status st = header_from_tasks(tasks, &want, err);
    if (st)
        return st;
    sw_journal *j = journal_new(path, err);
    if (!j)
        return SSM_ENOMEM;
    /* locked before the scan, so nobody appends between scan and truncate */
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        st = ssm_fail(err, SSM_EIO, "cannot open journal %s: %s", path, strerror(errno));
        goto done;
    }
    st = lock_journal(fd, path, err);
    if (st == SSM_OK)
        st = sw_journal_read(path, &have, NULL, NULL, &valid, &torn, err);
    if (st == SSM_OK)
        st = header_check(path, &have, &want, force, err);
    if (st == SSM_OK && torn && (ftruncate(fd, (off_t)valid) != 0 || fsync(fd) != 0))
        st = ssm_fail(err, SSM_EIO, "cannot truncate the torn tail of journal %s: %s", path, strerror(errno));
    if (st) {
        close(fd);
        goto done;
    }
    st = attach_stream(j, fd, err);
done:
    if (st)
        return journal_free(j, st, NULL);
    *out = j;
    return SSM_OK;
}

ssm_status sw_journal_append(sw_journal *j, const sw_record *rec, ssm_error *err)
{
    size_t len = sw_record_packed_size(rec);
    if (len > RECORD_MAX)
        return ssm_fail(err, SSM_EINVAL, "the record of task %llu has %zu bytes, more than a journal frame holds",
                        (unsigned long long)rec->task, len);
    size_t need = FRAME_HEAD + len;
    if (need > j->frame_cap) {
        unsigned char *bigger = realloc(j->frame, need);
        if (!bigger)
            return ssm_fail(err, SSM_ENOMEM, "out of memory for a journal record of %zu bytes", len);
        j->frame = bigger;
        j->frame_cap = need;
    }
    sw_record_pack(rec, j->frame + FRAME_HEAD);
    put_u32(j->frame, (uint32_t)len);
    put_u32(j->frame + 4, crc_of(j->frame + FRAME_HEAD, len));
    /* The stream reaches the file only at frame boundaries, so a reader
     * of a running sweep (ssmsweep status) sees whole frames, and only a
     * kill in the middle of a write can tear one. */
    if (j->buffered && j->buffered + need > IO_BUFFER) {
        if (fflush(j->fp) != 0)
            return ssm_fail(err, SSM_EIO, "cannot write journal %s: %s", j->path, strerror(errno));
        j->buffered = 0;
    }
    ssm_status st = write_bytes(j, j->frame, need, err);
    if (st)
        return st;
    j->buffered += need;
    if (j->buffered > IO_BUFFER) {   /* a frame larger than the buffer: out now, whole */
        if (fflush(j->fp) != 0)
            return ssm_fail(err, SSM_EIO, "cannot write journal %s: %s", j->path, strerror(errno));
        j->buffered = 0;
    }
    return SSM_OK;
}

ssm_status sw_journal_close(sw_journal *j, ssm_error *err)
{
    if (!j)
        return SSM_OK;
    return journal_free(j, sw_journal_sync(j, err), err);
}

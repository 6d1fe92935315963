#include "config.h"

#include "record.h"

#include <stdlib.h>
#include <string.h>

/* The byte form is defined as little endian and written with plain
 * memcpy of fixed-width integers: refuse to build where that would be a
 * different format rather than swap bytes nobody needs. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sw_record's byte form assumes a little-endian machine"
#endif

/* u64 task, u64 hash, u8 status, i32 rank, f64 elapsed, f64 finished */
#define FIXED_HEAD (8 + 8 + 1 + 4 + 8 + 8)

/* A failed record carries no values whatever its result holds, so the
 * packed form cannot contradict its status. */
static size_t packed_scalars(const sw_record *rec)
{
    return rec->status == SW_FAILED ? 0 : rec->result.n_scalars;
}

static size_t packed_curves(const sw_record *rec)
{
    return rec->status == SW_FAILED ? 0 : rec->result.n_curves;
}

/* Strings are stored without their NUL; the buffers hold at most size-1
 * characters, which is also what unpack accepts. */
static size_t text_len(const char *s, size_t size)
{
    return strnlen(s, size - 1);
}

size_t sw_record_packed_size(const sw_record *rec)
{
    size_t size = FIXED_HEAD + 2 + text_len(rec->host, SW_HOST_MAX) + 2 + text_len(rec->error, SW_ERROR_MAX) +
                  4 + 8 * packed_scalars(rec) + 4;
    for (size_t c = 0; c < packed_curves(rec); ++c)
        size += 4 + 8 * rec->result.curve_len[c];
    return size;
}

static unsigned char *put(unsigned char *p, const void *src, size_t n)
{
    if (n)
        memcpy(p, src, n);
    return p + n;
}

static unsigned char *put_u16(unsigned char *p, uint16_t v) { return put(p, &v, 2); }
static unsigned char *put_u32(unsigned char *p, uint32_t v) { return put(p, &v, 4); }

size_t sw_record_pack(const sw_record *rec, unsigned char *buf)
{
    unsigned char *p = buf;
    uint64_t task = rec->task;
    uint8_t status = (uint8_t)rec->status;
    size_t host = text_len(rec->host, SW_HOST_MAX), error = text_len(rec->error, SW_ERROR_MAX);
    size_t ns = packed_scalars(rec), nc = packed_curves(rec);
    p = put(p, &task, 8);
    p = put(p, &rec->hash, 8);
    p = put(p, &status, 1);
    p = put(p, &rec->rank, 4);
    p = put(p, &rec->elapsed, 8);
    p = put(p, &rec->finished, 8);
    p = put_u16(p, (uint16_t)host);
    p = put(p, rec->host, host);
    p = put_u16(p, (uint16_t)error);
    p = put(p, rec->error, error);
    p = put_u32(p, (uint32_t)ns);
    p = put(p, rec->result.scalars, 8 * ns);
    p = put_u32(p, (uint32_t)nc);
    for (size_t c = 0; c < nc; ++c) {
        size_t len = rec->result.curve_len[c];
        p = put_u32(p, (uint32_t)len);
        p = put(p, rec->result.curves[c], 8 * len);
    }
    return (size_t)(p - buf);
}

/* A bounds-checked reader: every take says what it was reading, so a
 * malformed buffer is reported by the first field that does not fit. */
typedef struct {
    const unsigned char *buf;
    size_t len, pos;
    const char *bad;   /* the field that did not fit, or NULL */
} cursor;

static int take(cursor *c, void *dst, size_t n, const char *what)
{
    if (c->bad)
        return -1;
    if (n > c->len - c->pos) {
        c->bad = what;
        return -1;
    }
    if (n)
        memcpy(dst, c->buf + c->pos, n);
    c->pos += n;
    return 0;
}

/* Reads u16 length + text into dst[size]; the text must fit with its NUL
 * and hold no NUL of its own. */
static int take_text(cursor *c, char *dst, size_t size, const char *what)
{
    uint16_t n = 0;
    if (take(c, &n, 2, what))
        return -1;
    if (n >= size) {
        c->bad = what;
        return -1;
    }
    if (take(c, dst, n, what))
        return -1;
    dst[n] = '\0';
    if (memchr(dst, '\0', n)) {
        c->bad = what;
        return -1;
    }
    return 0;
}

/* Reads a u32 count of 8-byte values and checks they fit in what is
 * left, before anything is allocated for them: garbage must not turn
 * into a huge malloc. */
static int take_count(cursor *c, size_t *n, size_t min_each, const char *what)
{
    uint32_t v = 0;
    if (take(c, &v, 4, what))
        return -1;
    if ((size_t)v > (c->len - c->pos) / min_each) {
        c->bad = what;
        return -1;
    }
    *n = v;
    return 0;
}

static ssm_status unpack_values(cursor *c, sw_record *rec)
{
    sw_result *r = &rec->result;
    size_t ns = 0, nc = 0;
    if (take_count(c, &ns, 8, "scalar count"))
        return SSM_EIO;
    /* nothing allocated for nothing: a failed record stays all NULL */
    if (ns && !(r->scalars = malloc(ns * sizeof *r->scalars)))
        return SSM_ENOMEM;
    r->n_scalars = ns;
    if (take(c, r->scalars, 8 * ns, "scalars") || take_count(c, &nc, 4, "curve count"))
        return SSM_EIO;
    if (nc && (!(r->curves = calloc(nc, sizeof *r->curves)) || !(r->curve_len = calloc(nc, sizeof *r->curve_len))))
        return SSM_ENOMEM;
    r->n_curves = nc;
    for (size_t k = 0; k < nc; ++k) {
        size_t len = 0;
        if (take_count(c, &len, 8, "curve length"))
            return SSM_EIO;
        if (len) {
            r->curves[k] = malloc(len * sizeof *r->curves[k]);
            if (!r->curves[k])
                return SSM_ENOMEM;
            r->curve_len[k] = len;
            if (take(c, r->curves[k], 8 * len, "curve values"))
                return SSM_EIO;
        }
    }
    return SSM_OK;
}

static ssm_status unpack(const unsigned char *buf, size_t len, int with_hash, sw_record *rec, ssm_error *err)
{
    cursor c = {buf, len, 0, NULL};
    uint8_t status = 0;
    memset(rec, 0, sizeof *rec);
    take(&c, &rec->task, 8, "task id");
    if (with_hash)
        take(&c, &rec->hash, 8, "task hash");
    take(&c, &status, 1, "status");
    take(&c, &rec->rank, 4, "rank");
    take(&c, &rec->elapsed, 8, "elapsed time");
    take(&c, &rec->finished, 8, "finish time");
    take_text(&c, rec->host, sizeof rec->host, "host name");
    take_text(&c, rec->error, sizeof rec->error, "error text");
    rec->status = (sw_status)status;
    ssm_status st = c.bad ? SSM_EIO : unpack_values(&c, rec);
    if (st == SSM_OK && !c.bad && c.pos != len)
        c.bad = "end of record (trailing bytes)";
    if (st == SSM_OK && !c.bad && status != SW_DONE && status != SW_FAILED)
        c.bad = "status";
    if (st == SSM_OK && !c.bad && status == SW_FAILED && (rec->result.n_scalars || rec->result.n_curves))
        c.bad = "values of a failed task";
    if (st == SSM_OK && c.bad)
        st = SSM_EIO;
    if (st == SSM_OK)
        return SSM_OK;
    sw_record_free(rec);
    if (st == SSM_ENOMEM)
        return ssm_fail(err, st, "out of memory unpacking a result record of %zu bytes", len);
    return ssm_fail(err, SSM_EIO, "malformed result record (%zu bytes): bad %s at byte %zu", len,
                    c.bad ? c.bad : "field", c.pos);
}

ssm_status sw_record_unpack(const unsigned char *buf, size_t len, sw_record *rec, ssm_error *err)
{
    return unpack(buf, len, 1, rec, err);
}

ssm_status sw_record_unpack_legacy(const unsigned char *buf, size_t len, sw_record *rec, ssm_error *err)
{
    return unpack(buf, len, 0, rec, err);
}

ssm_status sw_record_copy(sw_record *dst, const sw_record *src, unsigned char **scratch, size_t *cap,
                          ssm_error *err)
{
    size_t len = sw_record_packed_size(src);
    if (len > *cap) {
        unsigned char *bigger = realloc(*scratch, len);
        if (!bigger)
            return ssm_fail(err, SSM_ENOMEM, "out of memory copying a result record of %zu bytes", len);
        *scratch = bigger;
        *cap = len;
    }
    sw_record_pack(src, *scratch);
    return sw_record_unpack(*scratch, len, dst, err);
}

void sw_record_free(sw_record *rec)
{
    if (!rec)
        return;
    sw_result_free(&rec->result);
    memset(rec, 0, sizeof *rec);
}

#include "config.h"

#include "checkpoint.h"
#include "sweep/outfiles.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

/* Values go through a small staging buffer in file byte order, so the
 * format does not depend on the host's. */
#define STAGE_VALUES 4096

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int k = 0; k < 8; ++k)
        p[k] = (unsigned char)(v >> (8 * k));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k)
        v |= (uint64_t)p[k] << (8 * k);
    return v;
}

static void put_f64(unsigned char *p, double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    put_u64(p, bits);
}

static double get_f64(const unsigned char *p)
{
    uint64_t bits = get_u64(p);
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

size_t sw_checkpoint_size(size_t n_params, size_t n_epochs)
{
    const size_t fixed = SW_CHECKPOINT_HEADER_BYTES + 4;
    if (n_params > (SIZE_MAX - fixed) / 48 || n_epochs > (SIZE_MAX - fixed) / 2 / SW_CHECKPOINT_EPOCH_BYTES)
        return 0;
    return fixed + 24 * n_params + SW_CHECKPOINT_EPOCH_BYTES * n_epochs;
}

/* ---- writing ---------------------------------------------------------------------- */

typedef struct {
    FILE *fp;
    uLong crc;
    int ok;
} writer;

static void emit(writer *w, const unsigned char *bytes, size_t len)
{
    w->crc = crc32(w->crc, bytes, (uInt)len);
    w->ok = w->ok && fwrite(bytes, 1, len, w->fp) == len;
}

static void emit_reals(writer *w, const double *x, size_t n)
{
    unsigned char stage[8 * STAGE_VALUES];
    for (size_t done = 0; done < n;) {
        size_t count = n - done < STAGE_VALUES ? n - done : STAGE_VALUES;
        for (size_t k = 0; k < count; ++k)
            put_f64(stage + 8 * k, x[done + k]);
        emit(w, stage, 8 * count);
        done += count;
    }
}

ssm_status sw_checkpoint_write(const char *path, const sw_checkpoint_data *c, ssm_error *err)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return ssm_fail(err, SSM_EIO, "checkpoint %s: path too long", path);
    writer w = {fopen(tmp, "wb"), crc32(0, Z_NULL, 0), 1};
    char why[128];
    if (!w.fp)
        return ssm_fail(err, SSM_EIO, "checkpoint %s: %s", tmp, sw_errno_text(errno, why, sizeof why));
    unsigned char head[SW_CHECKPOINT_HEADER_BYTES];
    memcpy(head, SW_CHECKPOINT_MAGIC, 8);
    put_u64(head + 8, c->key);
    put_u64(head + 16, c->n_params);
    put_u64(head + 24, c->step);
    put_u64(head + 32, c->n_epochs);
    emit(&w, head, sizeof head);
    emit_reals(&w, c->theta, c->n_params);
    emit_reals(&w, c->mom, c->n_params);
    emit_reals(&w, c->vel, c->n_params);
    for (size_t e = 0; e < c->n_epochs; ++e) {
        const ssm_deep_epoch *r = &c->epochs[e];
        unsigned char rec[SW_CHECKPOINT_EPOCH_BYTES];
        put_u64(rec, r->epoch);
        put_f64(rec + 8, r->train_loss);
        put_f64(rec + 16, r->train_acc);
        put_f64(rec + 24, r->val_loss);
        put_f64(rec + 32, r->val_acc);
        put_f64(rec + 40, r->seconds);
        emit(&w, rec, sizeof rec);
    }
    unsigned char crc[4];
    for (int k = 0; k < 4; ++k)
        crc[k] = (unsigned char)((uint32_t)w.crc >> (8 * k));
    w.ok = w.ok && fwrite(crc, 1, 4, w.fp) == 4 && fflush(w.fp) == 0 && fsync(fileno(w.fp)) == 0;
    int saved = errno;
    w.ok = (fclose(w.fp) == 0) && w.ok;
    if (!w.ok || rename(tmp, path) != 0) {
        saved = errno ? errno : saved;
        unlink(tmp);
        return ssm_fail(err, SSM_EIO, "checkpoint %s: %s", path, sw_errno_text(saved ? saved : EIO, why, sizeof why));
    }
    return SSM_OK;
}

/* ---- reading ---------------------------------------------------------------------- */

typedef struct {
    FILE *fp;
    uLong crc;
} reader;

static int take(reader *r, unsigned char *bytes, size_t len)
{
    if (fread(bytes, 1, len, r->fp) != len)
        return 0;
    r->crc = crc32(r->crc, bytes, (uInt)len);
    return 1;
}

static int take_reals(reader *r, double *x, size_t n)
{
    unsigned char stage[8 * STAGE_VALUES];
    for (size_t done = 0; done < n;) {
        size_t count = n - done < STAGE_VALUES ? n - done : STAGE_VALUES;
        if (!take(r, stage, 8 * count))
            return 0;
        for (size_t k = 0; k < count; ++k)
            x[done + k] = get_f64(stage + 8 * k);
        done += count;
    }
    return 1;
}

void sw_checkpoint_free(sw_checkpoint *c)
{
    if (!c)
        return;
    free(c->theta);
    free(c->epochs);
    memset(c, 0, sizeof *c);
}

ssm_status sw_checkpoint_read(const char *path, const sw_checkpoint_expect *want, sw_checkpoint *out, int *found,
                              ssm_error *err)
{
    ssm_status st = SSM_OK;
    unsigned char head[SW_CHECKPOINT_HEADER_BYTES], tail[4];
    struct stat info;
    memset(out, 0, sizeof *out);
    *found = 0;
    reader r = {fopen(path, "rb"), crc32(0, Z_NULL, 0)};
    if (!r.fp)
        return errno == ENOENT ? SSM_OK : ssm_fail(err, SSM_EIO, "checkpoint %s: %s", path, strerror(errno));
    if (fstat(fileno(r.fp), &info) != 0 || !S_ISREG(info.st_mode)) {
        st = ssm_fail(err, SSM_EIO, "checkpoint %s: not a regular file", path);
        goto done;
    }
    if (!take(&r, head, sizeof head) || memcmp(head, SW_CHECKPOINT_MAGIC, 8) != 0) {
        st = ssm_fail(err, SSM_EIO, "checkpoint %s: not a checkpoint (no %s header)", path, SW_CHECKPOINT_MAGIC);
        goto done;
    }
    const uint64_t key = get_u64(head + 8), n = get_u64(head + 16), step = get_u64(head + 24),
                   e = get_u64(head + 32);
    if (key != want->key) {
        st = ssm_fail(err, SSM_EIO, "checkpoint %s: written by another run (key %016llx, this run %016llx)", path,
                      (unsigned long long)key, (unsigned long long)want->key);
        goto done;
    }
    if (n != want->n_params || e > want->max_epochs) {
        st = ssm_fail(err, SSM_EIO, "checkpoint %s: holds %llu parameters and %llu epochs, the run has %zu "
                      "parameters and at most %zu epochs", path, (unsigned long long)n, (unsigned long long)e,
                      want->n_params, want->max_epochs);
        goto done;
    }
    /* n and e are the run's own sizes now: the size below is what the file must have */
    const size_t bytes = n <= SIZE_MAX && e <= SIZE_MAX ? sw_checkpoint_size((size_t)n, (size_t)e) : 0;
    if (bytes == 0) {
        st = ssm_fail(err, SSM_EIO, "checkpoint %s: header announces %llu parameters and %llu epochs, more than a "
                      "file can hold", path, (unsigned long long)n, (unsigned long long)e);
        goto done;
    }
    if ((uint64_t)info.st_size != bytes) {
        st = ssm_fail(err, SSM_EIO, "checkpoint %s: %lld bytes, its header implies %zu (truncated or damaged)", path,
                      (long long)info.st_size, bytes);
        goto done;
    }
    out->theta = malloc((n ? 3 * n : 1) * sizeof *out->theta);
    out->epochs = malloc((e ? e : 1) * sizeof *out->epochs);
    if (!out->theta || !out->epochs) {
        st = ssm_fail(err, SSM_ENOMEM, "checkpoint %s: out of memory for %llu parameters", path,
                      (unsigned long long)n);
        goto done;
    }
    out->mom = out->theta + n;
    out->vel = out->theta + 2 * n;
    int ok = take_reals(&r, out->theta, 3 * n);
    for (size_t k = 0; ok && k < e; ++k) {
        unsigned char rec[SW_CHECKPOINT_EPOCH_BYTES];
        ok = take(&r, rec, sizeof rec);
        ssm_deep_epoch *y = &out->epochs[k];
        y->epoch = (size_t)get_u64(rec);
        y->train_loss = get_f64(rec + 8);
        y->train_acc = get_f64(rec + 16);
        y->val_loss = get_f64(rec + 24);
        y->val_acc = get_f64(rec + 32);
        y->seconds = get_f64(rec + 40);
    }
    const uint32_t computed = (uint32_t)r.crc;
    if (!ok || fread(tail, 1, 4, r.fp) != 4) {
        st = ssm_fail(err, SSM_EIO, "checkpoint %s: shorter than its header implies (changed while read?)", path);
        goto done;
    }
    const uint32_t stored = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
                            (uint32_t)tail[3] << 24;
    if (stored != computed) {
        st = ssm_fail(err, SSM_EIO, "checkpoint %s: CRC-32 mismatch (stored %08x, computed %08x)", path,
                      (unsigned)stored, (unsigned)computed);
        goto done;
    }
    for (size_t k = 0; k < e; ++k)
        if (out->epochs[k].epoch != k + 1) {
            st = ssm_fail(err, SSM_EIO, "checkpoint %s: epoch record %zu is numbered %llu", path, k + 1,
                          (unsigned long long)out->epochs[k].epoch);
            goto done;
        }
    out->step = step;
    out->n_params = (size_t)n;
    out->n_epochs = (size_t)e;
    *found = 1;
done:
    fclose(r.fp);
    if (st)
        sw_checkpoint_free(out);
    return st;
}

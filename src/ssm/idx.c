#include "config.h"

#include "idx.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <zlib.h>

#include "rng.h"

/* Stream ids of ssm_rng: the pixel order and the validation split never
 * share random numbers, even when their seeds are equal. */
enum { STREAM_PIXEL_ORDER = 1, STREAM_VAL_SPLIT = 2 };

/* ---- IDX files ------------------------------------------------------------ */

#define HUGE_PAGE ((size_t)2 << 20)

/* The arrays of a data set, in 2 MiB pages where Linux offers them
 * (transparent huge pages in mode "madvise" or "always").  First touches
 * dominate the load otherwise: on the 2-core VM of this project a 4 KiB
 * page fault costs ~10 us, 0.47 s for the 188 MB of float pixels of the
 * training set against 0.05 s in huge pages.  free() releases it. */
static void *alloc_big(size_t bytes)
{
#ifdef MADV_HUGEPAGE
    if (bytes >= HUGE_PAGE) {
        void *p = NULL;
        if (posix_memalign(&p, HUGE_PAGE, bytes) != 0)
            return NULL;
        /* only a hint: without it the pages are 4 KiB, nothing else changes */
        (void)madvise(p, bytes, MADV_HUGEPAGE);
        return p;
    }
#endif
    return malloc(bytes ? bytes : 1);
}

typedef struct {
    unsigned dims;      /* 3 for images, 1 for labels */
    const char *what;   /* "images", "labels": names the data in messages */
    const char *unit;   /* "pixels", "labels": names the bytes in messages */
} idx_kind;

static const idx_kind IDX_IMAGES = {3, "images", "pixels"};
static const idx_kind IDX_LABELS = {1, "labels", "labels"};

static const char *idx_type_name(unsigned code)
{
    switch (code) {
    case 0x08: return "uint8";
    case 0x09: return "int8";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    }
    return "unknown";
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* zlib's reason for the last failure, without the "path: " that gzerror
 * puts in front (our messages name the path once, first). */
static const char *zlib_reason(gzFile f, const char *path, int *errnum)
{
    const char *msg = gzerror(f, errnum);
    const size_t len = strlen(path);
    if (strncmp(msg, path, len) == 0 && msg[len] == ':' && msg[len + 1] == ' ')
        return msg + len + 2;
    return msg;
}

/* zlib's data errors in words a user of gzip knows */
static const char *gzip_gloss(const char *reason)
{
    if (strcmp(reason, "incorrect data check") == 0)
        return "CRC-32 mismatch: ";
    if (strcmp(reason, "incorrect length check") == 0)
        return "length mismatch: ";
    return "";
}

/* Reads up to len bytes (gzread takes an unsigned and returns an int, so
 * at most 1 GiB per call).  Returns
 * the count, short at the end of the data, or -1 if zlib failed. */
static long long read_up_to(gzFile f, uint8_t *buf, uint64_t len)
{
    uint64_t got = 0;
    while (got < len) {
        unsigned chunk = len - got > (1u << 30) ? 1u << 30 : (unsigned)(len - got);
        int r = gzread(f, buf + got, chunk);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (uint64_t)r;
    }
    return (long long)got;
}

/* The message for a read that stopped early or failed: zlib's data errors
 * (CRC, length, bad deflate data), a gzip stream cut short, or a file that
 * simply ends before its header says. */
static ssm_status short_read(gzFile f, const char *path, long long got, uint64_t want,
                             const char *unit, ssm_error *err)
{
    int errnum = Z_OK;
    const char *reason = zlib_reason(f, path, &errnum);
    if (got < 0 && errnum == Z_ERRNO)
        return ssm_fail(err, SSM_EIO, "%s: cannot read: %s", path, reason);
    if (got < 0 && errnum == Z_MEM_ERROR)
        return ssm_fail(err, SSM_ENOMEM, "%s: out of memory in zlib", path);
    /* no position: zlib inflates ahead, so a CRC error can surface while
     * we ask for the header */
    if (got < 0)
        return ssm_fail(err, SSM_EIO, "%s: corrupt gzip data (%s%s)", path, gzip_gloss(reason), reason);
    if (errnum == Z_BUF_ERROR)
        return ssm_fail(err, SSM_EIO, "%s: truncated gzip stream: expected %llu bytes of %s, got %lld",
                        path, (unsigned long long)want, unit, got);
    return ssm_fail(err, SSM_EIO, "%s: truncated: expected %llu bytes of %s, got %lld", path,
                    (unsigned long long)want, unit, got);
}

/* After the data: the rest of the stream must be empty, and reading to its
 * end makes sure zlib has verified the gzip trailer (CRC-32 and length)
 * even if it stopped inflating right after the last pixel. */
static ssm_status check_end(gzFile f, const char *path, const ssm_idx *idx, const char *what,
                            ssm_error *err)
{
    uint8_t buf[4096];
    long long extra = 0;
    int r;
    while ((r = gzread(f, buf, sizeof buf)) > 0)
        extra += r;
    if (extra > 0)
        return ssm_fail(err, SSM_EIO, "%s: %lld%s trailing bytes after the %zu %s the header announces", path,
                        extra, r < 0 ? " or more" : "", idx->n, what);
    int errnum = Z_OK;
    const char *reason = zlib_reason(f, path, &errnum);
    if (r < 0 && errnum == Z_ERRNO)
        return ssm_fail(err, SSM_EIO, "%s: cannot read: %s", path, reason);
    if (r < 0)
        return ssm_fail(err, SSM_EIO, "%s: corrupt gzip data (%s%s)", path, gzip_gloss(reason), reason);
    if (errnum == Z_BUF_ERROR)
        return ssm_fail(err, SSM_EIO, "%s: truncated gzip stream: the %zu %s are complete but the "
                        "CRC trailer is missing (%s)", path, idx->n, what, reason);
    return SSM_OK;
}

/* Magic, dimensions and their product, with the messages of every
 * refusal.  Sets idx->n, rows, cols and *bytes. */
static ssm_status read_header(gzFile f, const char *path, const idx_kind *kind, ssm_idx *idx,
                              uint64_t *bytes, ssm_error *err)
{
    uint8_t head[4 + 4 * 3];
    const uint64_t head_len = 4 + 4 * (uint64_t)kind->dims;
    long long got = read_up_to(f, head, 4);
    if (got != 4)
        return short_read(f, path, got, 4, "IDX magic", err);
    const uint32_t magic = be32(head), want_magic = 0x0800u | kind->dims;
    const unsigned type = head[2], dims = head[3];
    if (head[0] != 0 || head[1] != 0)
        return ssm_fail(err, SSM_EIO, "%s: not an IDX file (magic 0x%08x, expected 0x%08x for %s)", path,
                        (unsigned)magic, (unsigned)want_magic, kind->what);
    if (type != 0x08)
        return ssm_fail(err, SSM_EIO, "%s: IDX element type %s (0x%02x), expected uint8 (0x08) %s", path,
                        idx_type_name(type), type, kind->what);
    if (dims != kind->dims)
        return ssm_fail(err, SSM_EIO, "%s: %u-D IDX data (magic 0x%08x), expected %u-D %s (magic 0x%08x)", path,
                        dims, (unsigned)magic, kind->dims, kind->what, (unsigned)want_magic);
    got = read_up_to(f, head + 4, head_len - 4);
    if (got != (long long)(head_len - 4))
        return short_read(f, path, got, head_len - 4, "dimension sizes", err);
    uint32_t size[3] = {1, 1, 1};
    uint64_t total = 1;
    for (unsigned d = 0; d < kind->dims; ++d)
        size[d] = be32(head + 4 + 4 * d);
    for (unsigned d = 0; d < kind->dims; ++d) {
        if (size[d] == 0)
            return ssm_fail(err, SSM_EIO, "%s: dimension %u of the %s is 0", path, d + 1, kind->what);
        /* total <= 2^30 before the test, so nothing here can overflow */
        if (total > SSM_IDX_MAX_BYTES / size[d])
            return ssm_fail(err, SSM_EIO, "%s: header announces %u x %u x %u %s, more than the cap of %llu bytes "
                            "(a corrupt header?)", path, (unsigned)size[0], (unsigned)size[1],
                            (unsigned)size[2], kind->unit, (unsigned long long)SSM_IDX_MAX_BYTES);
        total *= size[d];
    }
    idx->n = size[0];
    idx->rows = size[1];
    idx->cols = size[2];
    *bytes = total;
    return SSM_OK;
}

static ssm_status idx_read(const char *path, const idx_kind *kind, unsigned n_classes, ssm_idx *out,
                           ssm_error *err)
{
    ssm_status status = SSM_OK;
    ssm_idx idx = {0, 0, 0, NULL};
    uint64_t bytes = 0;
    gzFile f = NULL;

    memset(out, 0, sizeof *out);
    errno = 0;
    f = gzopen(path, "rb");
    if (!f) {
        /* gzopen leaves errno 0 when it ran out of memory */
        status = errno ? ssm_fail(err, SSM_EIO, "%s: cannot open: %s", path, strerror(errno))
                       : ssm_fail(err, SSM_ENOMEM, "out of memory opening '%s'", path);
        goto done;
    }
    /* 128 KiB of input per read instead of zlib's 8 KiB: 0.154 s instead of
     * 0.170 s for the training images here; the data itself is inflated
     * straight into idx.data */
    gzbuffer(f, 1u << 17);
    status = read_header(f, path, kind, &idx, &bytes, err);
    if (status)
        goto done;
    idx.data = alloc_big(bytes);
    if (!idx.data) {
        status = ssm_fail(err, SSM_ENOMEM, "%s: out of memory for %llu bytes of %s", path,
                          (unsigned long long)bytes, kind->unit);
        goto done;
    }
    long long got = read_up_to(f, idx.data, bytes);
    if (got != (long long)bytes) {
        status = short_read(f, path, got, bytes, kind->unit, err);
        goto done;
    }
    status = check_end(f, path, &idx, kind->what, err);
    if (status)
        goto done;
    for (size_t i = 0; n_classes > 0 && i < idx.n; ++i)
        if (idx.data[i] >= n_classes) {
            status = ssm_fail(err, SSM_EIO, "%s: label %u of item %zu is outside 0..%u", path, idx.data[i], i,
                              n_classes - 1);
            goto done;
        }
    *out = idx;
    idx.data = NULL;
done:
    if (f)
        gzclose_r(f);
    free(idx.data);
    return status;
}

ssm_status ssm_idx_read_images(const char *path, ssm_idx *out, ssm_error *err)
{
    return idx_read(path, &IDX_IMAGES, 0, out, err);
}

ssm_status ssm_idx_read_labels(const char *path, unsigned n_classes, ssm_idx *out, ssm_error *err)
{
    return idx_read(path, &IDX_LABELS, n_classes, out, err);
}

void ssm_idx_free(ssm_idx *idx)
{
    if (!idx)
        return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}

void ssm_idx_pixel_stats(const ssm_idx *idx, double *mean, double *std)
{
    /* a histogram makes the sums exact integers, independent of order */
    uint64_t hist[256] = {0};
    const size_t total = idx->n * idx->rows * idx->cols;
    for (size_t i = 0; i < total; ++i)
        ++hist[idx->data[i]];
    double s1 = 0, s2 = 0;
    for (unsigned v = 0; v < 256; ++v) {
        s1 += (double)hist[v] * v;
        s2 += (double)hist[v] * v * v;
    }
    const double n = total ? (double)total : 1.0, m = s1 / n;
    *mean = m / 255.0;
    *std = sqrt(fmax(s2 / n - m * m, 0.0)) / 255.0;
}

/* ---- random orders --------------------------------------------------------- */

/* Uniform on 0..bound-1: plain r % bound would favour small values by up
 * to 2^-64 * bound, so draws below 2^64 mod bound are rejected. */
static uint64_t draw_below(ssm_rng *rng, uint64_t bound)
{
    const uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t r = ssm_rng_u64(rng);
        if (r >= threshold)
            return r % bound;
    }
}

ssm_status ssm_random_permutation(size_t n, uint64_t seed, uint64_t stream, uint32_t *perm, ssm_error *err)
{
    if (n > (size_t)UINT32_MAX + 1)
        return ssm_fail(err, SSM_EINVAL, "a permutation of %zu elements does not fit uint32 indices", n);
    ssm_rng rng;
    /* keyed by n too, so the permutations of different lengths are unrelated */
    ssm_rng_init(&rng, seed, (uint64_t)n, stream);
    for (size_t i = 0; i < n; ++i)
        perm[i] = (uint32_t)i;
    for (size_t i = n; i > 1; --i) {
        size_t j = (size_t)draw_below(&rng, i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    return SSM_OK;
}

ssm_status ssm_stratified_split(const uint8_t *label, size_t n, unsigned n_classes, size_t n_val,
                                uint64_t seed, uint8_t *is_val, ssm_error *err)
{
    ssm_status status = SSM_OK;
    uint64_t count[256] = {0}, quota[256], rem[256];
    uint32_t *perm = NULL;

    if (n_classes == 0 || n_classes > 256)
        return ssm_fail(err, SSM_EINVAL, "split: %u classes (expected 1..256)", n_classes);
    if (n_val > n)
        return ssm_fail(err, SSM_EINVAL, "split: %zu validation examples out of only %zu", n_val, n);
    if (n > UINT32_MAX)
        return ssm_fail(err, SSM_EINVAL, "split: %zu examples exceed uint32 indices", n);
    for (size_t i = 0; i < n; ++i) {
        if (label[i] >= n_classes)
            return ssm_fail(err, SSM_EINVAL, "split: label %u of example %zu is outside 0..%u", label[i], i,
                            n_classes - 1);
        ++count[label[i]];
    }
    /* each class its exact share, floored; the examples left over go to the
     * classes with the largest remainders.  n, n_val < 2^32: no overflow. */
    uint64_t assigned = 0;
    for (unsigned c = 0; c < n_classes; ++c) {
        quota[c] = n ? (uint64_t)n_val * count[c] / n : 0;
        rem[c] = n ? (uint64_t)n_val * count[c] % n : 0;
        assigned += quota[c];
    }
    for (uint64_t left = n_val - assigned; left > 0; --left) {
        unsigned best = 0;
        for (unsigned c = 1; c < n_classes; ++c)
            if (rem[c] > rem[best])
                best = c;
        ++quota[best];
        rem[best] = 0;
    }
    perm = malloc((n ? n : 1) * sizeof *perm);
    if (!perm) {
        status = ssm_fail(err, SSM_ENOMEM, "split: out of memory for %zu indices", n);
        goto done;
    }
    status = ssm_random_permutation(n, seed, STREAM_VAL_SPLIT, perm, err);
    if (status)
        goto done;
    /* the first quota[c] members of class c in a random order: a uniform
     * random subset of each class */
    memset(is_val, 0, n);
    for (size_t k = 0; k < n; ++k) {
        uint32_t i = perm[k];
        if (quota[label[i]] > 0) {
            --quota[label[i]];
            is_val[i] = 1;
        }
    }
done:
    free(perm);
    return status;
}

/* ---- Fashion-MNIST as sequences ---------------------------------------------- */

void ssm_fmnist_options_defaults(ssm_fmnist_options *opt)
{
    opt->order = SSM_PIXELS_ROW;
    opt->perm_seed = 0;
    opt->mean = SSM_FMNIST_MEAN;
    opt->std = SSM_FMNIST_STD;
    opt->n_val = 0;
    opt->split_seed = 0;
    opt->subset = 0;
}

ssm_status ssm_fmnist_permutation(size_t length, uint64_t perm_seed, uint32_t *perm, ssm_error *err)
{
    return ssm_random_permutation(length, perm_seed, STREAM_PIXEL_ORDER, perm, err);
}

/* dir/prefix-name-ubyte.gz, else the same without .gz.  A missing directory
 * or file is the one failure a new user meets: say which package helps. */
static ssm_status find_file(const char *dir, const char *prefix, const char *name, char *path, size_t cap,
                            ssm_error *err)
{
    struct stat st;
    int len = snprintf(path, cap, "%s/%s-%s-ubyte.gz", dir, prefix, name);
    if (len < 0 || (size_t)len >= cap)
        return ssm_fail(err, SSM_EINVAL, "fashion-mnist directory name too long: '%s'", dir);
    if (stat(path, &st) == 0)
        return SSM_OK;
    path[len - 3] = '\0';
    if (stat(path, &st) == 0)
        return SSM_OK;
    if (errno == ENOENT || errno == ENOTDIR)
        return ssm_fail(err, SSM_EIO, "fashion-mnist not found in %s (install the Debian package %s): no %s-%s-ubyte.gz",
                        dir, SSM_FMNIST_PACKAGE, prefix, name);
    return ssm_fail(err, SSM_EIO, "%s: cannot access: %s", path, strerror(errno));
}

static ssm_status check_options(const ssm_fmnist_options *opt, ssm_fmnist_split split, ssm_error *err)
{
    if (split != SSM_FMNIST_TRAIN && split != SSM_FMNIST_VAL && split != SSM_FMNIST_TEST)
        return ssm_fail(err, SSM_EINVAL, "fashion-mnist: unknown split %d", (int)split);
    if (opt->order != SSM_PIXELS_ROW && opt->order != SSM_PIXELS_PERMUTED)
        return ssm_fail(err, SSM_EINVAL, "fashion-mnist: unknown pixel order %d", (int)opt->order);
    if (!isfinite(opt->mean) || !isfinite(opt->std) || !(opt->std > 0))
        return ssm_fail(err, SSM_EINVAL, "fashion-mnist: normalization needs a finite mean and std > 0 "
                        "(got mean %g, std %g)", opt->mean, opt->std);
    if (split == SSM_FMNIST_VAL && opt->n_val == 0)
        return ssm_fail(err, SSM_EINVAL, "fashion-mnist: the validation split is empty (n_val = 0)");
    return SSM_OK;
}

void ssm_fmnist_files_free(ssm_fmnist_files *f)
{
    ssm_idx_free(&f->images);
    ssm_idx_free(&f->labels);
}

ssm_status ssm_fmnist_read(const char *dir, int test, ssm_fmnist_files *out, ssm_error *err)
{
    memset(out, 0, sizeof *out);
    if (!dir)
        dir = SSM_FMNIST_DEFAULT_DIR;
    const char *prefix = test ? "t10k" : "train";
    ssm_status status = find_file(dir, prefix, "images-idx3", out->image_path, sizeof out->image_path, err);
    if (status == SSM_OK)
        status = find_file(dir, prefix, "labels-idx1", out->label_path, sizeof out->label_path, err);
    if (status == SSM_OK)
        status = ssm_idx_read_images(out->image_path, &out->images, err);
    if (status == SSM_OK)
        status = ssm_idx_read_labels(out->label_path, SSM_FMNIST_CLASSES, &out->labels, err);
    if (status == SSM_OK && out->images.n != out->labels.n)
        status = ssm_fail(err, SSM_EIO, "%s has %zu images but %s has %zu labels", out->image_path, out->images.n,
                          out->label_path, out->labels.n);
    if (status)
        ssm_fmnist_files_free(out);
    return status;
}

ssm_status ssm_fmnist_load(const char *dir, ssm_fmnist_split split, const ssm_fmnist_options *opt,
                           ssm_seqdata *out, ssm_error *err)
{
    ssm_fmnist_files files;
    memset(out, 0, sizeof *out);
    ssm_status status = ssm_fmnist_read(dir, split == SSM_FMNIST_TEST, &files, err);
    if (status == SSM_OK)
        status = ssm_fmnist_select(&files, split, opt, out, err);
    ssm_fmnist_files_free(&files);
    return status;
}

ssm_status ssm_fmnist_select(const ssm_fmnist_files *files, ssm_fmnist_split split, const ssm_fmnist_options *opt,
                             ssm_seqdata *out, ssm_error *err)
{
    ssm_status status = SSM_OK;
    ssm_fmnist_options defaults;
    const ssm_idx img = files->images, lab = files->labels;
    const char *img_path = files->image_path;
    uint8_t *is_val = NULL;
    uint32_t *perm = NULL;
    float lut[256];

    memset(out, 0, sizeof *out);
    if (!opt) {
        ssm_fmnist_options_defaults(&defaults);
        opt = &defaults;
    }
    status = check_options(opt, split, err);
    if (status)
        goto done;
    const size_t length = img.rows * img.cols;

    /* which examples of the file belong to the split */
    size_t available = img.n;
    if (split != SSM_FMNIST_TEST && opt->n_val > 0) {
        if (opt->n_val >= img.n) {
            status = ssm_fail(err, SSM_EINVAL, "fashion-mnist: n_val = %zu leaves no training examples "
                              "(%s has %zu)", opt->n_val, img_path, img.n);
            goto done;
        }
        is_val = malloc(img.n);
        if (!is_val) {
            status = ssm_fail(err, SSM_ENOMEM, "fashion-mnist: out of memory");
            goto done;
        }
        status = ssm_stratified_split(lab.data, lab.n, SSM_FMNIST_CLASSES, opt->n_val, opt->split_seed, is_val,
                                      err);
        if (status)
            goto done;
        available = split == SSM_FMNIST_VAL ? opt->n_val : img.n - opt->n_val;
    }
    const size_t n = opt->subset > 0 && opt->subset < available ? opt->subset : available;

    if (opt->order == SSM_PIXELS_PERMUTED) {
        perm = malloc(length * sizeof *perm);
        if (!perm) {
            status = ssm_fail(err, SSM_ENOMEM, "fashion-mnist: out of memory");
            goto done;
        }
        status = ssm_fmnist_permutation(length, opt->perm_seed, perm, err);
        if (status)
            goto done;
    }
    /* n * length <= SSM_IDX_MAX_BYTES, so the float array size cannot overflow */
    out->x = alloc_big(n * length * sizeof *out->x);
    out->label = malloc(n ? n : 1);
    out->index = malloc((n ? n : 1) * sizeof *out->index);
    if (!out->x || !out->label || !out->index) {
        status = ssm_fail(err, SSM_ENOMEM, "fashion-mnist: out of memory for %zu x %zu floats", n, length);
        goto done;
    }
    /* 256 possible inputs: one table instead of a division per pixel */
    for (unsigned v = 0; v < 256; ++v)
        lut[v] = (float)((v / 255.0 - opt->mean) / opt->std);
    const int want_val = split == SSM_FMNIST_VAL;
    size_t k = 0;
    for (size_t i = 0; i < img.n && k < n; ++i) {
        if (is_val && is_val[i] != want_val)
            continue;
        const uint8_t *src = img.data + i * length;
        float *dst = out->x + k * length;
        if (perm)
            for (size_t t = 0; t < length; ++t)
                dst[t] = lut[src[perm[t]]];
        else
            for (size_t t = 0; t < length; ++t)
                dst[t] = lut[src[t]];
        out->label[k] = lab.data[i];
        out->index[k] = (uint32_t)i;
        ++k;
    }
    out->n = n;
    out->length = length;
    out->rows = img.rows;
    out->cols = img.cols;
    snprintf(out->images, sizeof out->images, "%s", img_path);
    out->n_classes = SSM_FMNIST_CLASSES;
done:
    if (status)
        ssm_seqdata_free(out);
    free(is_val);
    free(perm);
    return status;
}

void ssm_seqdata_free(ssm_seqdata *data)
{
    if (!data)
        return;
    free(data->x);
    free(data->label);
    free(data->index);
    memset(data, 0, sizeof *data);
}

ssm_status ssm_seqdata_check_shapes(const ssm_seqdata *train, const ssm_seqdata *test, size_t rows, size_t cols,
                                    ssm_error *err)
{
    if (train->rows != test->rows || train->cols != test->cols)
        return ssm_fail(err, SSM_EIO, "images of different shapes: %s holds %zux%zu images, %s %zux%zu", train->images,
                        train->rows, train->cols, test->images, test->rows, test->cols);
    if (train->rows != rows || train->cols != cols)
        return ssm_fail(err, SSM_EIO, "%s and %s hold %zux%zu images, expected %zux%zu", train->images, test->images,
                        train->rows, train->cols, rows, cols);
    return SSM_OK;
}

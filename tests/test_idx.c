/* IDX files and the Fashion-MNIST loader: small IDX files written here
 * (gzip and plain) read back exactly; every kind of corrupt file is refused
 * with a message naming the file and the problem; the pixel permutation,
 * the validation split and the normalization on a synthetic data set; and,
 * when the Debian package dataset-fashion-mnist is installed, the real
 * files against reference values computed independently with numpy. */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "ssm/idx.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/ssm-test-idx.XXXXXX";

/* tmpdir/name in one of a few rotating buffers, so a check can hold two */
static const char *tmp(const char *name)
{
    static char buf[4][4096];
    static unsigned next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
    return p;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An IDX file: magic, ndims sizes, len bytes of data, then `extra` bytes
 * the header does not announce; gzip-compressed (zlib) or plain. */
static void write_idx(const char *path, int gz, uint32_t magic, const uint32_t *dims, unsigned ndims,
                      const uint8_t *data, size_t len, size_t extra)
{
    size_t head = 4 + 4 * (size_t)ndims, total = head + len + extra;
    uint8_t *buf = calloc(total, 1);
    if (!buf)
        abort();
    put_be32(buf, magic);
    for (unsigned d = 0; d < ndims; ++d)
        put_be32(buf + 4 + 4 * d, dims[d]);
    if (len)
        memcpy(buf + head, data, len);
    memset(buf + head + len, 0x5a, extra);
    int ok;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ok = f && gzwrite(f, buf, (unsigned)total) == (int)total;
        ok = f && gzclose(f) == Z_OK && ok;
    } else {
        FILE *f = fopen(path, "wb");
        ok = f && fwrite(buf, 1, total, f) == total;
        ok = f && fclose(f) == 0 && ok;
    }
    if (!ok) {
        fprintf(stderr, "cannot write %s\n", path);
        abort();
    }
    free(buf);
}

static void write_images(const char *path, int gz, uint32_t n, uint32_t rows, uint32_t cols, const uint8_t *px)
{
    const uint32_t dims[3] = {n, rows, cols};
    write_idx(path, gz, 0x803, dims, 3, px, (size_t)n * rows * cols, 0);
}

static void write_labels(const char *path, int gz, uint32_t n, const uint8_t *label)
{
    write_idx(path, gz, 0x801, &n, 1, label, n, 0);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void cut_file(const char *path, long size)
{
    if (truncate(path, size) != 0)
        abort();
}

static void flip_byte(const char *path, long offset)
{
    FILE *f = fopen(path, "r+b");
    int c;
    if (!f || fseek(f, offset, SEEK_SET) != 0 || (c = fgetc(f)) == EOF || fseek(f, offset, SEEK_SET) != 0 ||
        fputc(c ^ 0xff, f) == EOF || fclose(f) != 0)
        abort();
}

/* Deterministic bytes that deflate cannot shrink much, so a cut in the
 * middle of a gzip file falls inside the compressed data. */
static void fill_bytes(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; ++i) {
        s = s * 1664525u + 1013904223u;
        p[i] = (uint8_t)(s >> 24);
    }
}

/* status and message as expected: the right code, one line, the file's
 * name, and each of the given substrings (NULL ends the list). */
static void expect_fail(const char *name, ssm_status st, const ssm_error *err, ssm_status want, const char *file,
                        const char *sub1, const char *sub2)
{
    const char *m = err->message;
    int ok = st == want && err->code == want && strchr(m, '\n') == NULL && (!file || strstr(m, file)) &&
             (!sub1 || strstr(m, sub1)) && (!sub2 || strstr(m, sub2));
    CHECK(ok, "%s refused: [%s]", name, st ? m : "no error");
}

/* ---- IDX reader --------------------------------------------------------------- */

static void roundtrip(void)
{
    uint8_t px[5 * 4 * 3], lab[7] = {0, 9, 3, 3, 1, 8, 5};
    fill_bytes(px, sizeof px, 1);
    for (int gz = 0; gz <= 1; ++gz) {
        const char *ip = tmp(gz ? "rt-images.gz" : "rt-images"), *lp = tmp(gz ? "rt-labels.gz" : "rt-labels");
        ssm_idx img, l;
        ssm_error err;
        write_images(ip, gz, 5, 4, 3, px);
        write_labels(lp, gz, 7, lab);
        ssm_status st = ssm_idx_read_images(ip, &img, &err);
        CHECK(st == SSM_OK && img.n == 5 && img.rows == 4 && img.cols == 3 && memcmp(img.data, px, sizeof px) == 0,
              "%s images read back exactly (%s)", gz ? "gzip" : "plain", st ? err.message : "5 x 4 x 3");
        st = ssm_idx_read_labels(lp, 10, &l, &err);
        CHECK(st == SSM_OK && l.n == 7 && l.rows == 1 && l.cols == 1 && memcmp(l.data, lab, sizeof lab) == 0,
              "%s labels read back exactly (%s)", gz ? "gzip" : "plain", st ? err.message : "7");
        ssm_idx_free(&img);
        ssm_idx_free(&l);
    }
}

static void corrupt_headers(void)
{
    uint8_t px[5 * 4 * 3];
    const uint32_t dims[3] = {5, 4, 3};
    ssm_idx idx;
    ssm_error err;
    ssm_status st;
    fill_bytes(px, sizeof px, 2);

    write_idx(tmp("magic.gz"), 1, 0x12340803, dims, 3, px, sizeof px, 0);
    st = ssm_idx_read_images(tmp("magic.gz"), &idx, &err);
    expect_fail("bad magic", st, &err, SSM_EIO, "magic.gz", "not an IDX file", "0x12340803");
    CHECK(idx.data == NULL && idx.n == 0, "a refused file leaves the output empty");

    write_idx(tmp("float.gz"), 1, 0x0d03, dims, 3, px, sizeof px, 0);
    st = ssm_idx_read_images(tmp("float.gz"), &idx, &err);
    expect_fail("float32 elements", st, &err, SSM_EIO, "float.gz", "float32", "expected uint8");

    write_idx(tmp("dims2.gz"), 1, 0x0802, dims, 2, px, sizeof px, 0);
    st = ssm_idx_read_images(tmp("dims2.gz"), &idx, &err);
    expect_fail("2-D images", st, &err, SSM_EIO, "dims2.gz", "2-D", "expected 3-D images");

    write_labels(tmp("lab-as-img"), 0, 5, px);
    st = ssm_idx_read_images(tmp("lab-as-img"), &idx, &err);
    expect_fail("labels file read as images", st, &err, SSM_EIO, "lab-as-img", "1-D", "0x00000803");
    write_images(tmp("img-as-lab"), 0, 5, 4, 3, px);
    st = ssm_idx_read_labels(tmp("img-as-lab"), 10, &idx, &err);
    expect_fail("images file read as labels", st, &err, SSM_EIO, "img-as-lab", "3-D", "expected 1-D labels");

    const uint32_t zero[3] = {5, 0, 3};
    write_idx(tmp("zero.gz"), 1, 0x803, zero, 3, NULL, 0, 0);
    st = ssm_idx_read_images(tmp("zero.gz"), &idx, &err);
    expect_fail("a zero dimension", st, &err, SSM_EIO, "zero.gz", "dimension 2", "is 0");

    /* 10^11 bytes; and 2^96 bytes, whose product overflows uint64 */
    const uint32_t huge[3] = {100000, 1000, 1000}, wrap[3] = {0xffffffffu, 0xffffffffu, 0xffffffffu};
    write_idx(tmp("huge.gz"), 1, 0x803, huge, 3, NULL, 0, 0);
    st = ssm_idx_read_images(tmp("huge.gz"), &idx, &err);
    expect_fail("an oversized header", st, &err, SSM_EIO, "huge.gz", "100000 x 1000 x 1000", "cap");
    write_idx(tmp("wrap"), 0, 0x803, wrap, 3, NULL, 0, 0);
    st = ssm_idx_read_images(tmp("wrap"), &idx, &err);
    expect_fail("dimensions whose product overflows", st, &err, SSM_EIO, "wrap", "4294967295 x 4294967295 x 4294967295", "cap");

    write_idx(tmp("short-head"), 0, 0x803, dims, 3, NULL, 0, 0);
    cut_file(tmp("short-head"), 10);
    st = ssm_idx_read_images(tmp("short-head"), &idx, &err);
    expect_fail("a header cut short", st, &err, SSM_EIO, "short-head", "truncated", "dimension sizes");
    cut_file(tmp("short-head"), 2);
    st = ssm_idx_read_images(tmp("short-head"), &idx, &err);
    expect_fail("a 2-byte file", st, &err, SSM_EIO, "short-head", "truncated", "magic");
    cut_file(tmp("short-head"), 0);
    st = ssm_idx_read_images(tmp("short-head"), &idx, &err);
    expect_fail("an empty file", st, &err, SSM_EIO, "short-head", "truncated", "got 0");
}

/* Cut and damaged data in files of n images: with n = 40 zlib inflates the
 * whole stream (and checks its trailer) while we read the 4-byte magic;
 * with n = 400 (313 KB, more than zlib's 256 KB read-ahead) the errors
 * surface while reading the pixels or after them. */
static void corrupt_data(uint32_t n)
{
    enum { R = 28, C = 28 };
    const size_t len = (size_t)n * R * C;
    const uint32_t dims[3] = {n, R, C};
    uint8_t *px = malloc(len);
    ssm_idx idx;
    ssm_error err;
    ssm_status st;
    char want[128], name[64], sub[64];
    const char *path;
    /* base name with n before the extension: cut.gz -> cut-40.gz */
#define FILE_N(base)                                                                                       \
    (snprintf(name, sizeof name, "%.*s-%u%s", (int)strcspn(base, "."), base, (unsigned)n,                  \
              (base) + strcspn(base, ".")),                                                                \
     path = tmp(name))
    if (!px)
        abort();
    fill_bytes(px, len, 3);

    /* the header announces n images, the file holds n - 1/2 */
    const size_t short_len = len - R * C / 2;
    snprintf(want, sizeof want, "truncated: expected %zu bytes of pixels, got %zu", len, short_len);
    FILE_N("short");
    write_idx(path, 0, 0x803, dims, 3, px, short_len, 0);
    st = ssm_idx_read_images(path, &idx, &err);
    expect_fail("plain file shorter than its header", st, &err, SSM_EIO, name, want, NULL);
    FILE_N("short.gz");
    write_idx(path, 1, 0x803, dims, 3, px, short_len, 0);
    st = ssm_idx_read_images(path, &idx, &err);
    expect_fail("complete gzip stream shorter than its header", st, &err, SSM_EIO, name, want, NULL);

    /* damage to a good gzip file: cut or flip one byte at `at` (from the
     * end if negative, 0 for the middle).  The pixels are incompressible,
     * so the middle lies in deflate's stored data and a flip there is seen
     * by the CRC alone. */
    static const struct {
        const char *what, *file;
        int cut;
        long at;
        const char *sub1, *sub2;
    } damage[] = {
        {"gzip stream cut in half (an interrupted download)", "cut.gz", 1, 0, "truncated gzip stream",
         "bytes of pixels"},
        {"gzip trailer (CRC-32, length) missing: the data cannot be verified", "notrailer.gz", 1, -8,
         "truncated gzip stream", "trailer"},
        {"gzip CRC mismatch", "crc.gz", 0, -8, "corrupt gzip data (CRC-32 mismatch", "incorrect data check"},
        {"gzip length mismatch", "isize.gz", 0, -4, "corrupt gzip data (length mismatch",
         "incorrect length check"},
        {"a flipped byte in the compressed data", "body.gz", 0, 0, "corrupt gzip data (CRC-32 mismatch", NULL},
    };
    for (size_t k = 0; k < sizeof damage / sizeof damage[0]; ++k) {
        FILE_N(damage[k].file);
        write_images(path, 1, n, R, C, px);
        const long size = file_size(path), at = damage[k].at < 0 ? size + damage[k].at : size / 2;
        if (damage[k].cut)
            cut_file(path, at);
        else
            flip_byte(path, at);
        st = ssm_idx_read_images(path, &idx, &err);
        expect_fail(damage[k].what, st, &err, SSM_EIO, name, damage[k].sub1, damage[k].sub2);
    }

    snprintf(sub, sizeof sub, "after the %u images", (unsigned)n);
    for (int gz = 0; gz <= 1; ++gz) {
        FILE_N(gz ? "trailing.gz" : "trailing");
        write_idx(path, gz, 0x803, dims, 3, px, len, 5);
        st = ssm_idx_read_images(path, &idx, &err);
        expect_fail(gz ? "gzip trailing bytes" : "plain trailing bytes", st, &err, SSM_EIO, name,
                    "5 trailing bytes", sub);
    }
#undef FILE_N
    free(px);
}

static void corrupt_labels_and_paths(void)
{
    ssm_idx idx;
    ssm_error err;
    ssm_status st;
    const uint8_t lab[6] = {0, 1, 9, 10, 2, 3};
    write_labels(tmp("label10.gz"), 1, 6, lab);
    st = ssm_idx_read_labels(tmp("label10.gz"), 10, &idx, &err);
    expect_fail("label 10", st, &err, SSM_EIO, "label10.gz", "label 10 of item 3", "outside 0..9");
    st = ssm_idx_read_labels(tmp("label10.gz"), 0, &idx, &err);
    CHECK(st == SSM_OK && idx.n == 6 && idx.data[3] == 10, "n_classes 0: labels unchecked");
    ssm_idx_free(&idx);

    st = ssm_idx_read_images(tmp("no-such-file.gz"), &idx, &err);
    expect_fail("a missing file", st, &err, SSM_EIO, "no-such-file.gz", "cannot open", strerror(ENOENT));
    st = ssm_idx_read_images(tmpdir, &idx, &err);
    expect_fail("a directory", st, &err, SSM_EIO, tmpdir, NULL, NULL);
}

/* ---- permutation and split ------------------------------------------------------ */

static int is_permutation(const uint32_t *p, size_t n)
{
    uint8_t *seen = calloc(n ? n : 1, 1);
    int ok = seen != NULL;
    for (size_t i = 0; ok && i < n; ++i) {
        ok = p[i] < n && !seen[p[i]];
        if (ok)
            seen[p[i]] = 1;
    }
    free(seen);
    return ok;
}

static void permutations(void)
{
    uint32_t a[784], b[784], c[784];
    ssm_error err;
    ssm_fmnist_permutation(784, 1, a, &err);
    ssm_fmnist_permutation(784, 1, b, &err);
    ssm_fmnist_permutation(784, 2, c, &err);
    size_t fixed = 0;
    for (size_t t = 0; t < 784; ++t)
        fixed += a[t] == t;
    CHECK(is_permutation(a, 784) && is_permutation(c, 784), "Fisher-Yates gives permutations of 0..783");
    CHECK(memcmp(a, b, sizeof a) == 0, "the same seed gives the same permutation");
    CHECK(memcmp(a, c, sizeof a) != 0, "another seed gives another permutation");
    CHECK(fixed < 10, "the permutation moves almost every pixel (%zu fixed points, ~1 expected)", fixed);
    /* every position is equally likely to land first: 7840 draws of
     * perm[0] over 10 buckets of a 10-element permutation */
    size_t bucket[10] = {0};
    for (uint64_t seed = 0; seed < 7840; ++seed) {
        uint32_t p[10];
        ssm_random_permutation(10, seed, 7, p, &err);
        ++bucket[p[0]];
    }
    double chi2 = 0;
    for (int k = 0; k < 10; ++k)
        chi2 += (bucket[k] - 784.0) * (bucket[k] - 784.0) / 784.0;
    CHECK(chi2 < 27.9, "perm[0] uniform over 10 positions (chi2 %.1f < 27.9, p = 0.001 at 9 dof)", chi2);
}

static void split(void)
{
    enum { N = 1000 };
    uint8_t label[N], v1[N], v2[N], v3[N];
    size_t count[10] = {0}, in_val[10] = {0};
    ssm_error err;
    /* skewed classes: class c has about 2 (c + 1) % of the examples */
    for (size_t i = 0; i < N; ++i) {
        size_t r = (i * 7919) % 110, c = 0;
        while (r >= 2 * (c + 1))
            r -= 2 * (c + 1), ++c;
        label[i] = (uint8_t)c;
        ++count[c];
    }
    const size_t n_val = 137;
    CHECK(ssm_stratified_split(label, N, 10, n_val, 5, v1, &err) == SSM_OK &&
          ssm_stratified_split(label, N, 10, n_val, 5, v2, &err) == SSM_OK &&
          ssm_stratified_split(label, N, 10, n_val, 6, v3, &err) == SSM_OK, "stratified split runs");
    size_t total = 0;
    for (size_t i = 0; i < N; ++i) {
        total += v1[i];
        in_val[label[i]] += v1[i];
    }
    CHECK(total == n_val, "exactly n_val = %zu validation examples (%zu)", n_val, total);
    int strat = 1;
    for (int c = 0; c < 10; ++c) {
        double share = (double)n_val * count[c] / N;
        strat &= in_val[c] >= floor(share) && in_val[c] <= ceil(share);
    }
    CHECK(strat, "every class gets its share n_val * count_c / n, rounded");
    CHECK(memcmp(v1, v2, N) == 0, "the split is a pure function of the seed");
    CHECK(memcmp(v1, v3, N) != 0, "another seed gives another split");
    ssm_status st = ssm_stratified_split(label, N, 5, 10, 0, v1, &err);
    expect_fail("split with a label >= n_classes", st, &err, SSM_EINVAL, NULL, "outside 0..4", NULL);
}

/* ---- the loader on a synthetic data set --------------------------------------- */

enum { FAKE_TRAIN = 200, FAKE_TEST = 50, FAKE_R = 4, FAKE_C = 5, FAKE_LEN = FAKE_R * FAKE_C };

static uint8_t fake_px[FAKE_TRAIN * FAKE_LEN], fake_lab[FAKE_TRAIN];

/* dir with train (gzip) and t10k (plain) files */
static void make_fake(const char *dir, int mismatch)
{
    char path[4096];
    mkdir(dir, 0700);
    fill_bytes(fake_px, sizeof fake_px, 4);
    for (size_t i = 0; i < FAKE_TRAIN; ++i)
        fake_lab[i] = (uint8_t)((i * i + 3 * i) % 10);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    write_images(path, 1, FAKE_TRAIN, FAKE_R, FAKE_C, fake_px);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
    write_labels(path, 1, FAKE_TRAIN - (mismatch ? 1 : 0), fake_lab);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
    write_images(path, 0, FAKE_TEST, FAKE_R, FAKE_C, fake_px);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", dir);
    write_labels(path, 0, FAKE_TEST, fake_lab);
}

static void moments(const float *x, size_t n, double *mean, double *std)
{
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; ++i) {
        s1 += x[i];
        s2 += (double)x[i] * x[i];
    }
    *mean = s1 / (double)n;
    *std = sqrt(fmax(s2 / (double)n - *mean * *mean, 0));
}

static void loader_synthetic(void)
{
    const char *dir = tmp("fake");
    ssm_fmnist_options opt;
    ssm_seqdata tr, te, tv, tp, tep, sub;
    ssm_idx raw;
    ssm_error err;
    double mean, std;
    make_fake(dir, 0);

    /* the training statistics, as a user of another data set would set them */
    char path[4096];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    ssm_idx_read_images(path, &raw, &err);
    ssm_idx_pixel_stats(&raw, &mean, &std);
    ssm_idx_free(&raw);
    ssm_fmnist_options_defaults(&opt);
    opt.mean = mean;
    opt.std = std;

    ssm_status st = ssm_fmnist_load(dir, SSM_FMNIST_TRAIN, &opt, &tr, &err);
    CHECK(st == SSM_OK && tr.n == FAKE_TRAIN && tr.length == FAKE_LEN && tr.n_classes == 10,
          "synthetic train: %zu x %zu (%s)", tr.n, tr.length, st ? err.message : "ok");
    if (st)
        return;
    int exact = 1;
    for (size_t i = 0; i < tr.n; ++i) {
        exact &= tr.label[i] == fake_lab[i] && tr.index[i] == i;
        for (size_t t = 0; t < FAKE_LEN; ++t)
            exact &= tr.x[i * FAKE_LEN + t] == (float)((fake_px[i * FAKE_LEN + t] / 255.0 - mean) / std);
    }
    CHECK(exact, "row order: x = (pixel / 255 - mean) / std, labels and indices in file order");
    double m, s;
    moments(tr.x, tr.n * tr.length, &m, &s);
    CHECK(fabs(m) < 1e-6 && fabs(s - 1) < 1e-6, "train set normalized by its own statistics: mean %.2g, std %.8f",
          m, s);

    st = ssm_fmnist_load(dir, SSM_FMNIST_TEST, &opt, &te, &err);
    CHECK(st == SSM_OK && te.n == FAKE_TEST && te.length == FAKE_LEN &&
          memcmp(te.x, tr.x, FAKE_TEST * FAKE_LEN * sizeof *te.x) == 0,
          "uncompressed t10k files (the first 50 training images) read with the train statistics (%s)",
          st ? err.message : "ok");

    /* the permuted order is one fixed permutation for every split */
    uint32_t perm[FAKE_LEN];
    opt.order = SSM_PIXELS_PERMUTED;
    opt.perm_seed = 11;
    ssm_fmnist_permutation(FAKE_LEN, 11, perm, &err);
    st = ssm_fmnist_load(dir, SSM_FMNIST_TRAIN, &opt, &tp, &err);
    if (st == SSM_OK)
        st = ssm_fmnist_load(dir, SSM_FMNIST_TEST, &opt, &tep, &err);
    CHECK(st == SSM_OK, "permuted loads (%s)", st ? err.message : "ok");
    if (st == SSM_OK) {
        int same = 1;
        for (size_t i = 0; i < tr.n; ++i)
            for (size_t t = 0; t < FAKE_LEN; ++t)
                same &= tp.x[i * FAKE_LEN + t] == tr.x[i * FAKE_LEN + perm[t]];
        for (size_t i = 0; i < te.n; ++i)
            for (size_t t = 0; t < FAKE_LEN; ++t)
                same &= tep.x[i * FAKE_LEN + t] == te.x[i * FAKE_LEN + perm[t]];
        CHECK(same, "permuted: x[t] = row-major x[perm[t]], the same perm for train and test");
        ssm_seqdata_free(&tp);
        ssm_seqdata_free(&tep);
    }
    opt.order = SSM_PIXELS_ROW;

    /* validation split: disjoint, covering, reproducible */
    opt.n_val = 37;
    opt.split_seed = 5;
    uint8_t owner[FAKE_TRAIN] = {0};
    int ok = 1;
    for (int rep = 0; rep < 2; ++rep) {
        st = ssm_fmnist_load(dir, SSM_FMNIST_TRAIN, &opt, &tp, &err);
        if (st == SSM_OK)
            st = ssm_fmnist_load(dir, SSM_FMNIST_VAL, &opt, &tv, &err);
        if (st) {
            CHECK(0, "split loads: %s", err.message);
            return;
        }
        ok &= tp.n == FAKE_TRAIN - 37 && tv.n == 37;
        for (size_t k = 0; k < tp.n; ++k) {
            ok &= rep ? owner[tp.index[k]] == 1 : owner[tp.index[k]] == 0;
            owner[tp.index[k]] = 1;
            ok &= memcmp(tp.x + k * FAKE_LEN, tr.x + tp.index[k] * FAKE_LEN, FAKE_LEN * sizeof(float)) == 0 &&
                  tp.label[k] == fake_lab[tp.index[k]];
        }
        for (size_t k = 0; k < tv.n; ++k) {
            ok &= rep ? owner[tv.index[k]] == 2 : owner[tv.index[k]] == 0;
            owner[tv.index[k]] = 2;
            ok &= tv.label[k] == fake_lab[tv.index[k]] && (k == 0 || tv.index[k] > tv.index[k - 1]);
        }
        ssm_seqdata_free(&tp);
        ssm_seqdata_free(&tv);
    }
    size_t covered = 0;
    for (size_t i = 0; i < FAKE_TRAIN; ++i)
        covered += owner[i] != 0;
    CHECK(ok && covered == FAKE_TRAIN,
          "train (163) and val (37) are disjoint, cover the 200 examples, in file order, the same on reload");
    opt.split_seed = 6;
    st = ssm_fmnist_load(dir, SSM_FMNIST_VAL, &opt, &tv, &err);
    int differs = 0;
    for (size_t k = 0; st == SSM_OK && k < tv.n; ++k)
        differs |= owner[tv.index[k]] != 2;
    CHECK(st == SSM_OK && differs, "another split seed draws another validation set");
    ssm_seqdata_free(&tv);

    /* subset: the first k of the split, in file order */
    opt.subset = 0;
    st = ssm_fmnist_load(dir, SSM_FMNIST_TRAIN, &opt, &tp, &err);
    opt.subset = 10;
    if (st == SSM_OK)
        st = ssm_fmnist_load(dir, SSM_FMNIST_TRAIN, &opt, &sub, &err);
    CHECK(st == SSM_OK && sub.n == 10 && memcmp(sub.index, tp.index, 10 * sizeof *sub.index) == 0 &&
          memcmp(sub.x, tp.x, 10 * FAKE_LEN * sizeof *sub.x) == 0,
          "subset 10: the first 10 examples of the training split");
    ssm_seqdata_free(&tp);
    ssm_seqdata_free(&sub);
    opt.subset = 1000;
    st = ssm_fmnist_load(dir, SSM_FMNIST_TEST, &opt, &sub, &err);
    CHECK(st == SSM_OK && sub.n == FAKE_TEST, "a subset larger than the split keeps all of it");
    ssm_seqdata_free(&sub);
    opt.subset = 0;

    opt.n_val = FAKE_TRAIN;
    st = ssm_fmnist_load(dir, SSM_FMNIST_TRAIN, &opt, &sub, &err);
    expect_fail("n_val = all examples", st, &err, SSM_EINVAL, "train-images", "n_val = 200", NULL);
    opt.n_val = 0;
    st = ssm_fmnist_load(dir, SSM_FMNIST_VAL, &opt, &sub, &err);
    expect_fail("validation split with n_val 0", st, &err, SSM_EINVAL, NULL, "n_val = 0", NULL);
    opt.std = 0;
    st = ssm_fmnist_load(dir, SSM_FMNIST_TRAIN, &opt, &sub, &err);
    expect_fail("std 0", st, &err, SSM_EINVAL, NULL, "std > 0", NULL);
    CHECK(sub.x == NULL && sub.n == 0, "a failed load leaves the output empty");

    ssm_seqdata_free(&tr);
    ssm_seqdata_free(&te);
}

/* The case: 28x28 training images, 14x14 test images.  Loaded
 * alone each is fine; together they are refused naming both files. */
static void shapes(void)
{
    enum { N_IMG = 20 };
    static uint8_t px[N_IMG * 28 * 28], lab[N_IMG];
    char path[4096];
    const char *dir = tmp("shapes");
    ssm_seqdata tr, te;
    ssm_error err;
    mkdir(dir, 0700);
    fill_bytes(px, sizeof px, 9);
    for (size_t i = 0; i < N_IMG; ++i)
        lab[i] = (uint8_t)(i % 10);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    write_images(path, 1, N_IMG, 28, 28, px);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
    write_labels(path, 1, N_IMG, lab);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
    write_images(path, 1, N_IMG, 14, 14, px);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", dir);
    write_labels(path, 1, N_IMG, lab);
    ssm_status st = ssm_fmnist_load(dir, SSM_FMNIST_TRAIN, NULL, &tr, &err);
    if (st == SSM_OK)
        st = ssm_fmnist_load(dir, SSM_FMNIST_TEST, NULL, &te, &err);
    CHECK(st == SSM_OK && tr.rows == 28 && tr.cols == 28 && tr.length == 784 && te.rows == 14 && te.length == 196 &&
              strstr(tr.images, "train-images-idx3-ubyte.gz") && strstr(te.images, "t10k-images-idx3-ubyte.gz"),
          "each file loads, with its shape and name (%s)", st ? err.message : "ok");
    if (st)
        return;
    st = ssm_seqdata_check_shapes(&tr, &te, SSM_FMNIST_ROWS, SSM_FMNIST_COLS, &err);
    expect_fail("28x28 train with 14x14 test", st, &err, SSM_EIO, tr.images, te.images,
                "holds 28x28 images, ");
    CHECK(strstr(err.message, " 14x14") != NULL, "... and the message gives both shapes");
    CHECK(ssm_seqdata_check_shapes(&tr, &tr, SSM_FMNIST_ROWS, SSM_FMNIST_COLS, &err) == SSM_OK,
          "28x28 with 28x28 passes");
    st = ssm_seqdata_check_shapes(&te, &te, SSM_FMNIST_ROWS, SSM_FMNIST_COLS, &err);
    expect_fail("14x14 train and test (not Fashion-MNIST's shape)", st, &err, SSM_EIO, te.images, "expected 28x28",
                NULL);
    ssm_seqdata_free(&tr);
    ssm_seqdata_free(&te);
}

static void loader_errors(void)
{
    ssm_seqdata d;
    ssm_error err;
    const char *missing = tmp("no-such-dir");
    ssm_status st = ssm_fmnist_load(missing, SSM_FMNIST_TRAIN, NULL, &d, &err);
    expect_fail("a missing directory", st, &err, SSM_EIO, missing, "fashion-mnist not found in",
                "(install the Debian package dataset-fashion-mnist)");

    const char *half = tmp("half");
    char path[4096];
    mkdir(half, 0700);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", half);
    write_images(path, 1, 1, 1, 1, (const uint8_t *)"x");
    st = ssm_fmnist_load(half, SSM_FMNIST_TEST, NULL, &d, &err);
    expect_fail("a missing labels file", st, &err, SSM_EIO, "dataset-fashion-mnist", "t10k-labels-idx1-ubyte.gz",
                half);

    const char *mism = tmp("mismatch");
    make_fake(mism, 1);
    st = ssm_fmnist_load(mism, SSM_FMNIST_TRAIN, NULL, &d, &err);
    expect_fail("image and label counts differ", st, &err, SSM_EIO, "train-images-idx3-ubyte.gz has 200 images",
                "train-labels-idx1-ubyte.gz has 199 labels", NULL);

    /* a corrupt file surfaces through the loader with its own message */
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", mism);
    const uint8_t bad[3] = {1, 12, 0};
    write_labels(path, 1, 3, bad);
    st = ssm_fmnist_load(mism, SSM_FMNIST_TRAIN, NULL, &d, &err);
    expect_fail("label 12 through the loader", st, &err, SSM_EIO, "train-labels-idx1-ubyte.gz", "label 12", NULL);
    shapes();
}

/* ---- the real Fashion-MNIST --------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long long pixel_sum(const ssm_idx *img, size_t i)
{
    long long s = 0;
    for (size_t t = 0; t < img->rows * img->cols; ++t)
        s += img->data[i * img->rows * img->cols + t];
    return s;
}

static int counts_are(const ssm_seqdata *d, size_t each)
{
    size_t count[10] = {0};
    for (size_t i = 0; i < d->n; ++i)
        ++count[d->label[i]];
    for (int c = 0; c < 10; ++c)
        if (count[c] != each)
            return 0;
    return 1;
}

/* Reference values from /usr/bin/python3 (gzip + numpy) on the files of
 * dataset-fashion-mnist, independently of this code:
 *   x = np.frombuffer(gzip.open(f).read(), np.uint8, offset=16).reshape(-1, 784)
 *   x[i].astype(np.int64).sum(), x.astype(np.int64).sum(), x[0, 14*28 + 14]
 *   labels = np.frombuffer(gzip.open(g).read(), np.uint8, offset=8); labels[:10]
 *   (x / 255.0).mean(), (x / 255.0).std() */
static void real_dataset(void)
{
    /* SSM_TEST_FMNIST_DIR elsewhere (e.g. a missing directory) exercises the skip */
    const char *env = getenv("SSM_TEST_FMNIST_DIR");
    const char *dir = env && *env ? env : SSM_FMNIST_DEFAULT_DIR;
    /* NULL asks the loader for its default directory */
    const char *load_dir = strcmp(dir, SSM_FMNIST_DEFAULT_DIR) == 0 ? NULL : dir;
    char path[4096];
    struct stat st_;
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    if (stat(path, &st_) != 0) {
        printf("skip real Fashion-MNIST checks: %s missing (Debian package %s)\n", path, SSM_FMNIST_PACKAGE);
        return;
    }
    ssm_idx img;
    ssm_seqdata tr, te, tv;
    ssm_error err;
    ssm_status st;

    double t0 = now();
    st = ssm_idx_read_images(path, &img, &err);
    double t_raw = now() - t0;
    CHECK(st == SSM_OK && img.n == 60000 && img.rows == 28 && img.cols == 28, "train images: 60000 x 28 x 28 (%s)",
          st ? err.message : "ok");
    if (st)
        return;
    long long total = 0;
    for (size_t i = 0; i < img.n; ++i)
        total += pixel_sum(&img, i);
    CHECK(pixel_sum(&img, 0) == 76247 && pixel_sum(&img, 1) == 84598 && pixel_sum(&img, 59999) == 16684 &&
          img.data[14 * 28 + 14] == 217, "train image 0, 1, 59999 pixel sums and image 0 centre pixel as numpy");
    CHECK(total == 3431114169LL, "train pixel total %lld == 3431114169", total);
    double mean, std;
    ssm_idx_pixel_stats(&img, &mean, &std);
    CHECK_REL(mean, SSM_FMNIST_MEAN, 1e-14, "SSM_FMNIST_MEAN is the train mean of pixel / 255");
    CHECK_REL(std, SSM_FMNIST_STD, 1e-14, "SSM_FMNIST_STD is the train std of pixel / 255");
    ssm_idx_free(&img);

    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
    st = ssm_idx_read_images(path, &img, &err);
    CHECK(st == SSM_OK && img.n == 10000 && pixel_sum(&img, 0) == 33456 && pixel_sum(&img, 9999) == 24390,
          "test images: 10000, image 0 and 9999 pixel sums as numpy (%s)", st ? err.message : "ok");
    ssm_idx_free(&img);

    t0 = now();
    st = ssm_fmnist_load(load_dir, SSM_FMNIST_TRAIN, NULL, &tr, &err);
    double t_load = now() - t0;
    printf("load time: train images read %.3f s; full train load (read + normalize to float) %.3f s\n", t_raw,
           t_load);
    CHECK(st == SSM_OK && tr.n == 60000 && tr.length == 784, "train split: 60000 x 784 (%s)",
          st ? err.message : "ok");
    if (st)
        return;
    static const uint8_t first_train[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
    static const uint8_t first_test[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
    CHECK(memcmp(tr.label, first_train, 10) == 0, "the first 10 train labels as numpy");
    CHECK(counts_are(&tr, 6000), "train: 6000 examples per class");
    CHECK(tr.x[14 * 28 + 14] == (float)((217 / 255.0 - SSM_FMNIST_MEAN) / SSM_FMNIST_STD),
          "image 0 centre pixel normalized");
    double m, s;
    moments(tr.x, tr.n * tr.length, &m, &s);
    CHECK(fabs(m) < 1e-6 && fabs(s - 1) < 1e-6, "normalized train set: mean %.2g, std %.8f", m, s);

    st = ssm_fmnist_load(load_dir, SSM_FMNIST_TEST, NULL, &te, &err);
    CHECK(st == SSM_OK && te.n == 10000 && te.length == 784, "test split: 10000 x 784 (%s)",
          st ? err.message : "ok");
    if (st == SSM_OK) {
        CHECK(memcmp(te.label, first_test, 10) == 0, "the first 10 test labels as numpy");
        CHECK(counts_are(&te, 1000), "test: 1000 examples per class");
        /* numpy: test pixels / 255 have mean 0.2868492807122849, std 0.35244415324744005 */
        moments(te.x, te.n * te.length, &m, &s);
        CHECK_ABS(m, (0.2868492807122849 - SSM_FMNIST_MEAN) / SSM_FMNIST_STD, 1e-6,
                  "test set standardized with the TRAIN statistics (mean)");
        CHECK_ABS(s, 0.35244415324744005 / SSM_FMNIST_STD, 1e-6,
                  "test set standardized with the TRAIN statistics (std)");

        ssm_fmnist_options opt;
        ssm_seqdata tp;
        uint32_t perm[784];
        ssm_fmnist_options_defaults(&opt);
        opt.order = SSM_PIXELS_PERMUTED;
        opt.perm_seed = 3;
        ssm_fmnist_permutation(784, 3, perm, &err);
        st = ssm_fmnist_load(load_dir, SSM_FMNIST_TEST, &opt, &tp, &err);
        int same = st == SSM_OK;
        for (size_t i = 0; same && i < te.n; ++i)
            for (size_t t = 0; t < 784; ++t)
                same &= tp.x[i * 784 + t] == te.x[i * 784 + perm[t]];
        CHECK(same, "permuted test set = row-major test set through perm");
        ssm_seqdata_free(&tp);
    }
    ssm_seqdata_free(&te);

    ssm_fmnist_options opt;
    ssm_fmnist_options_defaults(&opt);
    opt.n_val = 6000;
    opt.split_seed = 1;
    ssm_seqdata_free(&tr);
    st = ssm_fmnist_load(load_dir, SSM_FMNIST_TRAIN, &opt, &tr, &err);
    if (st == SSM_OK)
        st = ssm_fmnist_load(load_dir, SSM_FMNIST_VAL, &opt, &tv, &err);
    CHECK(st == SSM_OK && tr.n == 54000 && tv.n == 6000 && counts_are(&tr, 5400) && counts_are(&tv, 600),
          "n_val 6000: stratified, 5400 train and 600 validation examples per class");
    ssm_seqdata_free(&tr);
    ssm_seqdata_free(&tv);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 99;
    }
    roundtrip();
    corrupt_headers();
    corrupt_data(40);
    corrupt_data(400);
    corrupt_labels_and_paths();
    permutations();
    split();
    loader_synthetic();
    loader_errors();
    real_dataset();
    int rc = test_summary("test_idx");
    /* keep the files of a failed run for inspection */
    if (rc == EXIT_SUCCESS) {
        if (nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
            fprintf(stderr, "could not remove %s: %s\n", tmpdir, strerror(errno));
    } else {
        fprintf(stderr, "files kept in %s\n", tmpdir);
    }
    return rc;
}

/* IDX mutation fuzzer: mutated IDX files (plain and gzip, images and
 * labels; tests/fuzz/corpus/idx) through ssm_idx_read_images and
 * ssm_idx_read_labels, and one case in four through the Fashion-MNIST
 * loader as the training images of a data directory (then the shape check
 * of the sfmnist kind).  Allowed: SSM_OK with a consistent result (sizes
 * within SSM_IDX_MAX_BYTES, labels below 10, sequences of rows x cols), or
 * SSM_EIO / SSM_EINVAL / SSM_ENOMEM with one line. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "ssm/idx.h"

typedef struct {
    char file[4200], dir[4096], train_images[4200];
} idx_ctx;

static int refused_properly(const char *what, ssm_status st, const ssm_error *err)
{
    if ((st == SSM_EIO || st == SSM_EINVAL || st == SSM_ENOMEM) && fuzz_one_line(err->message))
        return 1;
    fuzz_fail("%s: status %d, message [%s]\n", what, (int)st, err->message);
    return 0;
}

static int read_both(const char *path)
{
    ssm_idx img, lab;
    ssm_error err;
    err.message[0] = '\0';
    ssm_status st = ssm_idx_read_images(path, &img, &err);
    if (st == SSM_OK) {
        const int ok = img.data && img.n && img.rows && img.cols &&
                       (uint64_t)img.n * img.rows * img.cols <= SSM_IDX_MAX_BYTES;
        ssm_idx_free(&img);
        fuzz_tally("images read");
        if (!ok) {
            fuzz_fail("images read with sizes %zu x %zu x %zu\n", img.n, img.rows, img.cols);
            return -1;
        }
    } else if (!refused_properly("images", st, &err)) {
        return -1;
    }
    err.message[0] = '\0';
    st = ssm_idx_read_labels(path, SSM_FMNIST_CLASSES, &lab, &err);
    if (st == SSM_OK) {
        int ok = lab.data && lab.n && lab.rows == 1 && lab.cols == 1;
        for (size_t i = 0; ok && i < lab.n; ++i)
            ok = lab.data[i] < SSM_FMNIST_CLASSES;
        ssm_idx_free(&lab);
        fuzz_tally("labels read");
        if (!ok) {
            fuzz_fail("labels read with a label >= 10 or sizes %zu x %zu x %zu\n", lab.n, lab.rows, lab.cols);
            return -1;
        }
        return 0;
    }
    fuzz_tally("refused");
    return refused_properly("labels", st, &err) ? 0 : -1;
}

static int load(const idx_ctx *c, ssm_rng *rng)
{
    ssm_fmnist_options o;
    ssm_seqdata train, test;
    ssm_error err;
    ssm_fmnist_options_defaults(&o);
    o.n_val = ssm_rng_u64(rng) % 3;
    o.subset = ssm_rng_u64(rng) % 3;
    o.order = ssm_rng_u64(rng) % 2 ? SSM_PIXELS_PERMUTED : SSM_PIXELS_ROW;
    err.message[0] = '\0';
    ssm_status st = ssm_fmnist_load(c->dir, SSM_FMNIST_TRAIN, &o, &train, &err);
    if (st != SSM_OK) {
        if (getenv("SSM_FUZZ_VERBOSE"))
            fprintf(stderr, "%s\n", err.message);
        fuzz_tally("load refused");
        return refused_properly("load", st, &err) ? 0 : -1;
    }
    const int ok = train.x && train.n && train.length == train.rows * train.cols;
    st = ssm_fmnist_load(c->dir, SSM_FMNIST_TEST, &o, &test, &err);
    if (st == SSM_OK) {
        st = ssm_seqdata_check_shapes(&train, &test, SSM_FMNIST_ROWS, SSM_FMNIST_COLS, &err);
        fuzz_tally(st ? "loaded, shapes refused" : "loaded");
        ssm_seqdata_free(&test);
        if (st && !refused_properly("shapes", st, &err))
            return -1;
    }
    ssm_seqdata_free(&train);
    if (!ok)
        fuzz_fail("loaded %zu sequences of length %zu from %zu x %zu images\n", train.n, train.length, train.rows,
                  train.cols);
    return ok ? 0 : -1;
}

static int run(void *vctx, const unsigned char *data, size_t len, ssm_rng *rng)
{
    idx_ctx *c = vctx;
    const int as_dataset = ssm_rng_u64(rng) % 4 == 0;
    const char *path = as_dataset ? c->train_images : c->file;
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
        fuzz_fail("cannot write %s\n", path);
        return -1;
    }
    return as_dataset ? load(c, rng) : read_both(path);
}

static void copy_seed(const char *from, const char *dir, const char *to)
{
    char src[4200], dst[4200];
    fuzz_corpus one = {0};
    snprintf(src, sizeof src, "%s/%s", fuzz_corpus_dir("idx"), from);
    snprintf(dst, sizeof dst, "%s/%s", dir, to);
    FILE *fp = fuzz_corpus_add_file(&one, src) == 0 ? fopen(dst, "wb") : NULL;
    if (!fp || fwrite(one.items[0].data, 1, one.items[0].len, fp) != one.items[0].len || fclose(fp) != 0) {
        fprintf(stderr, "cannot copy %s to %s\n", src, dst);
        exit(99);
    }
    fuzz_corpus_free(&one);
}

int main(void)
{
    idx_ctx ctx;
    fuzz_corpus c = {0};
    fuzz_corpus_add_dir(&c, fuzz_corpus_dir("idx"));
    snprintf(ctx.file, sizeof ctx.file, "%s/fuzz.idx", fuzz_scratch());
    snprintf(ctx.dir, sizeof ctx.dir, "%s/data", fuzz_scratch());
    snprintf(ctx.train_images, sizeof ctx.train_images, "%s/train-images-idx3-ubyte", ctx.dir);
    mkdir(ctx.dir, 0700);
    copy_seed("labels-2.idx.gz", ctx.dir, "train-labels-idx1-ubyte");
    copy_seed("images-2x28x28.idx.gz", ctx.dir, "t10k-images-idx3-ubyte");
    copy_seed("labels-2.idx.gz", ctx.dir, "t10k-labels-idx1-ubyte");
    const fuzz_target t = {"fuzz_idx", 0, run, &ctx, 12, 0};
    int rc = fuzz_main(&t, &c);
    fuzz_corpus_free(&c);
    return rc;
}

/* Checkpoint mutation fuzzer: checkpoints of the sfmnist kind written by
 * sw_checkpoint_write (three sizes, at test time) and the committed ones
 * of tests/fuzz/corpus/checkpoint, mutated, through sw_checkpoint_read.
 * What the reader is told to expect comes, three cases in four, from the
 * mutated header itself (so a mutated size is taken at its word and only
 * the file size, the CRC and the numbering can stop it), else from the
 * seed.  Allowed: SSM_OK with a checkpoint that has the expected sizes and
 * epochs numbered 1.., or SSM_EIO / SSM_ENOMEM with one line; never an
 * allocation sized by the header before the file size confirmed it (the
 * fuzzer's memory cap would turn it into a failure). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "experiments/checkpoint.h"

typedef struct {
    char path[4200];
} ckpt_ctx;

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; ++k)
        v |= (uint64_t)p[k] << (8 * k);
    return v;
}

static int run(void *vctx, const unsigned char *data, size_t len, ssm_rng *rng)
{
    ckpt_ctx *c = vctx;
    FILE *fp = fopen(c->path, "wb");
    if (!fp || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
        fuzz_fail("cannot write %s\n", c->path);
        return -1;
    }
    static const size_t max_epochs[] = {0, 3, 10, 1000000, SIZE_MAX};
    sw_checkpoint_expect want = {UINT64_C(0x5eed), 37, max_epochs[ssm_rng_u64(rng) % 5]};
    if (len >= SW_CHECKPOINT_HEADER_BYTES && ssm_rng_u64(rng) % 4) {
        want.key = le64(data + 8);
        want.n_params = (size_t)le64(data + 16);
    }
    sw_checkpoint ck;
    int found = -1;
    ssm_error err;
    err.message[0] = '\0';
    ssm_status st = sw_checkpoint_read(c->path, &want, &ck, &found, &err);
    if (st == SSM_OK && found) {
        int ok = ck.n_params == want.n_params && ck.n_epochs <= want.max_epochs && ck.theta && ck.epochs &&
                 ck.mom == ck.theta + ck.n_params && ck.vel == ck.theta + 2 * ck.n_params;
        for (size_t e = 0; ok && e < ck.n_epochs; ++e)
            ok = ck.epochs[e].epoch == e + 1;
        sw_checkpoint_free(&ck);
        fuzz_tally("read");
        if (!ok)
            fuzz_fail("a checkpoint of %zu parameters and %zu epochs read, expected %zu and at most %zu\n",
                      ck.n_params, ck.n_epochs, want.n_params, want.max_epochs);
        return ok ? 0 : -1;
    }
    if (st == SSM_OK || (st != SSM_EIO && st != SSM_ENOMEM) || found || !fuzz_one_line(err.message)) {
        fuzz_fail("status %d, found %d, message [%s]\n", (int)st, found, err.message);
        return -1;
    }
    fuzz_tally("refused");
    return 0;
}

/* A checkpoint of n parameters and e epochs, as the sfmnist kind writes one. */
static void seed(fuzz_corpus *c, const char *path, size_t n, size_t e)
{
    double *theta = calloc(3 * n + 1, sizeof *theta);
    ssm_deep_epoch *epochs = calloc(e + 1, sizeof *epochs);
    ssm_error err;
    if (!theta || !epochs)
        exit(99);
    for (size_t k = 0; k < 3 * n; ++k)
        theta[k] = k % 7 ? 1.0 / (double)(k + 1) : -0.0;
    for (size_t k = 0; k < e; ++k)
        epochs[k] = (ssm_deep_epoch){k + 1, 2.3 / (double)(k + 1), 0.1 * (double)k, 2.2, 0.3, 40.5};
    const sw_checkpoint_data d = {UINT64_C(0x5eed), n, theta, theta + n, theta + 2 * n, 1000 * e, epochs, e};
    if (sw_checkpoint_write(path, &d, &err) || fuzz_corpus_add_file(c, path)) {
        fprintf(stderr, "seed checkpoint: %s\n", err.message);
        exit(99);
    }
    free(theta);
    free(epochs);
}

int main(void)
{
    ckpt_ctx ctx;
    fuzz_corpus c = {0};
    snprintf(ctx.path, sizeof ctx.path, "%s/fuzz.ckpt", fuzz_scratch());
    seed(&c, ctx.path, 37, 3);
    seed(&c, ctx.path, 5, 0);
    seed(&c, ctx.path, 200, 10);
    fuzz_corpus_add_dir(&c, fuzz_corpus_dir("checkpoint"));
    const fuzz_target t = {"fuzz_checkpoint", 0, run, &ctx, 8, 0};
    int rc = fuzz_main(&t, &c);
    fuzz_corpus_free(&c);
    return rc;
}

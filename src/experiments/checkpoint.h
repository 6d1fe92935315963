/* Checkpoints of a long task (the sfmnist kind): the model's parameters,
 * the AdamW state and the epoch records, so that a killed run continues
 * from its last finished epoch bit for bit.
 *
 * File format (all integers unsigned little endian, all reals IEEE-754
 * binary64 little endian; on x86-64 and aarch64 the bytes of the structs
 * themselves, which is what the first version wrote):
 *
 *   offset            bytes        field
 *   0                 8            magic "SSMCKPT1"
 *   8                 8            key: identifies the run (task seed and hash)
 *   16                8            n: number of parameters
 *   24                8            optimizer step
 *   32                8            e: number of epoch records
 *   40                8 n          parameters
 *   40 + 8 n          8 n          AdamW first moments
 *   40 + 16 n         8 n          AdamW second moments
 *   40 + 24 n         48 e         epoch records: epoch (integer, 1-based),
 *                                  train loss, train accuracy, validation
 *                                  loss, validation accuracy, seconds
 *   40 + 24 n + 48 e  4            CRC-32 (zlib's) of every byte before it
 *
 * A writer writes PATH.tmp, syncs it and renames it over PATH, so a kill
 * at any moment leaves the previous checkpoint or the new one.  The
 * reader trusts nothing it has not checked: the header against what the
 * run expects (key, parameter count, at most the run's epochs), the file
 * size against the size the header implies, all before allocating, then
 * the CRC and the epoch numbering.  Any mismatch is one line naming the
 * file and what is wrong; the task then starts over. */
#ifndef SW_CHECKPOINT_H
#define SW_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "ssm/deep.h"
#include "ssm/error.h"

#define SW_CHECKPOINT_MAGIC "SSMCKPT1"
#define SW_CHECKPOINT_HEADER_BYTES 40
#define SW_CHECKPOINT_EPOCH_BYTES 48

/* What a run writes. */
typedef struct {
    uint64_t key;
    size_t n_params;
    const double *theta, *mom, *vel;   /* n_params each */
    uint64_t step;
    const ssm_deep_epoch *epochs;
    size_t n_epochs;
} sw_checkpoint_data;

/* What a run accepts. */
typedef struct {
    uint64_t key;
    size_t n_params;
    size_t max_epochs;
} sw_checkpoint_expect;

/* What the reader returns: theta, mom and vel share one allocation. */
typedef struct {
    uint64_t step;
    size_t n_params, n_epochs;
    double *theta, *mom, *vel;
    ssm_deep_epoch *epochs;
} sw_checkpoint;

/* Bytes of a checkpoint of n parameters and e epochs (0 if that size does
 * not fit a size_t). */
size_t sw_checkpoint_size(size_t n_params, size_t n_epochs);

/* Writes path atomically (PATH.tmp, fsync, rename); SSM_EIO with the path
 * and the reason, the temporary file removed. */
ssm_status sw_checkpoint_write(const char *path, const sw_checkpoint_data *c, ssm_error *err);

/* Reads path into *out if it is a complete checkpoint of the run `want`
 * describes.  No file: SSM_OK, *found 0.  Anything else wrong (a foreign
 * or damaged file, another run's, truncated, bad CRC): SSM_EIO with one
 * line, *found 0, out zeroed.  SSM_ENOMEM if the checked sizes cannot be
 * allocated. */
ssm_status sw_checkpoint_read(const char *path, const sw_checkpoint_expect *want, sw_checkpoint *out, int *found,
                              ssm_error *err);

void sw_checkpoint_free(sw_checkpoint *c);

#endif

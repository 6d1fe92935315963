/* IDX files (the MNIST format) and the Fashion-MNIST sequence data set.
 *
 * An IDX file is a 4-byte magic 0x0000TTDD (TT the element type, DD the
 * number of dimensions), DD big-endian uint32 sizes, then the elements in
 * row-major order.  Only unsigned bytes (TT = 0x08) are read: 3-D images
 * (magic 0x00000803) and 1-D labels (0x00000801).  Files go through zlib,
 * so gzip-compressed and plain files are read alike.
 *
 * Fashion-MNIST (Xiao, Rasul and Vollgraf 2017) as a sequence task: each
 * 28 x 28 image becomes a sequence of 784 scalar pixels, in row-major order
 * ("sequential MNIST") or in a fixed random order ("permuted"), to be
 * classified into 10 classes after the last step. */
#ifndef SSM_IDX_H
#define SSM_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* ---- IDX files ------------------------------------------------------------ */

/* Refuse files whose data would exceed this many bytes (1 GiB): a corrupt
 * header must not make us allocate terabytes.  Fashion-MNIST's training
 * images take 47 MB. */
#define SSM_IDX_MAX_BYTES ((uint64_t)1 << 30)

typedef struct {
    size_t n;           /* items: the first dimension */
    size_t rows, cols;  /* images: the size of one item; labels: 1 x 1 */
    uint8_t *data;      /* n * rows * cols bytes, row-major */
} ssm_idx;

/* Reads a 3-D unsigned-byte IDX file (magic 0x00000803).  Every failure is
 * SSM_EIO (SSM_ENOMEM for allocation) with one line naming path and the
 * problem: unreadable file, wrong magic/type/dimensions, a zero or
 * oversized dimension, truncated data or gzip stream, gzip CRC or length
 * mismatch, bytes after the data the header announces. */
ssm_status ssm_idx_read_images(const char *path, ssm_idx *out, ssm_error *err);

/* Reads a 1-D unsigned-byte IDX file (magic 0x00000801), with the checks
 * above; if n_classes > 0, a label outside 0..n_classes-1 is an error too. */
ssm_status ssm_idx_read_labels(const char *path, unsigned n_classes, ssm_idx *out, ssm_error *err);

void ssm_idx_free(ssm_idx *idx);

/* Mean and standard deviation (population, 1/N) of all values of idx
 * divided by 255, from an integer histogram (independent of the order). */
void ssm_idx_pixel_stats(const ssm_idx *idx, double *mean, double *std);

/* ---- random orders --------------------------------------------------------- */

/* perm[0..n) = a uniformly random permutation of 0..n-1 (Fisher-Yates with
 * unbiased draws), a pure function of (seed, stream). */
ssm_status ssm_random_permutation(size_t n, uint64_t seed, uint64_t stream, uint32_t *perm,
                                  ssm_error *err);

/* A stratified random split: is_val[i] = 1 for exactly n_val of the n
 * examples, and every class c gets its share n_val * count_c / n (rounded by
 * largest remainder, ties to the smaller class).  A pure function of
 * (label, n, n_classes, n_val, seed).  Labels must be < n_classes. */
ssm_status ssm_stratified_split(const uint8_t *label, size_t n, unsigned n_classes, size_t n_val,
                                uint64_t seed, uint8_t *is_val, ssm_error *err);

/* ---- Fashion-MNIST as sequences ---------------------------------------------- */

#define SSM_FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define SSM_FMNIST_PACKAGE "dataset-fashion-mnist"
#define SSM_FMNIST_CLASSES 10
#define SSM_FMNIST_TRAIN_SIZE 60000

/* Mean and standard deviation (1/N) of the pixels / 255 of all 60000
 * training images: numpy float64 over train-images-idx3-ubyte.gz gives
 * 0.28604059698879553 and 0.35302424451492237 (the raw pixel sum is
 * 3431114169 over 47040000 pixels); tests/test_idx.c recomputes both from
 * the file when it is installed.  The test set (mean 0.28685, std 0.35244)
 * is standardized with these training values, never its own.  They include
 * the examples a validation split holds out, as the published constants
 * do: holding out 6000 random examples moves the mean by ~1e-4, a fifth of
 * its standard error over images (5e-4). */
#define SSM_FMNIST_MEAN 0.28604059698879553
#define SSM_FMNIST_STD 0.35302424451492237

typedef enum {
    SSM_FMNIST_TRAIN,  /* the training file minus the validation examples */
    SSM_FMNIST_VAL,    /* the n_val validation examples of the training file */
    SSM_FMNIST_TEST    /* the 10000 test images */
} ssm_fmnist_split;

typedef enum {
    SSM_PIXELS_ROW,      /* row-major: t = 28 r + c (sequential MNIST) */
    SSM_PIXELS_PERMUTED  /* x[t] = row-major pixel perm[t], perm fixed by perm_seed */
} ssm_pixel_order;

typedef struct {
    ssm_pixel_order order;
    uint64_t perm_seed;  /* permuted: the same seed gives the same order for every split */
    /* x = (pixel / 255 - mean) / std; mean 0, std 1 keeps pixel / 255 */
    double mean, std;
    /* Validation examples drawn from the training file by
     * ssm_stratified_split(split_seed): TRAIN and VAL are disjoint and
     * together cover the file.  0: no validation set. */
    size_t n_val;
    uint64_t split_seed;
    /* Keep only the first `subset` examples of the split (0 or more than
     * the split has: all).  The files are shuffled already, so the first k
     * are a fair sample (the first 1000 training examples hold 86 to 115
     * per class), and subsets nest: subset 1000 lies inside subset 2000. */
    size_t subset;
} ssm_fmnist_options;

/* order row, perm_seed 0, mean SSM_FMNIST_MEAN, std SSM_FMNIST_STD,
 * n_val 0, split_seed 0, subset 0. */
void ssm_fmnist_options_defaults(ssm_fmnist_options *opt);

/* The pixel order of SSM_PIXELS_PERMUTED: perm[0..length) from
 * ssm_random_permutation on the loader's own stream. */
ssm_status ssm_fmnist_permutation(size_t length, uint64_t perm_seed, uint32_t *perm, ssm_error *err);

/* Labelled sequences of equal length, examples in file order. */
typedef struct {
    size_t n, length;    /* examples, steps per example */
    size_t rows, cols;   /* the images' shape: length = rows * cols */
    char images[4096];   /* the IDX file the images came from (for messages) */
    unsigned n_classes;
    float *x;            /* n x length, normalized; example i at x + i * length */
    uint8_t *label;      /* n, in 0..n_classes-1 */
    uint32_t *index;     /* n: position of each example in its IDX file */
} ssm_seqdata;

/* Loads one split from dir (NULL: SSM_FMNIST_DEFAULT_DIR), which holds
 * {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (or the same names
 * without .gz).  opt NULL means the defaults.  A missing directory or file
 * gives "fashion-mnist not found in DIR (install the Debian package
 * dataset-fashion-mnist)"; an image/label count mismatch names both files.
 * out is zeroed on failure. */
ssm_status ssm_fmnist_load(const char *dir, ssm_fmnist_split split, const ssm_fmnist_options *opt,
                           ssm_seqdata *out, ssm_error *err);

void ssm_seqdata_free(ssm_seqdata *data);

/* The two files of one Fashion-MNIST part (train or t10k), read and
 * checked as ssm_fmnist_load reads them: a process that loads several
 * splits or subsets can read each file once and select from it. */
typedef struct {
    ssm_idx images, labels;
    char image_path[4096], label_path[4096];
} ssm_fmnist_files;

/* test = 0: train-*, 1: t10k-* in dir (NULL: SSM_FMNIST_DEFAULT_DIR). */
ssm_status ssm_fmnist_read(const char *dir, int test, ssm_fmnist_files *out, ssm_error *err);
/* What ssm_fmnist_load returns, from files read by ssm_fmnist_read (the
 * t10k files for SSM_FMNIST_TEST, train otherwise). */
ssm_status ssm_fmnist_select(const ssm_fmnist_files *files, ssm_fmnist_split split, const ssm_fmnist_options *opt,
                             ssm_seqdata *out, ssm_error *err);
void ssm_fmnist_files_free(ssm_fmnist_files *f);
/* Fashion-MNIST's image shape: sequences of 784 pixels. */
#define SSM_FMNIST_ROWS 28
#define SSM_FMNIST_COLS 28

/* A model trained on `train` reads sequences of its length and nothing
 * else: test (and validation) images must have train's shape, and that
 * must be rows x cols.  SSM_EIO with one line naming both files. */
ssm_status ssm_seqdata_check_shapes(const ssm_seqdata *train, const ssm_seqdata *test, size_t rows, size_t cols,
                                    ssm_error *err);

#endif

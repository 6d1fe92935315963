/* Checkpoints of the sfmnist kind (src/sweep/checkpoint.[ch]): a round
 * trip bit for bit; the bytes on disk are the documented format (and the
 * raw structs the first version wrote, so its checkpoints still resume);
 * the reader refuses, with one line naming the file, every truncation, a
 * flipped byte anywhere, another run's key, other sizes, a bad epoch
 * numbering and files that are not regular -- and allocates nothing
 * before the size checks.  Also the kind's other run setting, its threads
 * per rank (SSMSWEEP_THREADS: 1, 2 or auto, classrun.h). */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "experiments/checkpoint.h"
#include "experiments/classrun.h"
#include "testutil.h"

enum { N = 37, E = 3 };

static double theta[N], mom[N], vel[N];
static ssm_deep_epoch epochs[E];

static sw_checkpoint_data sample(void)
{
    for (int k = 0; k < N; ++k) {
        theta[k] = 1.0 / (k + 1) - 0.3;
        mom[k] = -1e-300 * k;
        vel[k] = k ? 1.0 / 3.0 * k : -0.0;
    }
    for (int e = 0; e < E; ++e)
        epochs[e] = (ssm_deep_epoch){(size_t)e + 1, 2.3 - e, 0.1 * e, 2.1 - e, 0.2 * e, 12.5 + e};
    return (sw_checkpoint_data){UINT64_C(0x1234567890abcdef), N, theta, mom, vel, 4711, epochs, E};
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = malloc(1 << 16);
    *len = fp && buf ? fread(buf, 1, 1 << 16, fp) : 0;
    if (fp)
        fclose(fp);
    return buf;
}

static void spill(const char *path, const unsigned char *bytes, size_t len)
{
    FILE *fp = fopen(path, "wb");
    fwrite(bytes, 1, len, fp);
    fclose(fp);
}

static const sw_checkpoint_expect WANT = {UINT64_C(0x1234567890abcdef), N, 10};

/* The reader's verdict on path: 1 read, 0 refused with one line naming path. */
static int verdict(const char *path, const sw_checkpoint_expect *want, const char *needle, ssm_error *err)
{
    sw_checkpoint c;
    int found = -1;
    ssm_status st = sw_checkpoint_read(path, want, &c, &found, err);
    if (st == SSM_OK && found) {
        sw_checkpoint_free(&c);
        return 1;
    }
    int one_line = strchr(err->message, '\n') == NULL && strstr(err->message, path) != NULL;
    int refused = st == SSM_EIO && !found && c.theta == NULL && c.epochs == NULL && one_line;
    return refused && (!needle || strstr(err->message, needle)) ? 0 : -1;
}

static void round_trip(const char *path)
{
    const sw_checkpoint_data d = sample();
    ssm_error err;
    CHECK(sw_checkpoint_write(path, &d, &err) == SSM_OK, "write");
    struct stat info;
    int stat_ok = stat(path, &info) == 0;
    CHECK(stat_ok && (size_t)info.st_size == sw_checkpoint_size(N, E) &&
              sw_checkpoint_size(N, E) == 40 + 24 * N + 48 * E + 4,
          "size %lld = 40 + 24 n + 48 e + 4", (long long)info.st_size);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0, "no temporary file left");
    sw_checkpoint c;
    int found = 0;
    ssm_status st = sw_checkpoint_read(path, &WANT, &c, &found, &err);
    CHECK(st == SSM_OK && found && c.step == 4711 && c.n_epochs == E && memcmp(c.theta, theta, sizeof theta) == 0 &&
              memcmp(c.mom, mom, sizeof mom) == 0 && memcmp(c.vel, vel, sizeof vel) == 0 &&
              memcmp(c.epochs, epochs, sizeof epochs) == 0,
          "read back bit for bit (-0.0 and subnormals included)");
    sw_checkpoint_free(&c);

    /* the documented bytes, built here field by field */
    unsigned char want[40 + 24 * N + 48 * E + 4], *p = want;
    uint64_t head[4] = {d.key, N, 4711, E};
    memcpy(p, "SSMCKPT1", 8);
    p += 8;
    for (int k = 0; k < 4; ++k, p += 8)
        for (int b = 0; b < 8; ++b)
            p[b] = (unsigned char)(head[k] >> (8 * b));
    const double *arrays[3] = {theta, mom, vel};
    for (int a = 0; a < 3; ++a)
        for (int k = 0; k < N; ++k, p += 8) {
            uint64_t bits;
            memcpy(&bits, &arrays[a][k], 8);
            for (int b = 0; b < 8; ++b)
                p[b] = (unsigned char)(bits >> (8 * b));
        }
    for (int e = 0; e < E; ++e) {
        const double v[5] = {epochs[e].train_loss, epochs[e].train_acc, epochs[e].val_loss, epochs[e].val_acc,
                             epochs[e].seconds};
        uint64_t num = epochs[e].epoch;
        for (int b = 0; b < 8; ++b)
            p[b] = (unsigned char)(num >> (8 * b));
        p += 8;
        for (int k = 0; k < 5; ++k, p += 8) {
            uint64_t bits;
            memcpy(&bits, &v[k], 8);
            for (int b = 0; b < 8; ++b)
                p[b] = (unsigned char)(bits >> (8 * b));
        }
    }
    uint32_t crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), want, (uInt)(p - want));
    for (int b = 0; b < 4; ++b)
        p[b] = (unsigned char)(crc >> (8 * b));
    size_t len;
    unsigned char *got = slurp(path, &len);
    CHECK(len == sizeof want && memcmp(got, want, len) == 0, "the file is the documented format, byte for byte");

    /* the first version wrote the raw structs; on a little-endian host
     * those are the same bytes, so its checkpoints resume */
    const uint16_t one = 1;
    if (*(const unsigned char *)&one == 1 && sizeof(size_t) == 8) {
        struct {
            char magic[8];
            uint64_t key, n_params, step, n_epochs;
        } old = {"SSMCKPT", d.key, N, 4711, E};
        memcpy(old.magic, "SSMCKPT1", 8);
        unsigned char raw[sizeof want];
        size_t off = 0;
        memcpy(raw + off, &old, sizeof old), off += sizeof old;
        memcpy(raw + off, theta, sizeof theta), off += sizeof theta;
        memcpy(raw + off, mom, sizeof mom), off += sizeof mom;
        memcpy(raw + off, vel, sizeof vel), off += sizeof vel;
        memcpy(raw + off, epochs, sizeof epochs), off += sizeof epochs;
        uint32_t c32 = (uint32_t)crc32(crc32(0, Z_NULL, 0), raw, (uInt)off);
        memcpy(raw + off, &c32, 4), off += 4;
        CHECK(off == sizeof want && memcmp(raw, want, off) == 0, "the first version's raw structs are these bytes");
    }
    free(got);
}

static void refusals(const char *path, const char *dir)
{
    ssm_error err;
    size_t len;
    unsigned char *good = slurp(path, &len), *bad = malloc(len + 16);
    char damaged[4200];
    snprintf(damaged, sizeof damaged, "%s/damaged.ckpt", dir);

    int all = 1;
    for (size_t cut = 0; cut < len; ++cut) {
        spill(damaged, good, cut);
        all &= verdict(damaged, &WANT, NULL, &err) == 0;
    }
    CHECK(all, "every truncation (0 .. %zu bytes) refused with one line: e.g. %s", len - 1, err.message);
    memcpy(bad, good, len);
    bad[len] = 0;
    spill(damaged, bad, len + 1);
    CHECK(verdict(damaged, &WANT, "header implies", &err) == 0, "a byte appended: %s", err.message);

    all = 1;
    for (size_t at = 0; at < len; ++at)
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(bad, good, len);
            bad[at] ^= (unsigned char)(1u << bit);
            spill(damaged, bad, len);
            all &= verdict(damaged, &WANT, NULL, &err) == 0;
        }
    CHECK(all, "a flipped bit at any of the %zu offsets refused: e.g. %s", len, err.message);

    sw_checkpoint_expect other = WANT;
    other.key ^= 1;
    CHECK(verdict(path, &other, "written by another run", &err) == 0, "another run's key: %s", err.message);
    other = WANT;
    other.n_params = N + 1;
    CHECK(verdict(path, &other, "holds 37 parameters", &err) == 0, "another model size: %s", err.message);
    other = WANT;
    other.max_epochs = E - 1;
    CHECK(verdict(path, &other, "at most 2 epochs", &err) == 0, "more epochs than the run has: %s", err.message);

    /* a header that announces 2^60 epochs: refused before any allocation */
    memcpy(bad, good, len);
    for (int b = 0; b < 8; ++b)
        bad[32 + b] = (unsigned char)((UINT64_C(1) << 60) >> (8 * b));
    spill(damaged, bad, len);
    other = WANT;
    other.max_epochs = SIZE_MAX;
    CHECK(verdict(damaged, &other, "more than a file can hold", &err) == 0, "2^60 epochs announced: %s", err.message);

    /* a valid CRC over a wrong epoch numbering */
    sw_checkpoint_data d = sample();
    epochs[1].epoch = 7;
    sw_checkpoint_write(damaged, &d, &err);
    CHECK(verdict(damaged, &WANT, "epoch record 2 is numbered 7", &err) == 0, "epoch numbering: %s", err.message);

    CHECK(verdict("/dev/zero", &WANT, "not a regular file", &err) == 0, "/dev/zero: %s", err.message);
    CHECK(verdict(dir, &WANT, "not a regular file", &err) == 0, "a directory: %s", err.message);
    sw_checkpoint c;
    int found = 1;
    unlink(damaged);
    CHECK(sw_checkpoint_read(damaged, &WANT, &c, &found, &err) == SSM_OK && !found, "no file: found 0, no error");
    free(good);
    free(bad);
}

/* SSMSWEEP_THREADS: the settings, and auto's reading of a rank's CPUs
 * (bound: its affinity; unbound: the node's CPUs over its ranks). */
static void thread_settings(void)
{
    CHECK(sw_class_threads(NULL, 8, 8, 1) == 1 && sw_class_threads("1", 8, 8, 1) == 1 &&
              sw_class_threads("2", 1, 1, 4) == 2,
          "threads: unset and 1 give 1, 2 gives 2 whatever the CPUs");
    CHECK(sw_class_threads("4", 8, 8, 1) == 0 && sw_class_threads("", 8, 8, 1) == 0 &&
              sw_class_threads("Auto", 8, 8, 1) == 0 && sw_class_threads("2 ", 8, 8, 1) == 0,
          "threads: 4, empty, Auto and '2 ' are refused (0)");
    CHECK(sw_class_threads("auto", 1, 2, 1) == 1 && sw_class_threads("auto", 2, 128, 64) == 2 &&
              sw_class_threads("auto", 1, 128, 1) == 1,
          "threads auto, bound: the binding decides (1 of 2 CPUs: 1; 2 of 128: 2; 1 of 128: 1)");
    CHECK(sw_class_threads("auto", 2, 2, 1) == 2 && sw_class_threads("auto", 2, 2, 2) == 1 &&
              sw_class_threads("auto", 128, 128, 64) == 2 && sw_class_threads("auto", 128, 128, 65) == 1 &&
              sw_class_threads("auto", 2, 2, 0) == 2 && sw_class_threads("auto", 0, 2, 1) == 2,
          "threads auto, unbound: the node's CPUs over its ranks (2/1: 2; 2/2: 1; 128/64: 2; 128/65: 1; ranks "
          "unknown: taken as 1; affinity unknown: unbound)");
}

int main(void)
{
    thread_settings();
    char dir[] = "/tmp/ssm-test-checkpoint.XXXXXX", path[4200];
    if (!mkdtemp(dir))
        return 99;
    snprintf(path, sizeof path, "%s/run.ckpt", dir);
    round_trip(path);
    refusals(path, dir);
    unlink(path);
    rmdir(dir);
    return test_summary("test_checkpoint");
}

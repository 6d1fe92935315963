/* Philox4x64-10 against numpy's independent implementation, and the
 * properties the sweep relies on: a stream depends only on its key. */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "ssm/rng.h"
#include "testutil.h"

static void known_answers(void)
{
    FILE *fp = fopen(ref_path("philox.csv"), "r");
    CHECK(fp != NULL, "open %s", ref_path("philox.csv"));
    if (!fp)
        return;
    char line[1024];
    int rows = 0;
    while (fgets(line, sizeof line, fp)) {
        uint64_t v[10];
        if (line[0] == '#')
            continue;
        if (sscanf(line, "%" SCNu64 ",%" SCNu64 ",%" SCNu64 ",%" SCNu64 ",%" SCNu64 ",%" SCNu64
                         ",%" SCNu64 ",%" SCNu64 ",%" SCNu64 ",%" SCNu64,
                   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) != 10)
            continue;
        uint64_t out[4];
        ssm_philox4x64(v, v + 4, out);
        CHECK(memcmp(out, v + 6, sizeof out) == 0, "philox block %d equals numpy's", rows);
        ++rows;
    }
    fclose(fp);
    CHECK(rows >= 5, "read %d known-answer rows", rows);
}

static void streams(void)
{
    ssm_rng a, b, c;
    ssm_rng_init(&a, 7, 99, 1);
    ssm_rng_init(&b, 7, 99, 1);
    ssm_rng_init(&c, 7, 99, 2);
    int same = 1, differ = 0;
    for (int i = 0; i < 1000; ++i) {
        uint64_t x = ssm_rng_u64(&a), y = ssm_rng_u64(&b), z = ssm_rng_u64(&c);
        same &= x == y;
        differ += x != z;
    }
    CHECK(same, "same (seed, hash, stream) gives the same sequence");
    CHECK(differ > 990, "another stream gives another sequence (%d of 1000 differ)", differ);

    /* the k-th word is the (k mod 4)-th word of block k/4: random access */
    ssm_rng d;
    ssm_rng_init(&d, 7, 99, 1);
    uint64_t word = 0;
    for (int i = 0; i < 11; ++i)
        word = ssm_rng_u64(&d);
    uint64_t ctr[4] = {2, 1, 0, 0}, key[2] = {7, 99}, out[4];
    ssm_philox4x64(ctr, key, out);
    CHECK(word == out[2], "word 10 of a stream is word 2 of block 2");
}

static void distributions(void)
{
    ssm_rng r;
    ssm_rng_init(&r, 1, 2, 3);
    const int n = 1000000;
    double su = 0, su2 = 0, sn = 0, sn2 = 0, sn4 = 0, umin = 1, umax = 0;
    for (int i = 0; i < n; ++i) {
        double u = ssm_rng_uniform(&r), g = ssm_rng_normal(&r);
        su += u;
        su2 += u * u;
        sn += g;
        sn2 += g * g;
        sn4 += g * g * g * g;
        umin = fmin(umin, u);
        umax = fmax(umax, u);
    }
    /* 6 standard errors: a false alarm has probability ~1e-9 */
    CHECK(umin >= 0 && umax < 1, "uniform stays in [0, 1)");
    CHECK_ABS(su / n, 0.5, 6 * sqrt(1.0 / 12 / n), "uniform mean");
    CHECK_ABS(su2 / n - (su / n) * (su / n), 1.0 / 12, 6 * sqrt(1.0 / 180 / n), "uniform variance");
    CHECK_ABS(sn / n, 0.0, 6 / sqrt(n), "normal mean");
    CHECK_ABS(sn2 / n, 1.0, 6 * sqrt(2.0 / n), "normal variance");
    CHECK_ABS(sn4 / n, 3.0, 6 * sqrt(96.0 / n), "normal fourth moment");
}

int main(void)
{
    known_answers();
    streams();
    distributions();
    return test_summary("test_rng");
}

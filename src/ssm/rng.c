#include "config.h"

#include "rng.h"

#include <math.h>

#define PHILOX_M0 UINT64_C(0xD2E7470EE14C6C93)
#define PHILOX_M1 UINT64_C(0xCA5A826395121157)
#define PHILOX_W0 UINT64_C(0x9E3779B97F4A7C15)
#define PHILOX_W1 UINT64_C(0xBB67AE8584CAA73B)

static inline void mul_hilo(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    unsigned __int128 p = (unsigned __int128)a * b;
    *hi = (uint64_t)(p >> 64);
    *lo = (uint64_t)p;
}

void ssm_philox4x64(const uint64_t counter[4], const uint64_t key[2],
                    uint64_t out[4])
{
    uint64_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint64_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; ++round) {
        uint64_t hi0, lo0, hi1, lo1;
        if (round > 0) {
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        mul_hilo(PHILOX_M0, c0, &hi0, &lo0);
        mul_hilo(PHILOX_M1, c2, &hi1, &lo1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

void ssm_rng_init(ssm_rng *rng, uint64_t master_seed, uint64_t task_hash,
                  uint64_t stream)
{
    rng->key[0] = master_seed;
    rng->key[1] = task_hash;
    rng->counter[0] = 0;
    rng->counter[1] = stream;
    rng->counter[2] = 0;
    rng->counter[3] = 0;
    rng->used = 4;
}

uint64_t ssm_rng_u64(ssm_rng *rng)
{
    if (rng->used == 4) {
        ssm_philox4x64(rng->counter, rng->key, rng->block);
        if (++rng->counter[0] == 0)
            ++rng->counter[2];   /* 2^64 blocks per stream before carrying */
        rng->used = 0;
    }
    return rng->block[rng->used++];
}

double ssm_rng_uniform(ssm_rng *rng)
{
    return (double)(ssm_rng_u64(rng) >> 11) * 0x1.0p-53;
}

double ssm_rng_normal(ssm_rng *rng)
{
    /* (0, 1]: log never sees zero. */
    double u1 = (double)((ssm_rng_u64(rng) >> 11) + 1) * 0x1.0p-53;
    double u2 = ssm_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t ssm_mix64(uint64_t x)
{
    x += PHILOX_W0;
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

void ssm_rng_shuffle(ssm_rng *rng, size_t *a, size_t n)
{
    for (size_t i = n; i > 1; --i) {
        size_t j = (size_t)(ssm_rng_uniform(rng) * (double)i), tmp = a[i - 1];
        a[i - 1] = a[j];
        a[j] = tmp;
    }
}

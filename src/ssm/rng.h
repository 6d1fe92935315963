/* Counter-based random numbers (Philox4x64-10, Salmon et al. SC'11).
 *
 * A stream is fully determined by (master seed, task hash, stream id) and
 * the position in it, so a task's random numbers never depend on which
 * MPI rank runs it, in which order, or after how many restarts.  The
 * generator is a pure function of (counter, key): no hidden global state. */
#ifndef SSM_RNG_H
#define SSM_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t key[2];
    uint64_t counter[4];
    uint64_t block[4];
    unsigned used;        /* words of block already handed out */
} ssm_rng;

/* The raw bijection: out = Philox4x64-10(counter, key). */
void ssm_philox4x64(const uint64_t counter[4], const uint64_t key[2],
                    uint64_t out[4]);

/* key = (master_seed, task_hash); counter = (0, stream, 0, 0). */
void ssm_rng_init(ssm_rng *rng, uint64_t master_seed, uint64_t task_hash,
                  uint64_t stream);

uint64_t ssm_rng_u64(ssm_rng *rng);
/* Uniform on [0, 1) with 53 random bits. */
double ssm_rng_uniform(ssm_rng *rng);
/* Standard normal by Box-Muller (one value per two uniforms, so the
 * sequence does not depend on whether a cached value was consumed). */
double ssm_rng_normal(ssm_rng *rng);

/* Shuffles a[0..n) in place (Fisher-Yates, j = floor(uniform * i)). */
void ssm_rng_shuffle(ssm_rng *rng, size_t *a, size_t n);

/* A strong 64-bit mixer (the SplitMix64 finalizer), for deriving seeds. */
uint64_t ssm_mix64(uint64_t x);

#endif

/* FNV-1a written out again for the tests, so that a change of sw_hash_*
 * (and with it of every task's hash and seed) shows. */
#ifndef SSM_HASHDEF_H
#define SSM_HASHDEF_H

#include <stddef.h>
#include <stdint.h>

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)

static uint64_t fnv1a(const void *data, size_t len, uint64_t h)
{
    for (size_t k = 0; k < len; ++k) {
        h ^= ((const unsigned char *)data)[k];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* x as 8 bytes little endian, as spec hashes take their numbers. */
static uint64_t fnv1a_u64_le(uint64_t x, uint64_t h)
{
    unsigned char b[8];
    for (int k = 0; k < 8; ++k)
        b[k] = (unsigned char)(x >> (8 * k));
    return fnv1a(b, 8, h);
}

#endif

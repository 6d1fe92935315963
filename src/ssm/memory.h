/* Large working arrays: 2 MiB aligned and advised as transparent huge
 * pages where Linux offers them (THP mode "madvise" or "always").
 *
 * Why: on the 2-core VM of this project a 4 KiB page fault costs ~10 us,
 * and a pass that streams through hundreds of MiB on 4 KiB pages takes a
 * TLB miss every 4 KiB whose cost varied run to run by up to 4x (issue 14,
 * tests/bench/bench_deep_pages.sh); in 2 MiB pages both costs vanish.
 * Small requests get ordinary 64-byte aligned memory. */
#ifndef SSM_MEMORY_H
#define SSM_MEMORY_H

#include <stddef.h>

/* NULL when out of memory; the contents are undefined. */
void *ssm_alloc_big(size_t bytes);
/* Frees what ssm_alloc_big returned (NULL is fine). */
void ssm_free_big(void *p);

#endif

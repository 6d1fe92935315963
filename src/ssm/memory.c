#include "config.h"

#include "memory.h"

#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

void *ssm_alloc_big(size_t bytes)
{
    void *p = NULL;
    if (bytes < HUGE_PAGE)
        return posix_memalign(&p, 64, bytes ? bytes : 1) == 0 ? p : NULL;
    /* whole huge pages, so the advice covers the block and nothing else */
    const size_t rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    if (posix_memalign(&p, HUGE_PAGE, rounded) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    /* only a hint: without it the pages are 4 KiB, nothing else changes */
    (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}

void ssm_free_big(void *p)
{
    free(p);
}

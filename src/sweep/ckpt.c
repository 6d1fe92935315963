#include "config.h"

#include "ckpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void sw_checkpoint_path(char *buf, size_t size, const char *dir, uint64_t task_hash)
{
    snprintf(buf, size, "%s/%016llx.ckpt", dir, (unsigned long long)task_hash);
}

void sw_ckpt_pending_add(sw_ckpt_pending *p, uint64_t task_hash)
{
    if (!p->dir)
        return;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        uint64_t *grown = realloc(p->hash, cap * sizeof *grown);
        if (!grown)
            return;
        p->hash = grown;
        p->cap = cap;
    }
    p->hash[p->n++] = task_hash;
}

void sw_ckpt_pending_remove(sw_ckpt_pending *p)
{
    char path[4200];
    /* no directory: no task checkpointed (most kinds never do), nothing to remove */
    if (p->n && access(p->dir, F_OK) != 0)
        p->n = 0;
    for (size_t k = 0; k < p->n; ++k) {
        sw_checkpoint_path(path, sizeof path, p->dir, p->hash[k]);
        unlink(path);   /* most tasks never wrote one */
    }
    p->n = 0;
}

void sw_ckpt_pending_free(sw_ckpt_pending *p)
{
    free(p->hash);
    p->hash = NULL;
    p->n = p->cap = 0;
}

#include "config.h"

#include "ckpt.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "tasks.h"

/* 1 and the hash if name is a checkpoint's (16 hex digits + ".ckpt"), else 0. */
static int checkpoint_hash(const char *name, uint64_t *hash)
{
    if (strlen(name) != 21 || strcmp(name + 16, ".ckpt") != 0 || strspn(name, "0123456789abcdef") != 16)
        return 0;
    *hash = strtoull(name, NULL, 16);
    return 1;
}

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

static int by_value(const void *pa, const void *pb)
{
    const uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return (a > b) - (a < b);
}

void sw_ckpt_remove_done(const char *dir, const sw_tasks *t, const unsigned char *state)
{
    /* the directory holds the checkpoints of the tasks that were running:
     * few files, so its listing is looked up by the done rows, not a name
     * tried per done task (a sweep may have millions) */
    DIR *d = opendir(dir);
    sw_ckpt_pending found = {dir, NULL, 0, 0}, stale = {dir, NULL, 0, 0};
    if (!d)
        return;   /* no task ever checkpointed */
    for (struct dirent *e; (e = readdir(d));) {
        uint64_t h;
        if (checkpoint_hash(e->d_name, &h))
            sw_ckpt_pending_add(&found, h);
    }
    closedir(d);
    qsort(found.hash, found.n, sizeof *found.hash, by_value);
    /* the rows' hashes from a cursor walking them in order (no table) */
    sw_task_cursor c;
    ssm_error ignored;
    if (found.n && sw_task_cursor_start(&c, t, &ignored) == SSM_OK) {
        for (size_t row = 0; row < t->n_tasks; ++row) {
            if (state[row] != SW_DONE)
                continue;
            sw_task_cursor_at(&c, row);
            if (bsearch(&c.hash, found.hash, found.n, sizeof *found.hash, by_value))
                sw_ckpt_pending_add(&stale, c.hash);
        }
        sw_task_cursor_end(&c);
    }
    sw_ckpt_pending_remove(&stale);
    sw_ckpt_pending_free(&stale);
    sw_ckpt_pending_free(&found);
}

/* Memory: what a task needs and what a rank has.
 *
 * Every task kind estimates the peak bytes of one task (sw_kind.memory, a
 * model of its arrays checked against measured peak RSS in
 * tests/test_memory.c).  A rank needs that for its largest task, plus the
 * task table every rank holds and the process's own footprint (MPI, HDF5,
 * BLAS buffers: SW_RANK_BASE_BYTES).  What a rank has is the smallest of
 *   physical memory / ranks per node,
 *   the cgroup (v1 or v2) memory limit / ranks per node,
 *   SLURM_MEM_PER_NODE / ranks per node,
 *   SLURM_MEM_PER_CPU x SLURM_CPUS_PER_TASK,
 * where ranks per node come from the launcher (OMPI_COMM_WORLD_LOCAL_SIZE,
 * MPI_LOCALNRANKS, SLURM_STEP_TASKS_PER_NODE inside srun,
 * SLURM_NTASKS_PER_NODE; 1 without a launcher).  A limit given by the user
 * (--memory-limit, or SSMSWEEP_MEMORY_LIMIT) replaces all of these.
 *
 * `plan` prints the estimate, `run` refuses a sweep whose largest task
 * cannot fit before anything is written, and `mf`/`train` refuse absurd
 * sizes the same way. */
#ifndef SW_MEMORY_H
#define SW_MEMORY_H

#include <stddef.h>

#include "ssm/error.h"
#include "tasks.h"

/* A rank's footprint besides its task and the task table: the peak RSS of
 * `ssmsweep run` of one noop task is 21 to 29 MiB (mpirun -np 1 and 2, and
 * a singleton; Open MPI 4.1, HDF5 1.10, OpenBLAS 0.3.21), with room for
 * BLAS thread buffers. */
#define SW_RANK_BASE_BYTES (64.0 * 1048576.0)

/* Where the probe looks (replaceable for tests). */
typedef struct {
    const char *(*getenv)(const char *name);
    const char *proc_cgroup;   /* "/proc/self/cgroup" */
    const char *cgroup_root;   /* "/sys/fs/cgroup" */
    double physical;           /* bytes; 0: sysconf */
} sw_memory_sources;

/* The memory a rank may use and how it was found. */
typedef struct {
    double bytes;              /* INFINITY: no limit (--memory-limit none) */
    char source[200];          /* "23.4 GiB physical memory / 2 ranks per node" */
} sw_rank_memory;

void sw_memory_sources_system(sw_memory_sources *src);

/* limit: the user's limit as text (a --memory-limit value), or NULL for
 * SSMSWEEP_MEMORY_LIMIT from the sources' environment, or else the probe.
 * A limit that is not a size is SSM_EINVAL naming where it came from. */
ssm_status sw_rank_memory_find(const sw_memory_sources *src, const char *limit, sw_rank_memory *out,
                               ssm_error *err);

/* "123", "1e9", "512K", "64M", "1.5G", "2T" (binary units, an optional
 * "iB" or "B"), or "none" (INFINITY); 0 on success, -1 otherwise. */
int sw_parse_bytes(const char *text, double *bytes);
/* "812 B", "1.4 MiB", "23.4 GiB" */
void sw_format_bytes(double bytes, char *buf, size_t size);

/* One task: the kind's estimate, and at least the curves of its record
 * twice (the result and its packed copy). */
double sw_task_memory(const sw_kind *kind, const sw_value *params);

/* Bytes a rank holds per task: for a lazy table what rank 0 holds (status
 * bytes and its queue; other ranks less), for a table in arrays all of it. */
double sw_tasks_table_bytes(const sw_tasks *t);

/* What the tasks of a table need: estimated once per combination of axis
 * values (the repeats of one need the same), in one walk. */
typedef struct {
    double peak;        /* the largest */
    size_t peak_row;    /* the first row that needs it */
    double rank_need;   /* SW_RANK_BASE_BYTES + the table + the largest task */
    size_t *axis_start; /* n_axes + 1: where each axis's values start in the two below */
    double *per_value;  /* the largest estimate per value of each axis (NAN: no row has it) */
    size_t *row_of;     /* the first row with it (SIZE_MAX: none) */
} sw_memory_plan;

/* t must be made from a spec (lazy or materialized). */
ssm_status sw_memory_plan_make(const sw_tasks *t, sw_memory_plan *out, ssm_error *err);
void sw_memory_plan_free(sw_memory_plan *p);

/* "task 7 (N=1024, method=finite)": the id and the values of the axes. */
void sw_task_label(const sw_tasks *t, size_t row, char *buf, size_t size);

/* SSM_OK if p->rank_need fits rank->bytes; else SSM_EINVAL with one line
 * saying what the largest task needs and what a rank has. */
ssm_status sw_memory_check(const sw_tasks *t, const sw_memory_plan *p, const sw_rank_memory *rank,
                           ssm_error *err);

/* The largest estimate per value of axis a: per_value[i] for value i and
 * row_of[i] the row where it occurs (NAN and SIZE_MAX where no row of this
 * table has value i; a shard may miss some). */
void sw_memory_by_axis(const sw_tasks *t, const sw_memory_plan *p, size_t a, double *per_value, size_t *row_of);

/* The values of axis a in row: "N=1024" or "T=256, tau_max=255" with
 * names, "1024" or "256/255" without (as `plan` lists axes). */
void sw_axis_value_text(const sw_tasks *t, size_t row, size_t a, int with_names, char *buf, size_t size);

#endif

#include "config.h"

#include "memory.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Values at or above this are "no limit" (cgroup v1 writes 2^63 - 4096). */
#define UNLIMITED_BYTES 0x1p62

/* ---- sizes as text --------------------------------------------------------------- */

int sw_parse_bytes(const char *text, double *bytes)
{
    static const char units[] = "KMGTPE";
    char *end;
    if (strcasecmp(text, "none") == 0) {
        *bytes = INFINITY;
        return 0;
    }
    if (!isdigit((unsigned char)*text) && *text != '.')
        return -1;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || !isfinite(v) || !(v > 0))
        return -1;
    if (*end) {
        const char *u = strchr(units, toupper((unsigned char)*end));
        if (!u || !*u)
            return -1;
        v *= pow(1024.0, (double)(u - units + 1));
        ++end;
        if (strcasecmp(end, "iB") == 0 || strcasecmp(end, "B") == 0)
            end += strlen(end);
    }
    if (*end)
        return -1;
    *bytes = v;
    return 0;
}

void sw_format_bytes(double bytes, char *buf, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (isinf(bytes)) {
        snprintf(buf, size, "unlimited");
        return;
    }
    if (!(bytes >= 1024)) {
        snprintf(buf, size, "%.0f B", bytes);
        return;
    }
    int u = -1;
    while (u < 5 && bytes >= 1024) {
        bytes /= 1024;
        ++u;
    }
    snprintf(buf, size, bytes < 1000 ? "%.3g %s" : "%.0f %s", bytes, units[u]);
}

/* ---- what a rank has --------------------------------------------------------------- */

static const char *system_getenv(const char *name)
{
    return getenv(name);
}

void sw_memory_sources_system(sw_memory_sources *src)
{
    src->getenv = system_getenv;
    src->proc_cgroup = "/proc/self/cgroup";
    src->cgroup_root = "/sys/fs/cgroup";
    src->physical = 0;
}

/* The largest count in a launcher's list: "4", or SLURM's "2(x3),1". */
static long largest_count(const char *v)
{
    long best = 0;
    while (v && *v) {
        char *end;
        long n = strtol(v, &end, 10);
        if (end == v)
            return 0;
        if (n > best)
            best = n;
        v = strchr(end, ',');
        v = v ? v + 1 : NULL;
    }
    return best;
}

static long ranks_per_node(const sw_memory_sources *src)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_STEP_TASKS_PER_NODE",
                                       "SLURM_NTASKS_PER_NODE"};
    for (size_t k = 0; k < sizeof vars / sizeof vars[0]; ++k) {
        long n = largest_count(src->getenv(vars[k]));
        if (n >= 1)
            return n;
    }
    return 1;
}

/* A byte count from a cgroup file ("max" and v1's huge value: none). */
static double read_limit(const char *path)
{
    FILE *fp = fopen(path, "r");
    char text[64] = "";
    if (!fp)
        return INFINITY;
    int ok = fgets(text, sizeof text, fp) != NULL;
    fclose(fp);
    char *end;
    double v = ok ? strtod(text, &end) : NAN;
    if (!ok || end == text || !(v > 0) || v >= UNLIMITED_BYTES)
        return INFINITY;
    return v;
}

/* The smallest limit of a cgroup and its ancestors: dir/path/file, up to
 * dir/file (what a cgroup namespace shows as its root). */
static double hierarchy_limit(const char *dir, const char *path, const char *file)
{
    char p[4096], full[8192];
    double best = INFINITY;
    snprintf(p, sizeof p, "%s", path);
    for (;;) {
        size_t len = strlen(p);
        while (len > 0 && p[len - 1] == '/')
            p[--len] = '\0';
        snprintf(full, sizeof full, "%s%s/%s", dir, p, file);
        best = fmin(best, read_limit(full));
        char *slash = strrchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
    }
    return best;
}

/* cgroup v2 ("0::/path", memory.max) or v1 (a "memory" controller line,
 * memory.limit_in_bytes) of this process. */
static double cgroup_limit(const sw_memory_sources *src)
{
    FILE *fp = fopen(src->proc_cgroup, "r");
    char line[4096], dir[4200];
    double best = INFINITY;
    if (!fp)
        return INFINITY;
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\n")] = '\0';
        char *controllers = strchr(line, ':'), *path = controllers ? strchr(controllers + 1, ':') : NULL;
        if (!path)
            continue;
        *path++ = '\0';
        ++controllers;
        if (*controllers == '\0') {
            best = fmin(best, hierarchy_limit(src->cgroup_root, path, "memory.max"));
            continue;
        }
        for (char *c = strtok(controllers, ","); c; c = strtok(NULL, ","))
            if (strcmp(c, "memory") == 0) {
                snprintf(dir, sizeof dir, "%s/memory", src->cgroup_root);
                best = fmin(best, hierarchy_limit(dir, path, "memory.limit_in_bytes"));
            }
    }
    fclose(fp);
    return best;
}

/* Keeps the smaller of the limit so far and total / divisor, with how it
 * was found: "<total> <what> <divisor> <unit>[s] <per>". */
static void consider(sw_rank_memory *out, double total, const char *what, long divisor, const char *unit,
                     const char *per, int multiply)
{
    char size[32];
    const double bytes = multiply ? total * (double)divisor : total / (double)divisor;
    if (!(bytes < out->bytes))
        return;
    out->bytes = bytes;
    sw_format_bytes(total, size, sizeof size);
    snprintf(out->source, sizeof out->source, "%s %s %ld %s%s %s", size, what, divisor, unit, divisor == 1 ? "" : "s",
             per);
}

static double env_megabytes(const sw_memory_sources *src, const char *name)
{
    const char *v = src->getenv(name);
    char *end;
    if (!v || !*v)
        return INFINITY;
    double mb = strtod(v, &end);
    return end != v && mb > 0 && isfinite(mb) ? mb * 1048576.0 : INFINITY;
}

ssm_status sw_rank_memory_find(const sw_memory_sources *src, const char *limit, sw_rank_memory *out,
                               ssm_error *err)
{
    out->bytes = INFINITY;
    snprintf(out->source, sizeof out->source, "no limit found");
    const char *from = "--memory-limit";
    if (!limit) {
        limit = src->getenv("SSMSWEEP_MEMORY_LIMIT");
        from = "SSMSWEEP_MEMORY_LIMIT";
        if (limit && !*limit)
            limit = NULL;
    }
    if (limit) {
        if (sw_parse_bytes(limit, &out->bytes))
            return ssm_fail(err, SSM_EINVAL, "%s: expected a size such as 512M, 4G or none, got '%.80s'", from,
                            limit);
        snprintf(out->source, sizeof out->source, "%s=%.80s", from, limit);
        return SSM_OK;
    }
    const long ranks = ranks_per_node(src);
    double physical = src->physical;
    if (!(physical > 0)) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        physical = pages > 0 && page > 0 ? (double)pages * (double)page : INFINITY;
    }
    consider(out, physical, "physical memory /", ranks, "rank", "per node", 0);
    consider(out, cgroup_limit(src), "cgroup memory limit /", ranks, "rank", "per node", 0);
    consider(out, env_megabytes(src, "SLURM_MEM_PER_NODE"), "SLURM_MEM_PER_NODE /", ranks, "rank", "per node", 0);
    long cpus = largest_count(src->getenv("SLURM_CPUS_PER_TASK"));
    consider(out, env_megabytes(src, "SLURM_MEM_PER_CPU"), "SLURM_MEM_PER_CPU x", cpus >= 1 ? cpus : 1, "cpu",
             "per task", 1);
    return SSM_OK;
}

/* ---- what a task needs ---------------------------------------------------------------- */

double sw_task_memory(const sw_kind *kind, const sw_value *params)
{
    double curves = 0;
    for (size_t c = 0; c < kind->n_curves; ++c)
        curves += (double)kind->curve_length(params, c);
    const double record = 2 * 8 * (curves + (double)kind->n_scalars);
    const double own = kind->memory ? kind->memory(params) : 0;
    return fmax(own, record);
}

double sw_tasks_table_bytes(const sw_tasks *t)
{
    if (t->values) {   /* a table in arrays (tests) */
        const double per_task = (double)(t->kind->n_params * sizeof(sw_value)) + 3 * 8 + (t->shard.count ? 8 : 0);
        return (double)t->n_tasks * per_task;
    }
    /* rank 0: a status byte per task for the coordinator and one for the
     * writer; the queue, 4 bytes per combination and 16 more while it is
     * sorted (workers hold nothing per task) */
    const double combos = t->space && t->space->n_combos < t->n_tasks ? (double)t->space->n_combos : (double)t->n_tasks;
    return 2.0 * (double)t->n_tasks + 20.0 * combos;
}

/* Folds estimate m of the task in row (id) into the plan: the first row
 * with the largest estimate, overall and per value of each axis. */
static void plan_add(const sw_tasks *t, sw_memory_plan *p, size_t row, uint64_t id, double m)
{
    if (m > p->peak) {
        p->peak = m;
        p->peak_row = row;
    }
    uint64_t combo = id / (t->repeats ? t->repeats : 1);
    for (size_t a = t->n_axes; a-- > 0;) {
        const size_t n = t->axes[a].n_values, i = p->axis_start[a] + (size_t)(combo % n);
        combo /= n;
        if (isnan(p->per_value[i]) || m > p->per_value[i]) {
            p->per_value[i] = m;
            p->row_of[i] = row;
        }
    }
}

ssm_status sw_memory_plan_make(const sw_tasks *t, sw_memory_plan *out, ssm_error *err)
{
    size_t n_values = 0;
    memset(out, 0, sizeof *out);
    for (size_t a = 0; a < t->n_axes; ++a)
        n_values += t->axes[a].n_values;
    out->axis_start = malloc((t->n_axes + 1) * sizeof *out->axis_start);
    out->per_value = malloc((n_values ? n_values : 1) * sizeof *out->per_value);
    out->row_of = malloc((n_values ? n_values : 1) * sizeof *out->row_of);
    sw_space_walk w;
    ssm_status st = out->axis_start && out->per_value && out->row_of
                        ? sw_tasks_walk_start(&w, t, 0, err)
                        : ssm_fail(err, SSM_ENOMEM, "out of memory for the estimates of %zu axis values", n_values);
    if (st) {
        sw_memory_plan_free(out);
        return st;
    }
    for (size_t a = 0, at = 0; a <= t->n_axes; at += a < t->n_axes ? t->axes[a].n_values : 0, ++a)
        out->axis_start[a] = at;
    for (size_t i = 0; i < n_values; ++i) {
        out->per_value[i] = NAN;
        out->row_of[i] = SIZE_MAX;
    }
    /* the repeats of a combination need the same: one estimate each */
    for (size_t row = 0; sw_space_walk_next(&w); ++row)
        if (w.new_combo)
            plan_add(t, out, row, w.id, sw_task_memory(t->kind, w.values));
    sw_space_walk_end(&w);
    out->rank_need = SW_RANK_BASE_BYTES + sw_tasks_table_bytes(t) + out->peak;
    return SSM_OK;
}

void sw_memory_plan_free(sw_memory_plan *p)
{
    if (!p)
        return;
    free(p->axis_start);
    free(p->per_value);
    free(p->row_of);
    memset(p, 0, sizeof *p);
}

void sw_axis_value_text(const sw_tasks *t, size_t row, size_t a, int with_names, char *buf, size_t size)
{
    sw_value params[SW_MAX_PARAMS];
    const sw_value *v = sw_task_values(t, row, params);
    const char *name = t->axes[a].names;
    size_t len = 0;
    buf[0] = '\0';
    while (*name && len < size) {
        size_t n = strcspn(name, "+");
        char param[64], shown[64];
        snprintf(param, sizeof param, "%.*s", (int)(n < 63 ? n : 63), name);
        int k = sw_kind_param_index(t->kind, param);
        if (k >= 0) {
            sw_value_shown(&v[k], shown, sizeof shown);
            if (with_names)
                len += (size_t)snprintf(buf + len, size - len, "%s%s=%s", len ? ", " : "", param, shown);
            else
                len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "/" : "", shown);
        }
        name += n + (name[n] == '+');
    }
}

void sw_task_label(const sw_tasks *t, size_t row, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "task %llu", (unsigned long long)sw_task_id(t, row));
    for (size_t a = 0; a < t->n_axes && len + 4 < size; ++a) {
        len += (size_t)snprintf(buf + len, size - len, a ? ", " : " (");
        sw_axis_value_text(t, row, a, 1, buf + len, size - len);
        len += strlen(buf + len);
    }
    if (t->n_axes && len + 1 < size)
        snprintf(buf + len, size - len, ")");
}

ssm_status sw_memory_check(const sw_tasks *t, const sw_memory_plan *p, const sw_rank_memory *rank, ssm_error *err)
{
    if (t->n_tasks == 0 || p->rank_need <= rank->bytes)
        return SSM_OK;
    char label[160], need[32], task[32], has[32], other[32];
    sw_task_label(t, p->peak_row, label, sizeof label);
    sw_format_bytes(p->rank_need, need, sizeof need);
    sw_format_bytes(p->peak, task, sizeof task);
    sw_format_bytes(p->rank_need - p->peak, other, sizeof other);
    sw_format_bytes(rank->bytes, has, sizeof has);
    return ssm_fail(err, SSM_EINVAL, "not enough memory: %s needs about %s (%s for the task, %s for the rank and "
                    "its task state), a rank has %s (%s)", label, need, task, other, has, rank->source);
}

void sw_memory_by_axis(const sw_tasks *t, const sw_memory_plan *p, size_t a, double *per_value, size_t *row_of)
{
    (void)t;
    const size_t from = p->axis_start[a], n = p->axis_start[a + 1] - from;
    memcpy(per_value, p->per_value + from, n * sizeof *per_value);
    memcpy(row_of, p->row_of + from, n * sizeof *row_of);
}

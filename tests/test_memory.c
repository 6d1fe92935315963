/* Memory estimates and limits (src/sweep/memory.[ch], the kinds' memory
 * functions, ssm_mf_peak_bytes, ssm_deep_work_size, sw_train_peak_bytes):
 *
 *   - each kind's estimate against the measured peak RSS growth of real
 *     tasks, each run in a child process whose high-water mark is reset
 *     (/proc/self/clear_refs) after a warm-up: measured / estimate must lie
 *     in [1/FACTOR, FACTOR] (not under AddressSanitizer, whose shadow and
 *     quarantine are not the program's memory);
 *   - ssm_deep_work_size is what ssm_deep_work_new allocates (N modes);
 *   - sizes as text; the probe of a rank's memory from fake physical
 *     memory, launcher and SLURM variables and cgroup v1/v2 files; the
 *     refusal message; the per-axis maxima of a spec. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ssm/deep.h"
#include "ssm/idx.h"
#include "experiments/registry.h"
#include "sweep/memory.h"
#include "sweep/spec.h"
#include "testutil.h"

/* Estimates are models of what a task allocates; touched pages are what
 * RSS counts.  Both must agree within this factor. */
#define FACTOR 1.5

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static double status_kib(const char *field)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    double kib = NAN;
    size_t len = strlen(field);
    while (fp && fgets(line, sizeof line, fp))
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            kib = strtod(line + len + 1, NULL);
    if (fp)
        fclose(fp);
    return kib;
}

static int parse_spec(const char *text, sw_tasks *t)
{
    ssm_error err;
    if (sw_spec_parse("test.yaml", text, strlen(text), &ex_registry, t, &err) == SSM_OK)
        return 0;
    CHECK(0, "spec: %s", err.message);
    return -1;
}

static ssm_status run_task(const sw_tasks *t, size_t row, ssm_error *err)
{
    sw_result r;
    ssm_status st = sw_result_init(&r, t->kind, err);
    if (st == SSM_OK)
        st = t->kind->run(sw_task_params(t, row), t->seed[row], NULL, &r, err);
    sw_result_free(&r);
    return st;
}

/* Peak RSS growth of task 0 of `spec` in a child process, after task 0 of
 * `warmup` (the same kind, tiny: libraries, BLAS buffers and FFTW set up);
 * -1 if the task failed. */
static double measured_growth(const char *spec, const char *warmup)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        sw_tasks t, w;
        ssm_error err;
        double growth = -1;
        if (parse_spec(spec, &t) == 0 && parse_spec(warmup, &w) == 0 && run_task(&w, 0, &err) == SSM_OK) {
            FILE *clear = fopen("/proc/self/clear_refs", "w");
            int reset = clear && fputs("5", clear) >= 0;
            reset = clear && fclose(clear) == 0 && reset;
            const double before = status_kib("VmRSS");
            if (reset && run_task(&t, 0, &err) == SSM_OK)
                growth = 1024 * (status_kib("VmHWM") - before);
            else
                fprintf(stderr, "task failed: %s\n", err.message);
        }
        if (write(fd[1], &growth, sizeof growth) != (ssize_t)sizeof growth)
            _exit(1);
        _exit(0);
    }
    close(fd[1]);
    double growth = -1;
    if (pid < 0 || read(fd[0], &growth, sizeof growth) != (ssize_t)sizeof growth)
        growth = -1;
    close(fd[0]);
    int status;
    if (pid > 0)
        waitpid(pid, &status, 0);
    return growth;
}

static void against_measurement(void)
{
    static const struct {
        const char *what, *spec, *warmup;
        int needs_data;
    } cases[] = {
        {"mf analytic N=1024 tau_max=20000", "kind: mf\nfixed: {N: 1024, tau_max: 20000}\n",
         "kind: mf\nfixed: {N: 8, tau_max: 10}\n", 0},
        {"mf finite N=256 T=20000", "kind: mf\nfixed: {N: 256, method: finite, T: 20000, tau_max: 100}\n",
         "kind: mf\nfixed: {N: 8, method: finite, T: 64, tau_max: 10}\n", 0},
        {"mf simulate N=768 tau_max=3000", "kind: mf\nfixed: {N: 768, method: simulate, T: 3000, washout: 3000, "
         "tau_max: 3000}\n", "kind: mf\nfixed: {N: 8, method: simulate, T: 64, washout: 64, tau_max: 10}\n", 0},
        {"mf blaschke N=16 tau_max=4e6", "kind: mf\nfixed: {N: 16, method: blaschke, tau_max: 4e6}\n",
         "kind: mf\nfixed: {N: 8, method: blaschke, tau_max: 10}\n", 0},
        {"mf legs-dense analytic N=768", "kind: mf\nfixed: {init: legs-dense, N: 768, tau_max: 1000}\n",
         "kind: mf\nfixed: {init: legs-dense, N: 8, tau_max: 10}\n", 0},
        {"train length=4096 n_train=256", "kind: train\nfixed: {N: 16, length: 4096, n_train: 256, n_val: 64, "
         "epochs: 1, delay: 10}\n", "kind: train\nfixed: {N: 4, length: 64, n_train: 4, n_val: 2, epochs: 1, "
         "delay: 3}\n", 0},
        {"train multi-delay length=8192 batch=128", "kind: train\nfixed: {N: 32, task_type: multi-delay, "
         "delays: \"10,100,1000\", length: 8192, n_train: 96, n_val: 32, batch: 128, epochs: 1}\n", "kind: train\nfixed: {N: 4, length: 64, n_train: 4, "
         "n_val: 2, epochs: 1, delay: 3}\n", 0},
        {"sfmnist H=32 L=2 batch=50 subset=1000", "kind: sfmnist\nfixed: {N: 16, d_model: 32, layers: 2, epochs: 1, "
         "subset: 1000, n_val: 200, test_subset: 500, tau_max: 500}\n", "kind: noop\n", 1},
        {"sfmnist H=16 L=2 batch=100 float64", "kind: sfmnist\nfixed: {N: 8, d_model: 16, layers: 2, epochs: 1, "
         "batch: 100, precision: float64, subset: 300, n_val: 100, test_subset: 200, tau_max: 300}\n",
         "kind: noop\n", 1},
    };
    if (UNDER_ASAN) {
        printf("skip: RSS under AddressSanitizer is not the program's memory\n");
        return;
    }
    struct stat st;
    const int have_data = stat(SSM_FMNIST_DEFAULT_DIR "/train-images-idx3-ubyte.gz", &st) == 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k) {
        if (cases[k].needs_data && !have_data) {
            printf("skip: %s (no %s)\n", cases[k].what, SSM_FMNIST_DEFAULT_DIR);
            continue;
        }
        sw_tasks t;
        if (parse_spec(cases[k].spec, &t))
            continue;
        const double estimate = sw_task_memory(t.kind, sw_task_params(&t, 0));
        sw_tasks_free(&t);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        const double growth = measured_growth(cases[k].spec, cases[k].warmup);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        const double ratio = growth / estimate;
        CHECK(growth > 0 && ratio >= 1 / FACTOR && ratio <= FACTOR,
              "%-40s estimate %7.1f MiB, measured peak RSS growth %7.1f MiB, ratio %.2f (within %.1fx; %.1f s)",
              cases[k].what, estimate / 1048576, growth / 1048576, ratio, FACTOR,
              (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    }
}

static void deep_work_size(void)
{
    static const struct {
        size_t H, L, T, B;
        double dropout;
        ssm_precision prec;
    } cases[] = {{8, 1, 784, 50, 0, SSM_F32}, {16, 3, 100, 7, 0.1, SSM_F32}, {4, 2, 33, 1, 0, SSM_F64},
                 {32, 4, 784, 25, 0.2, SSM_F64}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k) {
        ssm_deep_config c;
        ssm_deep m;
        ssm_deep_work *w = NULL;
        ssm_error err;
        ssm_deep_config_defaults(&c);
        c.d_model = cases[k].H;
        c.n_layers = cases[k].L;
        c.dropout = cases[k].dropout;
        c.eig.n = 8;
        int ok = ssm_deep_init(&m, &c, 1, &err) == SSM_OK &&
                 ssm_deep_work_new(&m, cases[k].T, cases[k].B, cases[k].prec, &w, &err) == SSM_OK;
        const double size = ssm_deep_work_size(&c, cases[k].T, cases[k].B, cases[k].prec);
        /* exact but for the recurrent state's scratch of each of the two slots, counted for N modes */
        const double slack = 2 * ((double)c.eig.n * 16 + 64);
        CHECK(ok && size >= (double)ssm_deep_work_bytes(w) && size <= (double)ssm_deep_work_bytes(w) + slack,
              "deep workspace H %zu L %zu T %zu B %zu dropout %g %s: estimated %.0f >= allocated %zu bytes",
              cases[k].H, cases[k].L, cases[k].T, cases[k].B, cases[k].dropout,
              cases[k].prec == SSM_F32 ? "float32" : "float64", size, ok ? ssm_deep_work_bytes(w) : 0);
        ssm_deep_work_free(w);
        if (ok)
            ssm_deep_free(&m);
    }
}

static void sizes_as_text(void)
{
    static const struct {
        const char *text;
        double bytes;
    } good[] = {{"123", 123}, {"1e9", 1e9}, {"512K", 512 * 1024.0}, {"64M", 64 * 1048576.0},
                {"1.5G", 1.5 * 1073741824.0}, {"2TiB", 2 * 1099511627776.0}, {"3gb", 3 * 1073741824.0},
                {"none", INFINITY}};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; ++k) {
        double b = 0;
        const int parsed = sw_parse_bytes(good[k].text, &b) == 0;
        CHECK(parsed && b == good[k].bytes, "'%s' = %g bytes", good[k].text, b);
    }
    static const char *const bad[] = {"", "-1", "0", "1X", "M", "1.5.6G", "1GG", "inf", "nan", "1e999"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; ++k) {
        double b;
        CHECK(sw_parse_bytes(bad[k], &b) != 0, "'%s' refused", bad[k]);
    }
    char buf[32];
    sw_format_bytes(812, buf, sizeof buf);
    CHECK(strcmp(buf, "812 B") == 0, "812 -> %s", buf);
    sw_format_bytes(1.5 * 1048576, buf, sizeof buf);
    CHECK(strcmp(buf, "1.5 MiB") == 0, "1.5 MiB -> %s", buf);
    sw_format_bytes(23.4 * 1073741824.0, buf, sizeof buf);
    CHECK(strcmp(buf, "23.4 GiB") == 0, "23.4 GiB -> %s", buf);
    sw_format_bytes(INFINITY, buf, sizeof buf);
    CHECK(strcmp(buf, "unlimited") == 0, "inf -> %s", buf);
}

/* ---- the probe, on fake sources ---------------------------------------------------- */

static const char *fake_env[16][2];

static const char *fake_getenv(const char *name)
{
    for (size_t k = 0; k < 16 && fake_env[k][0]; ++k)
        if (strcmp(fake_env[k][0], name) == 0)
            return fake_env[k][1];
    return NULL;
}

static void set_env(const char *const pairs[][2], size_t n)
{
    memset(fake_env, 0, sizeof fake_env);
    for (size_t k = 0; k < n; ++k) {
        fake_env[k][0] = pairs[k][0];
        fake_env[k][1] = pairs[k][1];
    }
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
}

/* dir/rel with its directories */
static void make_file(const char *dir, const char *rel, const char *text)
{
    char path[4200];
    int len = snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (int k = (int)strlen(dir) + 1; k < len; ++k)
        if (path[k] == '/') {
            path[k] = '\0';
            mkdir(path, 0700);
            path[k] = '/';
        }
    write_text(path, text);
}

static void probe(void)
{
    char dir[] = "/tmp/ssm-test-memory.XXXXXX", proc[4200];
    if (!mkdtemp(dir))
        return;
    const double GiB = 1073741824.0;
    sw_memory_sources src = {fake_getenv, "/nonexistent", "/nonexistent", 16 * GiB};
    sw_rank_memory r;
    ssm_error err;

    set_env(NULL, 0);
    CHECK(sw_rank_memory_find(&src, NULL, &r, &err) == SSM_OK && r.bytes == 16 * GiB &&
              strcmp(r.source, "16 GiB physical memory / 1 rank per node") == 0,
          "no launcher: all physical memory (%s)", r.source);

    const char *const ompi[][2] = {{"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}, {"SLURM_NTASKS_PER_NODE", "8"}};
    set_env(ompi, 2);
    CHECK(sw_rank_memory_find(&src, NULL, &r, &err) == SSM_OK && r.bytes == 4 * GiB &&
              strstr(r.source, "/ 4 ranks per node"),
          "mpirun's local size comes first: %s", r.source);
    const char *const srun[][2] = {{"SLURM_STEP_TASKS_PER_NODE", "2(x3),5"}};
    set_env(srun, 1);
    CHECK(sw_rank_memory_find(&src, NULL, &r, &err) == SSM_OK && r.bytes == 16 * GiB / 5,
          "srun's tasks per node, the largest count: %s", r.source);

    /* cgroup v2: the job's limit two levels up, "max" below it */
    snprintf(proc, sizeof proc, "%s/cgroup", dir);
    write_text(proc, "0::/job/step\n");
    make_file(dir, "job/memory.max", "2147483648\n");
    make_file(dir, "job/step/memory.max", "max\n");
    src.proc_cgroup = proc;
    src.cgroup_root = dir;
    const char *const two[][2] = {{"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}};
    set_env(two, 1);
    CHECK(sw_rank_memory_find(&src, NULL, &r, &err) == SSM_OK && r.bytes == GiB &&
              strcmp(r.source, "2 GiB cgroup memory limit / 2 ranks per node") == 0,
          "cgroup v2 limit of an ancestor: %s", r.source);

    const char *const slurm[][2] = {{"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}, {"SLURM_MEM_PER_CPU", "300"},
                                    {"SLURM_CPUS_PER_TASK", "2"}, {"SLURM_MEM_PER_NODE", "4000"}};
    set_env(slurm, 4);
    CHECK(sw_rank_memory_find(&src, NULL, &r, &err) == SSM_OK && r.bytes == 600 * 1048576.0 &&
              strstr(r.source, "SLURM_MEM_PER_CPU x 2 cpus per task"),
          "SLURM_MEM_PER_CPU x cpus per task when smaller: %s", r.source);
    set_env(slurm, 1);
    fake_env[1][0] = "SLURM_MEM_PER_NODE";
    fake_env[1][1] = "1000";
    CHECK(sw_rank_memory_find(&src, NULL, &r, &err) == SSM_OK && r.bytes == 500 * 1048576.0 &&
              strstr(r.source, "SLURM_MEM_PER_NODE / 2 ranks per node"),
          "SLURM_MEM_PER_NODE / ranks: %s", r.source);

    /* cgroup v1: the memory controller's line */
    write_text(proc, "12:cpu,cpuacct:/x\n7:memory:/slurm/uid_0/job_5\n0::/\n");
    make_file(dir, "memory/slurm/memory.limit_in_bytes", "9223372036854771712\n");
    make_file(dir, "memory/slurm/uid_0/job_5/memory.limit_in_bytes", "1073741824\n");
    set_env(NULL, 0);
    CHECK(sw_rank_memory_find(&src, NULL, &r, &err) == SSM_OK && r.bytes == GiB &&
              strstr(r.source, "cgroup memory limit / 1 rank per node"),
          "cgroup v1 memory.limit_in_bytes (the unlimited value above it ignored): %s", r.source);

    /* the user's limit replaces the probe */
    const char *const user[][2] = {{"SSMSWEEP_MEMORY_LIMIT", "3G"}};
    set_env(user, 1);
    CHECK(sw_rank_memory_find(&src, NULL, &r, &err) == SSM_OK && r.bytes == 3 * GiB &&
              strcmp(r.source, "SSMSWEEP_MEMORY_LIMIT=3G") == 0,
          "SSMSWEEP_MEMORY_LIMIT: %s", r.source);
    CHECK(sw_rank_memory_find(&src, "none", &r, &err) == SSM_OK && isinf(r.bytes),
          "--memory-limit none (before the variable): %s", r.source);
    CHECK(sw_rank_memory_find(&src, "lots", &r, &err) == SSM_EINVAL && strstr(err.message, "--memory-limit") &&
              strstr(err.message, "'lots'"),
          "a bad --memory-limit: %s", err.message);
    fake_env[0][1] = "12Q";
    CHECK(sw_rank_memory_find(&src, NULL, &r, &err) == SSM_EINVAL && strstr(err.message, "SSMSWEEP_MEMORY_LIMIT"),
          "a bad SSMSWEEP_MEMORY_LIMIT: %s", err.message);

    src.physical = 0;   /* the real machine: something finite */
    src.proc_cgroup = "/nonexistent";
    set_env(NULL, 0);
    CHECK(sw_rank_memory_find(&src, NULL, &r, &err) == SSM_OK && isfinite(r.bytes) && r.bytes > 0,
          "this machine: %s", r.source);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "clean up");
}

/* plan's numbers: the largest task, per-axis maxima, the refusal */
static void plan_and_check(void)
{
    sw_tasks t;
    const char *spec = "kind: mf\naxes:\n  init: [s4d-inv, lin]\n  N: [16, 512, 64]\nrepeats: 2\n";
    if (parse_spec(spec, &t))
        return;
    sw_memory_plan p;
    ssm_error err;
    CHECK(sw_memory_plan_make(&t, &p, &err) == SSM_OK, "plan");
    CHECK(t.n_tasks == 12 && sw_task_params(&t, p.peak_row)[1].i == 512, "the largest task has N = 512 (row %zu)",
          p.peak_row);
    CHECK(p.rank_need == SW_RANK_BASE_BYTES + sw_tasks_table_bytes(&t) + p.peak, "a rank needs base + table + peak");
    double per[3];
    size_t row[3];
    sw_memory_by_axis(&t, &p, 1, per, row);
    CHECK(per[1] == p.peak && per[0] < per[2] && per[2] < per[1] && sw_task_params(&t, row[0])[1].i == 16,
          "by N: 16 < 64 < 512 = the peak");
    sw_memory_by_axis(&t, &p, 0, per, row);
    CHECK(per[0] == p.peak && per[1] == p.peak, "by init: both reach the peak");
    char label[200];
    sw_task_label(&t, p.peak_row, label, sizeof label);
    CHECK(strcmp(label, "task 2 (init=s4d-inv, N=512)") == 0, "label: %s", label);
    sw_rank_memory small = {p.rank_need - 1, "a test's limit"}, enough = {p.rank_need, "exactly"};
    CHECK(sw_memory_check(&t, &p, &enough, &err) == SSM_OK, "fits when the need equals what a rank has");
    CHECK(sw_memory_check(&t, &p, &small, &err) == SSM_EINVAL &&
              strstr(err.message, "not enough memory: task 2 (init=s4d-inv, N=512) needs about ") &&
              strstr(err.message, "a rank has ") && strstr(err.message, "(a test's limit)") &&
              !strchr(err.message, '\n'),
          "refused, one line: %s", err.message);
    sw_memory_plan_free(&p);
    sw_tasks_free(&t);

    /* a shard: ids are global, values a shard lacks are NaN */
    const char *noop = "kind: noop\naxes:\n  length: [10, 1000, 100, 5]\n";
    if (parse_spec(noop, &t))
        return;
    sw_tasks_select_shard(&t, 1, 2, &err);
    sw_memory_plan_make(&t, &p, &err);
    double four[4];
    size_t rows[4];
    sw_memory_by_axis(&t, &p, 0, four, rows);
    CHECK(isnan(four[0]) && isnan(four[2]) && four[1] >= 8000 && four[3] >= 40 && rows[1] == 0 && rows[3] == 1,
          "shard 1/2 holds lengths 1000 and 5 only");
    sw_memory_plan_free(&p);
    sw_tasks_free(&t);
}

int main(void)
{
    sizes_as_text();
    probe();
    plan_and_check();
    deep_work_size();
    against_measurement();
    return test_summary("test_memory");
}

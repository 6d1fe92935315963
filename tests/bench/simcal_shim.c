/* Timing shim for calibrating the coordinator simulator (tests/bench/ssmsim.c)
 * against the real binary, without changing it: LD_PRELOAD'ed into
 * `ssmsweep run`, it times the library calls rank 0 spends its time in
 * (MPI through the PMPI profiling interface; fsync, nanosleep and HDF5 through
 * dlsym(RTLD_NEXT)) and, on workers, how long each batch keeps the rank busy.
 * At MPI_Finalize every rank writes key=value lines to
 * $SSMSIM_SHIM_DIR/rank<R>.txt.  Built by tests/bench/calibrate_sim.sh. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <hdf5.h>
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

enum { TAG_RESULTS = 17, TAG_WORK = 18 };   /* as in src/sweep/coordinator.c */
#define NAP_NS 200000L                        /* rank 0's idle nap */

typedef struct {
    long calls;
    double seconds;
} tally;

static tally t_iprobe_hit, t_iprobe_miss, t_recv, t_isend, t_test, t_nap, t_sleep, t_fsync, t_h5write, t_h5flush,
    t_h5extent, t_batch;
static long batch_tasks, recv_bytes;
static double init_wall, init_cpu, batch_start = -1;
static int my_rank = -1;
static pthread_t main_thread;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double thread_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static void add(tally *t, double t0)
{
    t->calls++;
    t->seconds += now() - t0;
}

static void *next_symbol(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        fprintf(stderr, "simcal_shim: no symbol %s\n", name);
        abort();
    }
    return f;
}

/* call, timed into tally (a GNU statement expression: the shim is built by mpicc, i.e. gcc) */
#define TIMED(tally, call)                                                                                   \
    ({                                                                                                         \
        double t0_ = now();                                                                                    \
        __typeof__(call) rc_ = (call);                                                                         \
        add(&(tally), t0_);                                                                                    \
        rc_;                                                                                                   \
    })

/* the next definition of name (libc's, HDF5's), of type fn_type, looked up once */
#define REAL(fn_type, name)                                                                                    \
    static fn_type real_;                                                                                      \
    if (!real_)                                                                                                \
        real_ = (fn_type)next_symbol(#name)

int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
{
    int rc = PMPI_Init_thread(argc, argv, required, provided);
    PMPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
    main_thread = pthread_self();
    init_wall = now();
    init_cpu = thread_cpu();
    return rc;
}

int MPI_Iprobe(int source, int tag, MPI_Comm comm, int *flag, MPI_Status *status)
{
    double t0 = now();
    int rc = PMPI_Iprobe(source, tag, comm, flag, status);
    add(*flag ? &t_iprobe_hit : &t_iprobe_miss, t0);
    return rc;
}

int MPI_Recv(void *buf, int count, MPI_Datatype type, int source, int tag, MPI_Comm comm, MPI_Status *status)
{
    int rc = TIMED(t_recv, PMPI_Recv(buf, count, type, source, tag, comm, status));
    if (tag == TAG_RESULTS)
        recv_bytes += count;
    if (tag == TAG_WORK && count > 0) {   /* a worker starts a batch */
        batch_start = now();
        batch_tasks += count;
    }
    return rc;
}

int MPI_Isend(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm,
              MPI_Request *req)
{
    /* a worker's request (flag bit 1) ends the batch it ran */
    if (tag == TAG_RESULTS && batch_start >= 0 && count >= 4 && (*(const unsigned *)buf & 1u)) {
        t_batch.calls++;
        t_batch.seconds += now() - batch_start;
        batch_start = -1;
    }
    return TIMED(t_isend, PMPI_Isend(buf, count, type, dest, tag, comm, req));
}

int MPI_Test(MPI_Request *req, int *flag, MPI_Status *status)
{
    return TIMED(t_test, PMPI_Test(req, flag, status));
}

typedef int nanosleep_fn(const struct timespec *, struct timespec *);
int nanosleep(const struct timespec *req, struct timespec *rem)
{
    REAL(nanosleep_fn *, nanosleep);
    /* only rank 0's main thread: its nap, or a worker's task */
    if (!pthread_equal(pthread_self(), main_thread))
        return real_(req, rem);
    int nap = req->tv_sec == 0 && req->tv_nsec == NAP_NS;
    return nap ? TIMED(t_nap, real_(req, rem)) : TIMED(t_sleep, real_(req, rem));
}

typedef int fsync_fn(int);
int fsync(int fd)
{
    REAL(fsync_fn *, fsync);
    return TIMED(t_fsync, real_(fd));
}

typedef herr_t h5dwrite_fn(hid_t, hid_t, hid_t, hid_t, hid_t, const void *);
herr_t H5Dwrite(hid_t dset, hid_t mem_type, hid_t mem_space, hid_t file_space, hid_t plist, const void *buf)
{
    REAL(h5dwrite_fn *, H5Dwrite);
    return TIMED(t_h5write, real_(dset, mem_type, mem_space, file_space, plist, buf));
}

typedef herr_t h5dset_extent_fn(hid_t, const hsize_t *);
herr_t H5Dset_extent(hid_t dset, const hsize_t size[])
{
    REAL(h5dset_extent_fn *, H5Dset_extent);
    return TIMED(t_h5extent, real_(dset, size));
}

typedef herr_t h5fflush_fn(hid_t, H5F_scope_t);
herr_t H5Fflush(hid_t file, H5F_scope_t scope)
{
    REAL(h5fflush_fn *, H5Fflush);
    return TIMED(t_h5flush, real_(file, scope));
}

static void put(FILE *f, const char *name, const tally *t)
{
    fprintf(f, "%s_calls=%ld\n%s_s=%.9f\n", name, t->calls, name, t->seconds);
}

int MPI_Finalize(void)
{
    const char *dir = getenv("SSMSIM_SHIM_DIR");
    if (dir && my_rank >= 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/rank%d.txt", dir, my_rank);
        FILE *f = fopen(path, "w");
        if (f) {
            fprintf(f, "phase_s=%.9f\nmain_cpu_s=%.9f\nrecv_bytes=%ld\nbatch_tasks=%ld\n", now() - init_wall,
                    thread_cpu() - init_cpu, recv_bytes, batch_tasks);
            put(f, "iprobe_hit", &t_iprobe_hit);
            put(f, "iprobe_miss", &t_iprobe_miss);
            put(f, "recv", &t_recv);
            put(f, "isend", &t_isend);
            put(f, "test", &t_test);
            put(f, "nap", &t_nap);
            put(f, "sleep", &t_sleep);
            put(f, "fsync", &t_fsync);
            put(f, "h5write", &t_h5write);
            put(f, "h5flush", &t_h5flush);
            put(f, "h5extent", &t_h5extent);
            put(f, "batch", &t_batch);
            fclose(f);
        }
    }
    return PMPI_Finalize();
}

#include "config.h"

#include "provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <hdf5.h>
#include <yaml.h>
#include <zlib.h>

#include "record.h"

double sw_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double sw_wall_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void sw_utc_now(char *buf, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void sw_gather_provenance(MPI_Comm comm, int rank, int size, const char *host, char **hosts_out, char *libraries,
                          size_t lib_size)
{
    char *all = rank == 0 ? calloc((size_t)size, SW_HOST_MAX) : NULL;
    char name[SW_HOST_MAX] = {0};
    snprintf(name, sizeof name, "%s", host);
    MPI_Gather(name, SW_HOST_MAX, MPI_CHAR, all, SW_HOST_MAX, MPI_CHAR, 0, comm);
    if (rank != 0)
        return;
    /* unique names, in rank order */
    char *list = calloc((size_t)size, SW_HOST_MAX + 1);
    for (int r = 0; list && all && r < size; ++r) {
        const char *h = all + (size_t)r * SW_HOST_MAX;
        int seen = 0;
        for (int q = 0; q < r && !seen; ++q)
            seen = strncmp(h, all + (size_t)q * SW_HOST_MAX, SW_HOST_MAX) == 0;
        if (!seen) {
            if (*list)
                strcat(list, ",");
            strncat(list, h, SW_HOST_MAX - 1);
        }
    }
    free(all);
    *hosts_out = list;

    char mpi_version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len;
    unsigned maj, min, rel;
    MPI_Get_library_version(mpi_version, &len);
    mpi_version[strcspn(mpi_version, ",\n")] = '\0';
    H5get_libversion(&maj, &min, &rel);
    snprintf(libraries, lib_size, "HDF5 %u.%u.%u; %s; OpenBLAS %s; libyaml %s; zlib %s", maj, min, rel,
             mpi_version,
#ifdef HAVE_OPENBLAS_GET_CONFIG
             openblas_get_config(),
#else
             "?",
#endif
             yaml_get_version_string(), zlibVersion());
}

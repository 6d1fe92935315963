/* Where and when a run happens, for /provenance and the records: the
 * clocks, and what every rank tells rank 0 about its host and libraries. */
#ifndef SW_PROVENANCE_H
#define SW_PROVENANCE_H

#include <stddef.h>

#include <mpi.h>

/* Monotonic clock in seconds (durations). */
double sw_now(void);
/* Unix time in seconds, with fractions (when a task finished). */
double sw_wall_clock(void);
/* The time now as ISO 8601 UTC, "2026-11-23T07:36:00Z". */
void sw_utc_now(char *buf, size_t size);

/* Collective on comm: on rank 0, *hosts_out (malloc'ed; NULL if out of
 * memory) receives the ranks' distinct host names in rank order, comma
 * separated, and libraries the versions of HDF5, MPI, OpenBLAS, libyaml
 * and zlib; other ranks only send their host. */
void sw_gather_provenance(MPI_Comm comm, int rank, int size, const char *host, char **hosts_out, char *libraries,
                          size_t lib_size);

#endif

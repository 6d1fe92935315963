/* What this build was made from, for the provenance of results files.
 * Defined in src/buildinfo.c, which make writes at every build (see
 * Makefile.am), so the values describe the objects actually linked. */
#ifndef SW_BUILDINFO_H
#define SW_BUILDINFO_H

extern const char sw_build_git_describe[];   /* git describe --always --dirty --tags */
extern const char sw_build_cc[];             /* compiler and MPI version */
extern const char sw_build_cflags[];         /* CFLAGS and the project's own flags */

#endif

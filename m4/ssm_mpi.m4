# SSM_PROG_MPICC: the MPI flags come from the Open MPI C wrapper, but the
# wrapper is not the compiler of every object: the computational core is
# built without MPI's include path, so no MPI call can creep into it.  CC is
# the compiler the wrapper runs (`mpicc --showme:command`) unless the user
# sets CC; MPI_CFLAGS and MPI_LIBS (`--showme:compile`, `--showme:link`) go
# to the batch layer and the command line only.  Both may be set by hand for
# an MPI without the Open MPI wrapper options.
AC_DEFUN([SSM_PROG_MPICC], [
  AC_ARG_VAR([MPICC], [MPI C compiler wrapper whose flags are used (default: mpicc)])
  AC_ARG_VAR([MPI_CFLAGS], [C preprocessor flags for MPI (default: mpicc --showme:compile)])
  AC_ARG_VAR([MPI_LIBS], [linker flags for MPI (default: mpicc --showme:link)])
  AS_IF([test -z "$MPICC"], [AC_PATH_PROGS([MPICC], [mpicc], [])])
  AS_IF([test -z "$MPICC"],
    [AC_MSG_ERROR([the Open MPI C wrapper 'mpicc' was not found; on Debian: apt-get install libopenmpi-dev openmpi-bin])])
  AS_IF([test -z "$CC"], [CC=`$MPICC --showme:command 2>/dev/null`])
  AS_IF([test -z "$MPI_CFLAGS"], [MPI_CFLAGS=`$MPICC --showme:compile 2>/dev/null`])
  AS_IF([test -z "$MPI_LIBS"], [MPI_LIBS=`$MPICC --showme:link 2>/dev/null`])
  AS_IF([test -z "$CC" || test -z "$MPI_LIBS"],
    [AC_MSG_ERROR([$MPICC does not tell its compiler and flags (--showme); set CC, MPI_CFLAGS and MPI_LIBS])])
  ssm_mpi_version=`$MPICC --showme:version 2>/dev/null | sed -n 's/.*Open MPI[[^0-9]]*\([[0-9.]]*\).*/\1/p'`
  AS_IF([test -z "$ssm_mpi_version"], [ssm_mpi_version=unknown])
  SSM_MPI_VERSION=$ssm_mpi_version
  AC_SUBST([SSM_MPI_VERSION])
])

# SSM_CHECK_MPI: the flags link an MPI program.
AC_DEFUN([SSM_CHECK_MPI], [
  ssm_save_CPPFLAGS="$CPPFLAGS"; ssm_save_LIBS="$LIBS"
  CPPFLAGS="$CPPFLAGS $MPI_CFLAGS"; LIBS="$MPI_LIBS $LIBS"
  AC_MSG_CHECKING([whether MPI programs link])
  AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <mpi.h>]], [[MPI_Init(0, 0); MPI_Finalize();]])],
    [AC_MSG_RESULT([yes])],
    [AC_MSG_RESULT([no]); AC_MSG_ERROR([cannot link with MPI_CFLAGS='$MPI_CFLAGS' MPI_LIBS='$MPI_LIBS'; on Debian: apt-get install libopenmpi-dev])])
  CPPFLAGS="$ssm_save_CPPFLAGS"; LIBS="$ssm_save_LIBS"
])

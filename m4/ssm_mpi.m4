# SSM_PROG_MPICC: use the Open MPI C wrapper as CC, so every object is built
# with the MPI include and library flags the site's MPI expects.
AC_DEFUN([SSM_PROG_MPICC], [
  AC_ARG_VAR([MPICC], [MPI C compiler wrapper (default: mpicc)])
  AS_IF([test -z "$MPICC"], [AC_PATH_PROGS([MPICC], [mpicc], [])])
  AS_IF([test -z "$MPICC"],
    [AC_MSG_ERROR([the Open MPI C wrapper 'mpicc' was not found; on Debian: apt-get install libopenmpi-dev openmpi-bin])])
  CC="$MPICC"
  ssm_mpi_version=`$MPICC --showme:version 2>/dev/null | sed -n 's/.*Open MPI[[^0-9]]*\([[0-9.]]*\).*/\1/p'`
  AS_IF([test -z "$ssm_mpi_version"], [ssm_mpi_version=unknown])
])

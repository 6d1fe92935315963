# SSM_SUMMARY: what this configuration found and will build.
AC_DEFUN([SSM_SUMMARY], [
  cat <<SSM_EOF

ssmsweep $PACKAGE_VERSION configured
  C compiler               : $CC
  MPI                      : Open MPI $ssm_mpi_version (flags from $MPICC)
  CFLAGS                   : $CFLAGS $SSM_SAN_CFLAGS
  OpenBLAS                 : $ssm_openblas_version
  LAPACKE                  : ${LAPACKE_LIBS:-in OpenBLAS}
  HDF5 (Open MPI)          : $ssm_hdf5_version (with hdf5_hl)
  libyaml                  : $ssm_yaml_version
  zlib                     : $ssm_zlib_version
  FFTW                     : $ssm_fftw_version
  git describe (now)       : $ssm_git_describe
  AddressSanitizer         : $enable_asan
  UBSanitizer              : $enable_ubsan
  debug build              : $enable_debug
  mpirun for tests         : $MPIRUN
  python3 for tests        : $PYTHON3
  libssm (shared, static)  : $libdir, headers in $includedir/ssm
  Python package ssmsweep  : ${ssm_have_python}${pythondir:+ ($pythondir)}
SSM_EOF
])

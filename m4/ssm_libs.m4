# Library checks.  Each fails with the Debian package that provides it.

AC_DEFUN([SSM_CHECK_MATH], [
  AC_SEARCH_LIBS([cexp], [m], [], [AC_MSG_ERROR([libm with C99 complex functions not found])])
])

# OpenBLAS provides CBLAS; Debian ships a pkg-config file for it.
AC_DEFUN([SSM_CHECK_OPENBLAS], [
  PKG_CHECK_MODULES([OPENBLAS], [openblas], [],
    [AC_MSG_ERROR([OpenBLAS not found; on Debian: apt-get install libopenblas-dev])])
  ssm_save_CPPFLAGS="$CPPFLAGS"; ssm_save_LIBS="$LIBS"
  CPPFLAGS="$CPPFLAGS $OPENBLAS_CFLAGS"; LIBS="$OPENBLAS_LIBS $LIBS"
  AC_CHECK_HEADER([cblas.h], [],
    [AC_MSG_ERROR([cblas.h not found; on Debian: apt-get install libopenblas-dev])])
  AC_CHECK_FUNC([cblas_dgemm], [],
    [AC_MSG_ERROR([cblas_dgemm not found in OpenBLAS; on Debian: apt-get install libopenblas-dev])])
  AC_CHECK_FUNCS([openblas_set_num_threads openblas_get_config])
  CPPFLAGS="$ssm_save_CPPFLAGS"; LIBS="$ssm_save_LIBS"
  ssm_openblas_version=`$PKG_CONFIG --modversion openblas 2>/dev/null`
])

AC_DEFUN([SSM_CHECK_LAPACKE], [
  ssm_save_CPPFLAGS="$CPPFLAGS"; ssm_save_LIBS="$LIBS"
  CPPFLAGS="$CPPFLAGS $OPENBLAS_CFLAGS"; LIBS="$OPENBLAS_LIBS $LIBS"
  AC_CHECK_HEADER([lapacke.h], [],
    [AC_MSG_ERROR([lapacke.h not found; on Debian: apt-get install liblapacke-dev])])
  AC_SEARCH_LIBS([LAPACKE_dsyevr], [lapacke], [],
    [AC_MSG_ERROR([LAPACKE not found; on Debian: apt-get install liblapacke-dev])])
  LAPACKE_LIBS="$LIBS"
  CPPFLAGS="$ssm_save_CPPFLAGS"; LIBS="$ssm_save_LIBS"
  LAPACKE_LIBS=`echo "$LAPACKE_LIBS" | sed "s|$OPENBLAS_LIBS||; s|$LIBS||"`
  AC_SUBST([LAPACKE_LIBS])
])

# The Open MPI flavour of HDF5, plus the high-level library (dimension
# scales) that Debian's hdf5-openmpi.pc does not list.
AC_DEFUN([SSM_CHECK_HDF5], [
  PKG_CHECK_MODULES([HDF5], [hdf5-openmpi], [],
    [AC_MSG_ERROR([HDF5 (Open MPI flavour) not found; on Debian: apt-get install libhdf5-openmpi-dev])])
  ssm_save_CPPFLAGS="$CPPFLAGS"; ssm_save_LIBS="$LIBS"
  CPPFLAGS="$CPPFLAGS $HDF5_CFLAGS"; LIBS="$HDF5_LIBS $LIBS"
  AC_CHECK_HEADER([hdf5_hl.h], [],
    [AC_MSG_ERROR([hdf5_hl.h not found; on Debian: apt-get install libhdf5-openmpi-dev])])
  AC_CHECK_LIB([hdf5_hl], [H5DSset_scale], [HDF5_LIBS="$HDF5_LIBS -lhdf5_hl"],
    [AC_MSG_ERROR([libhdf5_hl not found; on Debian: apt-get install libhdf5-openmpi-dev])])
  CPPFLAGS="$ssm_save_CPPFLAGS"; LIBS="$ssm_save_LIBS"
  ssm_hdf5_version=`$PKG_CONFIG --modversion hdf5-openmpi 2>/dev/null`
  AC_SUBST([HDF5_LIBS])
])

# libyaml parses the sweep specs.
AC_DEFUN([SSM_CHECK_YAML], [
  PKG_CHECK_MODULES([YAML], [yaml-0.1], [],
    [AC_MSG_ERROR([libyaml not found; on Debian: apt-get install libyaml-dev])])
  ssm_yaml_version=`$PKG_CONFIG --modversion yaml-0.1 2>/dev/null`
])

# zlib: CRC-32 of the journal frames (and gzip input later).
AC_DEFUN([SSM_CHECK_ZLIB], [
  PKG_CHECK_MODULES([ZLIB], [zlib], [],
    [AC_MSG_ERROR([zlib not found; on Debian: apt-get install zlib1g-dev])])
  ssm_zlib_version=`$PKG_CONFIG --modversion zlib 2>/dev/null`
])

# SSM_PROVENANCE: what configure knows of this build for the summary.  The
# results files record git describe, the compiler and the full flag set as
# they are when the objects are built (src/buildinfo.c, made by make at
# every build), not at configure time, which edits made since would
# contradict.
AC_DEFUN([SSM_PROVENANCE], [
  ssm_git_describe=`cat "$srcdir/.tarball-version" 2>/dev/null || (cd "$srcdir" && git describe --always --dirty --tags 2>/dev/null) || echo unknown`
])

# FFTW computes the long convolutions of the training engines: double
# precision (fftw3) and single precision (fftw3f, the deep classifier).
AC_DEFUN([SSM_CHECK_FFTW], [
  PKG_CHECK_MODULES([FFTW], [fftw3 fftw3f], [],
    [AC_MSG_ERROR([FFTW 3 not found; on Debian: apt-get install libfftw3-dev])])
  ssm_fftw_version=`$PKG_CONFIG --modversion fftw3 2>/dev/null`
])

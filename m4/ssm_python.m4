# SSM_PYTHON: the interpreter the Python package `ssmsweep` is installed
# for, and where.  Debian's /usr/bin/python3 first: a python3 earlier on
# PATH (pyenv, a venv) lacks Debian's numpy, h5py and xarray.  Optional:
# without Python 3 the package is not installed (the program is).
AC_DEFUN([SSM_PYTHON], [
  AS_IF([test -z "$PYTHON" && test -x /usr/bin/python3], [PYTHON=/usr/bin/python3])
  AM_PATH_PYTHON([3.7], [ssm_have_python=yes], [ssm_have_python=no])
  AM_CONDITIONAL([SSM_HAVE_PYTHON], [test "x$ssm_have_python" = xyes])
  # Automake installs into .../site-packages, which Debian's python3 does not
  # read: its own scheme (posix_local) puts packages of /usr/local into
  # /usr/local/lib/python3.X/dist-packages, and that is on its sys.path.
  AS_IF([test "x$ssm_have_python" = xyes &&
         test "`$PYTHON -c 'import sysconfig; print(sysconfig.get_default_scheme())' 2>/dev/null`" = posix_local],
    [pythondir=`echo "$pythondir" | sed 's,/site-packages$,/dist-packages,'`
     pkgpythondir=`echo "$pkgpythondir" | sed 's,/site-packages/,/dist-packages/,'`])
])

# SSM_REQUIRE_C11: the code is C11 (with POSIX extensions from config.h).
AC_DEFUN([SSM_REQUIRE_C11], [
  AX_CHECK_COMPILE_FLAG([-std=c11], [CFLAGS="$CFLAGS -std=c11"],
    [AC_MSG_ERROR([the C compiler does not accept -std=c11; on Debian: apt-get install gcc])])
])

# SSM_WARNINGS: the warnings the code is kept clean of.
AC_DEFUN([SSM_WARNINGS], [
  SSM_WARN_CFLAGS=""
  for flag in -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla; do
    AX_CHECK_COMPILE_FLAG([$flag], [SSM_WARN_CFLAGS="$SSM_WARN_CFLAGS $flag"])
  done
  AC_SUBST([SSM_WARN_CFLAGS])
])

# SSM_ENABLE_SANITIZERS: --enable-asan, --enable-ubsan, --enable-debug.
AC_DEFUN([SSM_ENABLE_SANITIZERS], [
  AC_ARG_ENABLE([asan], [AS_HELP_STRING([--enable-asan], [build with AddressSanitizer])],
    [], [enable_asan=no])
  AC_ARG_ENABLE([ubsan], [AS_HELP_STRING([--enable-ubsan], [build with UndefinedBehaviorSanitizer])],
    [], [enable_ubsan=no])
  AC_ARG_ENABLE([debug], [AS_HELP_STRING([--enable-debug], [no optimization, full debug information])],
    [], [enable_debug=no])
  SSM_SAN_CFLAGS=""
  AS_IF([test "x$enable_asan" = xyes], [SSM_SAN_CFLAGS="$SSM_SAN_CFLAGS -fsanitize=address"])
  AS_IF([test "x$enable_ubsan" = xyes],
    [SSM_SAN_CFLAGS="$SSM_SAN_CFLAGS -fsanitize=undefined -fno-sanitize-recover=undefined"])
  AS_IF([test -n "$SSM_SAN_CFLAGS"],
    [SSM_SAN_CFLAGS="$SSM_SAN_CFLAGS -fno-omit-frame-pointer -g"
     ssm_save_CFLAGS="$CFLAGS"; ssm_save_LDFLAGS="$LDFLAGS"
     CFLAGS="$CFLAGS $SSM_SAN_CFLAGS"; LDFLAGS="$LDFLAGS $SSM_SAN_CFLAGS"
     AC_MSG_CHECKING([whether the sanitizers link])
     AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])], [AC_MSG_RESULT([yes])],
       [AC_MSG_RESULT([no]); AC_MSG_ERROR([sanitizer runtime missing; on Debian: apt-get install gcc (libasan8, libubsan1)])])
     CFLAGS="$ssm_save_CFLAGS"; LDFLAGS="$ssm_save_LDFLAGS"])
  AS_IF([test "x$enable_debug" = xyes], [SSM_SAN_CFLAGS="$SSM_SAN_CFLAGS -O0 -g3"])
  AC_SUBST([SSM_SAN_CFLAGS])
  AM_CONDITIONAL([SSM_ASAN], [test "x$enable_asan" = xyes])
])

# SSM_VECTORIZE: GCC 12's -O2 vectorizes only loops whose trip count is a
# known multiple of the vector width ("very cheap" cost model); the deep
# model's elementwise loops run over sequence lengths known at run time.
# Vectorizing elementwise arithmetic does not change a single rounding
# (no reassociation, no contraction in ISO C mode), so results stay
# bit-identical.  -fno-trapping-math lets loops with comparisons and
# float-to-int conversions (the clamps of vexpf) be if-converted; it
# only gives up floating-point exception flags, which nothing here reads.
AC_DEFUN([SSM_VECTORIZE], [
  SSM_VEC_CFLAGS=""
  for flag in -fvect-cost-model=dynamic -fno-trapping-math; do
    AX_CHECK_COMPILE_FLAG([$flag], [SSM_VEC_CFLAGS="$SSM_VEC_CFLAGS $flag"])
  done
  AC_SUBST([SSM_VEC_CFLAGS])
])

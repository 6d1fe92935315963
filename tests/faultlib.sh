# Sourced by the failure-path tests after setup.sh: the LD_PRELOAD fault
# injection library (tests/faultinject.c), built for the test with the
# system compiler and without sanitizers.

# build_faultinject: builds $scratch/faultinject.so into FAULT_SO; returns
# non-zero (with the reason on stdout) if there is no compiler.
build_faultinject() {
  FAULT_SO="$scratch/faultinject.so"
  cc=$(command -v cc || command -v gcc) || { echo "no C compiler for the fault injection library"; return 1; }
  "$cc" -shared -fPIC -O2 -o "$FAULT_SO" "$TOP_SRCDIR/tests/faultinject.c" -ldl > "$scratch/faultinject.log" 2>&1 \
    || { echo "cannot build the fault injection library: $(head -3 "$scratch/faultinject.log")"; return 1; }
  # under AddressSanitizer the preloaded library comes before its runtime
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"; export ASAN_OPTIONS
}

# with_fault CALLS PATTERN NTH ERRNO MODE -- COMMAND...: COMMAND with the
# library preloaded (see tests/faultinject.c for what the fields mean).
with_fault() {
  _calls=$1 _path=$2 _nth=$3 _errno=$4 _mode=$5; shift 6
  LD_PRELOAD="$FAULT_SO" FAULT_CALLS="$_calls" FAULT_PATH="$_path" FAULT_NTH="$_nth" FAULT_ERRNO="$_errno" \
    FAULT_MODE="$_mode" FAULT_LOG="${FAULT_LOG:-$scratch/faults.log}" "$@"
}

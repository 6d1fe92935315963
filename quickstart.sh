#!/bin/bash
# ssmsweep quick start (Debian 12, as root or with sudo):
#   ./quickstart.sh          install the Debian packages, build, run the default job
#   ./quickstart.sh check    install, build, run the whole test suite; the last
#                            line reads "N passed, N failed"
# Both are idempotent: packages already installed and an up-to-date build are
# left as they are.
set -euo pipefail
cd "$(dirname "$0")"
top=$PWD
mode=${1:-run}

# Everything the build, the tests and the benchmarks' peers need.
packages=(
  build-essential autoconf automake libtool pkg-config
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools
  libopenblas-dev liblapacke-dev libyaml-dev libfftw3-dev zlib1g-dev
  python3 python3-numpy python3-mpmath python3-matplotlib python3-h5py
  python3-xarray python3-h5netcdf python3-pytest python3-yaml groff-base
  slurm-wlm munge
  dataset-fashion-mnist
)

install_packages() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "quickstart: installing ${missing[*]}"
  local sudo=
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "quickstart: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# configure_tree DIR [configure options]: an out-of-tree build in DIR.
configure_tree() {
  local dir=$1; shift
  [ -x "$top/configure" ] && [ "$top/configure" -nt "$top/configure.ac" ] || "$top/autogen.sh" >/dev/null 2>&1
  mkdir -p "$dir"
  if [ ! -f "$dir/Makefile" ] || [ "$top/configure" -nt "$dir/config.status" ]; then
    (cd "$dir" && "$top/configure" "$@" >configure.out) || { cat "$dir/config.log" | tail -30; exit 1; }
  fi
  make -C "$dir" -j"$(nproc)" >/dev/null
}

# count_results DIR: adds the Automake .trs results of DIR to the totals.
passed=0 failed=0 skipped=0
count_results() {
  local p f s
  p=$(cat "$1"/tests/*.trs 2>/dev/null | grep -c '^:test-result: \(PASS\|XFAIL\)' || true)
  f=$(cat "$1"/tests/*.trs 2>/dev/null | grep -c '^:test-result: \(FAIL\|XPASS\|ERROR\)' || true)
  s=$(cat "$1"/tests/*.trs 2>/dev/null | grep -c '^:test-result: SKIP' || true)
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

# check_tree DIR LABEL: make check, results counted, failures shown.
check_tree() {
  echo "== $2"
  if ! make -C "$1" -k -j"$(nproc)" check >"$1/check.out" 2>&1; then
    grep -E '^(FAIL|ERROR|XPASS)' "$1/check.out" || tail -20 "$1/check.out"
    for log in "$1"/tests/*.log; do
      grep -q '^:test-result: \(FAIL\|ERROR\)' "${log%.log}.trs" 2>/dev/null && { echo "--- $log"; tail -25 "$log"; }
    done
  fi
  count_results "$1"
  grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR)' "$1/check.out" | tr '\n' ' '; echo
}

export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
install_packages

case "$mode" in
run)
  configure_tree "$top/_build"
  # the default sweep: figure 1 as one HDF5 file, on every core
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  mkdir -p "$top/results"
  mpirun -np "$(nproc)" "$top/_build/src/ssmsweep" run "$top/jobs/examples/figure1.yaml" \
    -o "$top/results/figure1.h5" --force
  "$top/_build/src/ssmsweep" status "$top/results/figure1.h5"
  # the picture, from the sweep's file; the same profiles as CSV
  if /usr/bin/python3 -c 'import matplotlib, h5py' 2>/dev/null; then
    /usr/bin/python3 "$top/analysis/ssmsweep-plot" mf "$top/results/figure1.h5" -o "$top/results/figure1.png"
  fi
  "$top/_build/src/ssmsweep" figure1 --outdir "$top/results/figure1"
  echo "quickstart: results in $top/results/ (figure1.h5, figure1.png, figure1/*.csv; see README.md)"
  ;;
check)
  configure_tree "$top/_build"
  check_tree "$top/_build" "test suite"
  # the same suite under AddressSanitizer and UBSan: no leak, no UB
  configure_tree "$top/_build-sanitize" --enable-asan --enable-ubsan
  check_tree "$top/_build-sanitize" "test suite under ASan + UBSan"
  # the tarball: builds, installs, every tracked file in it, a sample of
  # the suite (the whole suite just ran twice; `make distcheck` runs it all)
  echo "== make distcheck"
  if make -C "$top/_build" distcheck-sample >"$top/_build/distcheck.out" 2>&1; then
    passed=$((passed + 1)); echo "distcheck: PASS"
  else
    failed=$((failed + 1)); echo "distcheck: FAIL"; tail -30 "$top/_build/distcheck.out"
  fi
  echo "$passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
  ;;
*)
  echo "usage: $0 [run|check]" >&2
  exit 2
  ;;
esac

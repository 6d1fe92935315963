#!/bin/sh
# The Python package ssmsweep (analysis/ssmsweep) under pytest: open_sweep and
# open_sweeps on files the real binary writes (test_sweep_xr.py); mf, eig and
# s4d_eigenvalues through the build tree's libssm against the CLI
# (test_core.py).
. "$TOP_BUILDDIR/tests/setup.sh"
for m in pytest h5py xarray yaml; do
  have_python3_module $m || { echo "SKIP: Debian's python3-$m is missing"; exit 77; }
done
PYTHONPATH="$TOP_SRCDIR/analysis${PYTHONPATH:+:$PYTHONPATH}"; export PYTHONPATH
# the sweeps run MPI_Init: no LeakSanitizer exit scan (setup.sh)
without_leak_scan
# A libssm built with AddressSanitizer loads into python3 only behind the
# ASan runtime, which must come first
if ldd "$SSMSWEEP_LIBSSM" | grep -q libasan; then
  LD_PRELOAD=$(${CC:-gcc} -print-file-name=libasan.so); export LD_PRELOAD
fi
cd "$scratch" && "$PYTHON3" -m pytest -q -p no:cacheprovider \
  "$TOP_SRCDIR/tests/analysis/test_sweep_xr.py" "$TOP_SRCDIR/tests/analysis/test_core.py"

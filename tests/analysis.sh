#!/bin/sh
# The analysis command (analysis/ssmsweep-plot) under pytest, on files the
# real binary writes.
. "$TOP_BUILDDIR/tests/setup.sh"
for m in pytest h5py matplotlib; do
  have_python3_module $m || { echo "SKIP: Debian's python3-$m is missing"; exit 77; }
done
# the sweeps run MPI_Init: no LeakSanitizer exit scan (setup.sh)
without_leak_scan
cd "$scratch" && "$PYTHON3" -m pytest -q -p no:cacheprovider "$TOP_SRCDIR/tests/analysis/test_plot.py"

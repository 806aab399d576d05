#!/usr/bin/env bash
# Run here, with a network: the wheels benchmarks/gpu_check.sh installs on a GPU machine
# that has none (Python 3.12, manylinux x86_64; numba, numba-cuda, cupy, numpy, pyarrow,
# networkx, rich and pytest are already there). Into benchmarks/wheels/ (gitignored; name
# it in the device run's `carry`), under 64 MiB:
#   lark, interegular          DFL's parser
#   setuptools                 for an editable install of the checkout (fresh code)
#   hypothesis (+ attrs, sortedcontainers)   the tests' property library
#   dfl-*.whl                  DFL itself, built from this checkout (the fallback install)
# Usage: bash benchmarks/wheels.sh [DEST]
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-benchmarks/wheels}
PY=${PYTHON:-python3}
mkdir -p "$DEST"
rm -f "$DEST"/dfl-*.whl
"$PY" -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
    -d "$DEST" "lark>=1.2" "interegular>=0.3" "setuptools>=64" "hypothesis>=6.100"
"$PY" -m pip wheel -q --no-deps --find-links "$DEST" -w "$DEST" .
rm -rf build  # setuptools' build folder
ls -l "$DEST"
size=$(du -sm "$DEST" | cut -f1)
echo "wheels: ${size} MiB in $DEST"
if [ "$size" -gt 64 ]; then echo "over the 64 MiB a device run carries" >&2; exit 1; fi

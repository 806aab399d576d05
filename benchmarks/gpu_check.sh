#!/usr/bin/env bash
# The real-GPU check (issue 12, item 4), for a machine with an NVIDIA GPU and no network:
# Python 3.12 with numba, numba-cuda, cupy, numpy, pyarrow, networkx, rich and pytest
# already installed. In under 8 minutes (a hard `timeout`), it
#   1. installs DFL without fetching anything: the wheels benchmarks/wheels.sh put in
#      benchmarks/wheels/ (lark, interegular, setuptools, hypothesis, DFL itself), into a
#      venv that sees the machine's packages;
#   2. runs the cuda tests without the simulator (tests/backends/cuda/);
#   3. runs the acceptance suite with --target cuda (shared/acceptance, ../shared/acceptance
#      or $DFL_SHARED/acceptance; skipped, saying so, when none is there);
#   4. runs the four workloads on cuda against cpu (benchmarks/gpu_bench.py) and prints one
#      table, then the measured constants that recalibrate the cost model.
# Usage: bash benchmarks/gpu_check.sh [--quick]     (--quick: tiny sizes, a dry run)
# Output: stdout, and $OUT/gpu_check/ (or ./gpu_check_out/) with each step's log.
# Exit status: 0 when every step that ran passed, 1 otherwise.
set -uo pipefail

BUDGET_S=${GPU_CHECK_BUDGET_S:-470}
if [ -z "${GPU_CHECK_INNER:-}" ]; then
    exec timeout --kill-after=10 "$BUDGET_S" env GPU_CHECK_INNER=1 bash "$0" "$@"
fi

cd "$(dirname "$0")/.."
ROOT=$(pwd)
QUICK=""
[ "${1:-}" = "--quick" ] && QUICK="--quick"
PY=${PYTHON:-}
if [ -z "$PY" ]; then  # the first that runs (a pyenv shim may name a version it cannot run)
    for c in python3.12 python3 python; do
        if "$c" -c "" >/dev/null 2>&1; then PY=$c; break; fi
    done
fi
WHEELS=${DFL_WHEELS:-$ROOT/benchmarks/wheels}
LOGS=${OUT:-$ROOT/gpu_check_out}/gpu_check
mkdir -p "$LOGS"
VENV=${GPU_CHECK_VENV:-/tmp/dfl-gpu-venv}
STATUS=0
declare -a SUMMARY

step() {  # step NAME SECONDS CMD...: runs CMD under its own timeout, logs it, records the outcome
    local name=$1 secs=$2; shift 2
    local left=$((BUDGET_S - 15 - SECONDS))
    if [ "$left" -lt 20 ]; then
        SUMMARY+=("$name: skipped (the 8-minute budget is spent)"); STATUS=1; return
    fi
    [ "$secs" -gt "$left" ] && secs=$left
    echo "== $name (at most ${secs} s)"
    local t0=$SECONDS
    timeout --kill-after=5 "$secs" "$@" 2>&1 | tee "$LOGS/$name.log"
    local rc=${PIPESTATUS[0]}
    local took=$((SECONDS - t0))
    if [ "$rc" -eq 0 ]; then
        SUMMARY+=("$name: ok (${took} s)")
    elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        SUMMARY+=("$name: TIMEOUT after ${took} s"); STATUS=1
    else
        SUMMARY+=("$name: FAILED, exit $rc (${took} s; log: $LOGS/$name.log)"); STATUS=1
    fi
}

echo "== machine"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || echo "nvidia-smi: none"
  "$PY" --version; nproc; } | tee "$LOGS/machine.log"

do_install() {
    if [ ! -d "$WHEELS" ]; then
        echo "no wheels folder $WHEELS: run benchmarks/wheels.sh on a machine with a network first"; return 1
    fi
    "$PY" -m venv --system-site-packages "$VENV" || return 1
    local pip=("$VENV/bin/python" -m pip install -q --no-index --find-links "$WHEELS")
    "${pip[@]}" lark interegular || return 1
    "${pip[@]}" hypothesis || echo "hypothesis did not install: the tests that need it will fail or skip"
    # the source as it is (an editable install needs setuptools, which travels as a wheel);
    # else the wheel of DFL that wheels.sh built (it may be older than this checkout)
    # --ignore-installed: the machine's own setuptools may be too old for an editable install
    if "${pip[@]}" --ignore-installed setuptools && "${pip[@]}" --no-build-isolation --no-deps -e "$ROOT"; then
        echo "installed DFL from the source (editable)"
    else
        echo "editable install failed; installing the prebuilt DFL wheel"
        "${pip[@]}" --no-deps --force-reinstall "$WHEELS"/dfl-*.whl || return 1
    fi
    "$VENV/bin/python" -c "import dfl, numba; from dfl.runtime.devices import gpu; g = gpu(); print('dfl from', dfl.__file__, '| numba', numba.__version__, '| GPU:', g.why)"
}
export PY WHEELS VENV ROOT
export -f do_install
step install 60 bash -c do_install
PYV="$VENV/bin/python"
DFL="$VENV/bin/dfl"
if ! "$PYV" -c "import dfl" >/dev/null 2>&1; then
    echo "DFL is not installed: the other steps cannot run"
    SUMMARY+=("cuda-tests, acceptance-cuda, workloads: not run (DFL did not install)")
    printf '%s\n' "${SUMMARY[@]}"
    exit 1
fi

# 2. the cuda tests on the real device: the simulator must be off
if [ -d tests/backends/cuda ]; then
    step cuda-tests 140 env -u NUMBA_ENABLE_CUDASIM DFL_NO_GPU= "$PYV" -m pytest -q -x -p no:cacheprovider tests/backends/cuda
else
    SUMMARY+=("cuda-tests: skipped (no tests/backends/cuda in this checkout)")
fi

# 3. the acceptance suite on cuda
SHARED=""
for d in "${DFL_SHARED:-}" "$ROOT/shared" "$ROOT/../shared"; do
    if [ -n "$d" ] && [ -f "$d/tools/acceptance.py" ] && [ -d "$d/acceptance" ]; then SHARED=$d; break; fi
done
if [ -n "$SHARED" ]; then
    step acceptance-cuda 80 env -u NUMBA_ENABLE_CUDASIM "$PYV" "$SHARED/tools/acceptance.py" --dfl "$DFL" \
        --extra-args="--target cuda" "$SHARED/acceptance"
else
    SUMMARY+=("acceptance-cuda: skipped (no shared/acceptance here: set DFL_SHARED or copy ../shared into the checkout)")
fi

# 4. the workloads, cuda against cpu (2 cores), one table
step workloads 210 env -u NUMBA_ENABLE_CUDASIM NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-/tmp/dfl-gpu-numba-cache}" \
    "$PYV" benchmarks/gpu_bench.py $QUICK --cell-timeout 75 --json "$LOGS/gpu_bench.json"

echo
echo "== summary ($SECONDS s)"
printf '%s\n' "${SUMMARY[@]}"
if [ -f "$LOGS/workloads.log" ]; then
    echo
    grep -E '^\|' "$LOGS/workloads.log" || true
    echo
    sed -n '/^calibration/,$p' "$LOGS/workloads.log"
fi
exit $STATUS

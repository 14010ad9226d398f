#!/usr/bin/env bash
# Signal benchmark: kmerl's measurement pipeline (speed, delineation vs LUDB experts, lead-subset agreement) beside
# NeuroKit2 (ecg_delineate dwt, ecg_process) on the same LUDB records 1-100.
# Needs python3 with `pip install wfdb neurokit2`. Usage: Benchmarks/signal.sh [DATA_ROOT]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${1:-${KMERL_SHARED_DATA:-$here/../../shared/data}}"
data="$(cd "$data" && pwd)"
stats="$(mktemp -t kmerl-signal-XXXXXX.json)"
trap 'rm -f "$stats"' EXIT
(cd "$here" && swift build -c release --product bench-signal >&2)
"$here/.build/release/bench-signal" "$data" "$stats"
python3 -c "import neurokit2, wfdb" 2>/dev/null || { echo "NeuroKit2 comparison skipped: pip install wfdb neurokit2" >&2; exit 0; }
# One core for NeuroKit2 as for kmerl (whose figure is its own thread's CPU time): no BLAS/OpenMP
# worker threads whose CPU time process_time() would add (or whose spinning it would count).
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python3 "$here/signal_neurokit.py" "$data" "$stats"

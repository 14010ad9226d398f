#!/usr/bin/env bash
# Benchmark for `kmerl-batch nightly`: a night with nothing new over an inbox of 10,000 records
# that were all processed before must finish in under 2 s (files are recognised by size + mtime,
# never re-hashed). Builds the real binary in release mode and times it end to end.
#
#   Benchmarks/nightly.sh [RECORDS]        (default 10000; needs ../shared/data beside the project)
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${1:-10000}
DATA=${KMERL_SHARED_DATA:-$(cd .. && pwd)/shared/data}
SRC="$DATA/ptbxl/records100"
[ -d "$SRC" ] || { echo "shared data not found at $SRC" >&2; exit 1; }

swift build -c release --product kmerl-batch >/dev/null
BIN=$(swift build -c release --show-bin-path)/kmerl-batch
(cd Benchmarks && swift build -c release --product bench-nightly >/dev/null)
BENCH=$(cd Benchmarks && swift build -c release --show-bin-path)/bench-nightly

# KMERL_NIGHTLY_BENCH_DIR=DIR keeps the work area there (and reuses it when already populated).
if [ -n "${KMERL_NIGHTLY_BENCH_DIR:-}" ]; then
    WORK=$KMERL_NIGHTLY_BENCH_DIR; mkdir -p "$WORK"
else
    WORK=$(mktemp -d /tmp/kmerl-nightly-bench.XXXXXX)
    trap 'rm -rf "$WORK"' EXIT
fi
now() { date +%s.%N; }
ARGS=(--inbox "$WORK/inbox" --reports "$WORK/reports" --db "$WORK/kb.sqlite")
if [ ! -f "$WORK/kb.sqlite" ]; then
rm -rf "$WORK/inbox"; mkdir -p "$WORK/inbox"

# RECORDS real PTB-XL records (header + signal file each): the 1,625 records repeated in
# numbered sub-folders, hard-linked when possible (same content, no extra disk), else copied.
mapfile -t HEADERS < <(find "$SRC" -name '*.hea' | sort)
n=0; copy=0
while [ "$n" -lt "$RECORDS" ]; do
    copy=$((copy + 1)); dest="$WORK/inbox/copy$copy"; mkdir -p "$dest"
    for h in "${HEADERS[@]}"; do
        [ "$n" -ge "$RECORDS" ] && break
        d="${h%.hea}.dat"
        ln "$h" "$d" "$dest/" 2>/dev/null || cp "$h" "$d" "$dest/"
        n=$((n + 1))
    done
done
echo "inbox: $RECORDS records (hard-linked copies), $(find "$WORK/inbox" -type f | wc -l) files"

# The first run classifies every record: with the embedded default model, or $KMERL_MODEL, or
# (when neither exists) an untrained encoder — the weights do not matter for this measurement.
MODEL_ARGS=()
if [ -n "${KMERL_MODEL:-}" ]; then
    MODEL_ARGS=(--model "$KMERL_MODEL")
elif ! "$BIN" classify --help >/dev/null 2>&1 || [ ! -s "Models/kmerl-default.safetensors" ]; then
    "$BENCH" model "$WORK/model.safetensors"
    MODEL_ARGS=(--model "$WORK/model.safetensors")
fi
t0=$(now)
"$BIN" nightly "${ARGS[@]}" "${MODEL_ARGS[@]}" --min-age 0 --settle 0 | tail -1
t1=$(now)
printf 'first run (hash and process all %d records): %.2f s\n' "$RECORDS" "$(echo "$t1 - $t0" | bc)"
fi

echo "phases of a nothing-new scan (library, release):"
"$BENCH" scan "$WORK/inbox" "$WORK/kb.sqlite" 5

worst=0
for i in 1 2 3 4 5; do
    t0=$(now)
    out=$("$BIN" nightly "${ARGS[@]}" | tail -1)
    t1=$(now)
    s=$(echo "$t1 - $t0" | bc)
    printf 'nothing-new run %d: %.3f s wall   (%s)\n' "$i" "$s" "$out"
    worst=$(echo "if ($s > $worst) $s else $worst" | bc)
done
printf 'worst nothing-new run over %d processed records: %.3f s (target < 2 s): %s\n' \
    "$RECORDS" "$worst" "$( [ "$(echo "$worst < 2" | bc)" = 1 ] && echo PASS || echo FAIL)"
[ "$(echo "$worst < 2" | bc)" = 1 ]

#!/usr/bin/env bash
# Knowledge-base benchmarks (issue 3). Builds release binaries and prints:
#   1. importing the 19,634 PTB-XL reports (extraction + SQLite writes)      target < 2 s
#   2. importing a generated 1,000,000-row MIMIC-IV-ECG machine_measurements.csv
#      (real report lines in that exact layout, written to /tmp)            target ≥ 50,000 reports/s, peak RSS < 300 MB
#   3. `query` on that million-report base                                  target < 50 ms
# Usage: Benchmarks/knowledge.sh [ROWS]   (ROWS defaults to 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DATA=${KMERL_SHARED_DATA:-$ROOT/../shared/data}
ROWS=${1:-1000000}
PTBXL=$DATA/ptbxl/ptbxl_database.csv
SAMPLE=$DATA/mimic-iv-ecg-format/machine_measurements.csv
WORK=$(mktemp -d /tmp/kmerl-kb-bench.XXXXXX)
MIMIC=/tmp/kmerl-mimic-$ROWS.csv
trap 'rm -rf "$WORK"' EXIT

echo "== building (release)"
swift build -c release --product kmerl-kb 2>&1 | tail -1
(cd Benchmarks && swift build -c release --product bench-knowledge 2>&1 | tail -1)
KB=$ROOT/.build/release/kmerl-kb
BENCH=$ROOT/Benchmarks/.build/release/bench-knowledge
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# Runs "$@" under /usr/bin/time -v; prints wall seconds, CPU seconds and peak RSS.
timed() {
    local log=$WORK/time.log
    /usr/bin/time -v "$@" 2>"$log" >"$WORK/out.txt" || { cat "$log" "$WORK/out.txt"; exit 1; }
    WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
    CPU=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$log")
    RSS_MB=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
}

echo
echo "== 1. PTB-XL: import 19,634 reports"
"$KB" ontology load --db "$WORK/ptbxl.sqlite" >/dev/null   # base + embedded ontology, not timed
timed "$KB" import "$PTBXL" --db "$WORK/ptbxl.sqlite" --json
python3 - "$WORK/out.txt" "$WALL" "$CPU" "$RSS_MB" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); wall, cpu, rss = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
print(f"rows {s['rowsRead']}, reports added {s['reportsAdded']}, mentions {s['mentionsAdded']}, skipped {s['rowsSkipped']}")
print(f"import (in process): {s['seconds']:.2f} s; whole command: {wall:.2f} s wall, {cpu:.2f} s CPU, peak RSS {rss} MB  [target < 2 s: {'met' if s['seconds'] < 2 else 'NOT met'}]")
PY
timed "$KB" import "$PTBXL" --db "$WORK/ptbxl.sqlite" --json
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(f\"re-import: {s['reportsAdded']} added, {s['reportsAlreadyPresent']} already present, {s['seconds']:.2f} s\")" "$WORK/out.txt"
timed "$KB" query CLBBB --db "$WORK/ptbxl.sqlite"
echo "query CLBBB on PTB-XL: $WALL s wall (whole command)"; sed -n '1,4p;/^reports/p' "$WORK/out.txt"

echo
echo "== 2. MIMIC-IV-ECG format: $ROWS generated rows"
if [ ! -s "$MIMIC" ]; then
    "$BENCH" generate-mimic "$MIMIC" "$ROWS" "$PTBXL" "$SAMPLE"
fi
echo "file: $MIMIC ($(du -m "$MIMIC" | cut -f1) MB)"
"$KB" ontology load --db "$WORK/mimic.sqlite" >/dev/null
timed "$KB" import "$MIMIC" --db "$WORK/mimic.sqlite" --json
python3 - "$WORK/out.txt" "$WALL" "$CPU" "$RSS_MB" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); wall, cpu, rss = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rate = s['rowsRead'] / wall
print(f"rows {s['rowsRead']}, reports added {s['reportsAdded']}, mentions {s['mentionsAdded']}, skipped {s['rowsSkipped']}")
print(f"whole command: {wall:.2f} s wall = {rate:,.0f} reports/s [target ≥ 50,000: {'met' if rate >= 50000 else 'NOT met'}]; "
      f"peak RSS {rss:.0f} MB [target < 300 MB: {'met' if rss < 300 else 'NOT met'}]")
print(f"CPU: {cpu:.2f} s = {s['rowsRead'] / cpu:,.0f} reports per CPU-second; the process got {cpu / wall:.2f} CPUs "
      f"(a busy machine shows here: the import runs on two threads, writer and producer)")
PY
"$BENCH" import-without-extraction "$WORK/store-only.sqlite" "$MIMIC"
rm -f "$WORK"/store-only.sqlite*
ls -la "$WORK"/mimic.sqlite* | awk '{printf "base file %s: %.0f MB\n", $NF, $5/1048576}'

echo
echo "== 3. query on the $ROWS-report base"
for concept in CLBBB "sinus rhythm" AFIB; do
    timed "$KB" query "$concept" --db "$WORK/mimic.sqlite"
    echo "kmerl-kb query '$concept' (whole command incl. process start): $(python3 -c "print(f'{$WALL*1000:.0f} ms wall, {$CPU*1000:.0f} ms CPU')")"
    "$BENCH" query "$WORK/mimic.sqlite" "$concept" 50
done
timed "$KB" stats --db "$WORK/mimic.sqlite"
echo "kmerl-kb stats: $WALL s"
timed "$KB" --help
echo "(process start alone, kmerl-kb --help: $(python3 -c "print(f'{$WALL*1000:.0f} ms wall, {$CPU*1000:.0f} ms CPU')"))"

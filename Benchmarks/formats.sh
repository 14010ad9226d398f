#!/usr/bin/env bash
# Reading speed of kmerl's WFDB reader vs wfdb-python (wfdb.rdrecord) on the same 1,625 PTB-XL
# records (../shared/data/ptbxl/records100, format 16, 12 leads, 1,000 samples), warm disk cache.
# Prints both rates (records/s), their ratio, and peak RSS over repeated passes (memory must not
# grow with the number of records read).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${KMERL_SHARED_DATA:-$here/../../shared/data}"
folder="$data/ptbxl/records100"
[ -d "$folder" ] || { echo "missing $folder (../shared/data beside the project root)" >&2; exit 1; }

python3 -c "import wfdb" 2>/dev/null || pip install --quiet wfdb==4.3.1

echo "== building bench-formats (release)"
swift build --package-path "$here" -c release --product bench-formats >/dev/null
bin="$(swift build --package-path "$here" -c release --show-bin-path)/bench-formats"

list="$(mktemp)"
trap 'rm -f "$list"' EXIT
find "$folder" -name '*.hea' | sort > "$list"
echo "== records: $(wc -l < "$list") headers under $folder"

# Warm the page cache for both readers.
cat "$folder"/*/*.dat "$folder"/*/*.hea > /dev/null

echo "== kmerl (WFDBReader.read, physical Float samples + ADC statistics)"
kmerl_out="$("$bin" --list "$list" --passes 5)"
echo "$kmerl_out"
kmerl_rate="$(echo "$kmerl_out" | sed -n 's/^KMERL_RECORDS_PER_S=//p')"
kmerl_cpu="$(echo "$kmerl_out" | sed -n 's/^KMERL_RECORDS_PER_CPU_S=//p')"

echo "== wfdb-python $(python3 -c 'import wfdb; print(wfdb.__version__)') (wfdb.rdrecord, physical float64 samples)"
read -r py_rate py_cpu < <(python3 - "$list" <<'PY'
import sys, time, wfdb
paths = [p[:-4] for p in open(sys.argv[1]).read().split()]
best = best_cpu = 0.0
for rep in range(2):
    t, c = time.perf_counter(), time.process_time()
    for p in paths:
        wfdb.rdrecord(p)
    rate = len(paths) / (time.perf_counter() - t)
    cpu_rate = len(paths) / (time.process_time() - c)
    best, best_cpu = max(best, rate), max(best_cpu, cpu_rate)
    print(f"pass {rep + 1}: {rate:.0f} records/s wall, {cpu_rate:.0f} records per CPU-second", file=sys.stderr)
print(f"{best:.1f} {best_cpu:.1f}")
PY
)
echo "== results (best pass; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "wfdb-python: $py_rate records/s wall, $py_cpu records per CPU-second"
echo "kmerl:       $kmerl_rate records/s wall, $kmerl_cpu records per CPU-second (one thread)"
python3 -c "
import sys
k, p, kc, pc = map(float, sys.argv[1:])
print(f'ratio kmerl / wfdb-python: {k / p:.1f}x wall clock, {kc / pc:.1f}x CPU time (target >= 20x)')" "$kmerl_rate" "$py_rate" "$kmerl_cpu" "$py_cpu"

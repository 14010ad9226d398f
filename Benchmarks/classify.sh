#!/usr/bin/env bash
# End-to-end classification throughput and memory on the 1,625 PTB-XL records of
# ../shared/data/ptbxl/records100: read, measure, encode, score every concept, write findings.csv,
# summary.csv and one HTML page per record. Targets: ≥ 200 records/s on 2 cores, peak RSS ≤ 300 MB,
# with all leads and with --leads I. Prints CPU ms/record (user+sys): compare that on a shared machine.
#
#   Benchmarks/classify.sh [--model FILE.safetensors]   (default: the embedded model)
set -euo pipefail
cd "$(dirname "$0")"
data=${KMERL_SHARED_DATA:-$(cd ../.. && pwd)/shared/data}/ptbxl/records100
[ -d "$data" ] || { echo "classify.sh: $data not found (../shared/data beside the project)" >&2; exit 1; }
extra=("$@")

swift build -c release --product bench-classify >/dev/null
bench=$(swift build -c release --show-bin-path)/bench-classify
(cd .. && swift build -c release --product kmerl-batch >/dev/null)
cli=$(cd .. && swift build -c release --show-bin-path)/kmerl-batch
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

swift build -c release --product bench-classify-audit >/dev/null
audit=$(swift build -c release --show-bin-path)/bench-classify-audit

echo "== in-process (bench-classify), jobs = $(nproc) cores"
"$bench" "$data" --out "$out/all" "${extra[@]}"
"$bench" "$data" --leads I --out "$out/leadI" "${extra[@]}"

# What a cardiologist checks first, on the same two report sets: no record states two findings
# that exclude each other, and the overall statement against PTB-XL's diagnostic labels.
echo "== audit of the report sets against PTB-XL (bench-classify-audit), all leads"
"$audit" "$out/all" "$data/.."
echo "== audit, --leads I"
"$audit" "$out/leadI" "$data/.."

echo "== command line (kmerl-batch classify): wall rate, CPU time per record (user+sys) and peak RSS from /usr/bin/time -v"
echo "   (on a shared machine compare CPU ms/record: records/s if both cores were ours = cores × 1000 / (CPU ms/record))"
for leads in "" "I"; do
    args=("$data" --out "$out/cli" --quiet)
    [ -n "$leads" ] && args+=(--leads "$leads")
    [ ${#extra[@]} -gt 0 ] && args+=("${extra[@]}")
    start=$(date +%s.%N)
    /usr/bin/time -v -o "$out/time" "$cli" classify "${args[@]}" || true
    end=$(date +%s.%N)
    n=$(($(wc -l < "$out/cli/summary.csv") - 1))
    user=$(awk -F': ' '/User time/ { print $2 }' "$out/time")
    sys=$(awk -F': ' '/System time/ { print $2 }' "$out/time")
    rss=$(awk -F': ' '/Maximum resident/ { print $2 }' "$out/time")
    awk -v n="$n" -v s="$start" -v e="$end" -v u="$user" -v y="$sys" -v rss="$rss" -v l="${leads:-all}" -v cores="$(nproc)" \
        -v load="$(cut -d' ' -f1 /proc/loadavg)" \
        'BEGIN { cpu = (u + y) * 1000 / n
                 printf "  leads=%s: %d records in %.2f s wall → %.1f records/s; CPU %.2f s user + %.2f s sys = %.2f ms/record → %.0f records/s on %d free cores; peak RSS %.1f MB (load %s)\n",
                        l, n, e - s, n / (e - s), u, y, cpu, cores * 1000 / cpu, cores, rss / 1024, load }'
done

# Why 100 Hz records are delineated at 500 Hz: LUDB brought down to 100 Hz, measured at each
# analysis rate against the same records at their native 500 Hz (interval errors and CPU time).
ludb=${KMERL_SHARED_DATA:-$(cd ../.. && pwd)/shared/data}/ludb/data
if [ -d "$ludb" ]; then
    echo "== analysis rate of 100 Hz records (bench-classify-rate)"
    swift build -c release --product bench-classify-rate >/dev/null
    "$(swift build -c release --show-bin-path)/bench-classify-rate" "$ludb" --rates 500,250
fi

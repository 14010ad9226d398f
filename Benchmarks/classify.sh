#!/usr/bin/env bash
# End-to-end classification throughput and memory on the 1,625 PTB-XL records of
# ../shared/data/ptbxl/records100: read, measure, encode, score every concept, write findings.csv,
# summary.csv and one HTML page per record. Targets: ≥ 200 records/s on 2 cores, peak RSS ≤ 300 MB,
# with all leads and with --leads I.
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

echo "== in-process (bench-classify), jobs = $(nproc) cores"
"$bench" "$data" --out "$out/all" "${extra[@]}"
"$bench" "$data" --leads I --out "$out/leadI" "${extra[@]}"

echo "== command line (kmerl-batch classify), peak RSS from /usr/bin/time"
for leads in "" "I"; do
    args=("$data" --out "$out/cli" --quiet)
    [ -n "$leads" ] && args+=(--leads "$leads")
    [ ${#extra[@]} -gt 0 ] && args+=("${extra[@]}")
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$out/rss" "$cli" classify "${args[@]}" || true
    end=$(date +%s.%N)
    n=$(($(wc -l < "$out/cli/summary.csv") - 1))
    awk -v n="$n" -v s="$start" -v e="$end" -v rss="$(tail -1 "$out/rss")" -v l="${leads:-all}" \
        'BEGIN { printf "  leads=%s: %d records in %.2f s → %.1f records/s, peak RSS %.1f MB\n", l, n, e - s, n / (e - s), rss / 1024 }'
done

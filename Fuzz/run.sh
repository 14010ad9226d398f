#!/usr/bin/env bash
# Builds the libFuzzer targets for kmerl's readers (outside `swift test`) and runs each one.
#
#   Fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     targets: wfdb-header wfdb-signal aecg csv
#
# Seeds come from ../shared/data (copied into Fuzz/.build/corpus, never committed). Crashing
# inputs land in Fuzz/.build/artifacts/TARGET/; turn each into a regression test in
# Tests/ECGFormatsTests/FuzzRegressionTests.swift.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
data="${KMERL_SHARED_DATA:-$root/../shared/data}"
seconds="${1:-300}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(wfdb-header wfdb-signal aecg csv)
build="$here/.build"
mkdir -p "$build/modules"

# ECGFormats' sources say `import ECGCore`; the fuzz binaries compile ECGCore's sources into the
# same module, so an empty ECGCore module satisfies that import.
echo "" > "$build/empty.swift"
swiftc -parse-as-library -emit-module -module-name ECGCore -o "$build/modules/ECGCore.swiftmodule" "$build/empty.swift"

# Build from a snapshot of the sources, so that editing them during a long run does not break it.
rm -rf "$build/src" && mkdir -p "$build/src"
cp "$root"/Sources/ECGCore/*.swift "$root"/Sources/ECGFormats/*.swift "$here/FuzzTargets.swift" "$build/src/"
sources=("$build"/src/*.swift)
flag_for() {
    case "$1" in
    wfdb-header) echo FUZZ_WFDB_HEADER ;;
    wfdb-signal) echo FUZZ_WFDB_SIGNAL ;;
    aecg) echo FUZZ_AECG ;;
    csv) echo FUZZ_CSV ;;
    *) echo "unknown target $1" >&2; exit 2 ;;
    esac
}

seed() {
    local target="$1" corpus="$build/corpus/$1"
    mkdir -p "$corpus"
    case "$target" in
    wfdb-header) cp "$data"/wfdb-samples/*.hea "$data"/cinc2021/records/*.hea "$data"/ludb/data/1*.hea "$corpus"/ 2>/dev/null || true ;;
    wfdb-signal)
        # header + NUL + the first bytes of its signal file
        for hea in "$data"/wfdb-samples/*.hea "$data"/cinc2021/records/E07500.hea "$data"/ludb/data/1.hea; do
            name="$(basename "$hea" .hea)"
            dat="$(awk 'NR>1 && $0 !~ /^#/ && NF>1 {print $1; exit}' "$hea")"
            [ -f "$(dirname "$hea")/$dat" ] || continue
            { cat "$hea"; printf '\0'; head -c 4096 "$(dirname "$hea")/$dat"; } > "$corpus/$name"
            # The same without the record length, so that the length comes from the 4 KiB of data
            # and the decoders, skew and frame code run instead of stopping at "truncated".
            { awk 'NR==1 && NF>=4 {print $1, $2, $3; next} {print}' "$hea"; printf '\0'; head -c 4096 "$(dirname "$hea")/$dat"; } > "$corpus/$name-nolen"
        done ;;
    aecg) cp "$data"/aecg/minimum_aecg*.xml "$corpus"/ ;;
    csv) printf 'time,I,II\n0,0.1,0.2\n0.002,0.3,0.4\n' > "$corpus/a.csv"; printf 'I;II\n0,1;2\n3;4,5\n' > "$corpus/b.csv" ;;
    esac
}

for target in "${targets[@]}"; do
    flag="$(flag_for "$target")"
    echo "== building $target"
    swiftc -sanitize=fuzzer,address -parse-as-library -O -D "$flag" -module-name FuzzTarget \
        -I "$build/modules" -I "$root/Sources/CLibXML2" -Xcc -I/usr/include/libxml2 -lxml2 \
        "${sources[@]}" -o "$build/fuzz-$target" 2>&1 | grep -v "ld.gold: warning" || true
    [ -x "$build/fuzz-$target" ] || { echo "build of $target failed" >&2; exit 1; }
done

for target in "${targets[@]}"; do
    bin="$build/fuzz-$target"
    seed "$target"
    mkdir -p "$build/artifacts/$target"
    dict=()
    [ "$target" = aecg ] && [ -f "$here/aecg.dict" ] && dict=(-dict="$here/aecg.dict")
    echo "== running $target for ${seconds}s"
    "$bin" "$build/corpus/$target" "${dict[@]}" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
        -artifact_prefix="$build/artifacts/$target/" -print_final_stats=1 2>&1 | tail -n 12
done

#!/usr/bin/env bash
# Extraction quality against PTB-XL scp_codes (folds 1-8 = development, fold 9 = held out) and
# extraction speed on one core, with the text-only ceiling beside every figure (the best any
# deterministic function of the report text can do: per distinct text, the majority labels of its
# reports). Builds release. Usage: Benchmarks/extraction-eval.sh [--errors CODE,...]
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release --product bench-extraction >/dev/null
echo "== folds 1-8 (development)"
.build/release/bench-extraction --folds 1-8 --repeat 10 "$@"
echo
echo "== fold 9 (held out)"
.build/release/bench-extraction --folds 9 --repeat 0 | tail -3

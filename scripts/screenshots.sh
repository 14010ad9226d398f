#!/usr/bin/env bash
# Renders a classification report in headless Chromium (Debian's `chromium` package) and saves
# PNG screenshots of index.html and record pages, to look at them as a reader would.
#
#   scripts/screenshots.sh [REPORT_DIR] [SHOTS_DIR] [RECORD...]
#
# REPORT_DIR defaults to a fresh `kmerl-batch classify Examples/incoming` run in .build/screenshots/out;
# SHOTS_DIR defaults to .build/screenshots. RECORD names pages under records/ (without .html);
# by default the first three record pages are shot. KMERL_MODEL=FILE passes --model FILE to classify.
set -euo pipefail
cd "$(dirname "$0")/.."

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "screenshots.sh: no chromium found; install it with: apt-get install -y chromium" >&2
    exit 1
fi

shots=${2:-.build/screenshots}
mkdir -p "$shots"
if [ -n "${1:-}" ]; then
    report=$1
else
    report=.build/screenshots/out
    swift build --product kmerl-batch >/dev/null
    status=0
    model_args=()
    [ -n "${KMERL_MODEL:-}" ] && model_args=(--model "$KMERL_MODEL")
    "$(swift build --show-bin-path)/kmerl-batch" classify Examples/incoming --out "$report" "${model_args[@]}" || status=$?
    if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then
        echo "screenshots.sh: kmerl-batch classify failed with exit code $status" >&2
        exit "$status"
    fi
fi
report=$(cd "$report" && pwd)

shoot() {  # shoot FILE PNG WIDTH HEIGHT
    "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
        --window-size="$3,$4" --screenshot="$2" "file://$1" >/dev/null 2>&1
    echo "$2"
}

shoot "$report/index.html" "$shots/index.png" 1400 1000
shift 2 2>/dev/null || shift $#
if [ $# -gt 0 ]; then
    pages=()
    for name in "$@"; do pages+=("$report/records/$name.html"); done
else
    mapfile -t pages < <(ls "$report"/records/*.html | head -3)
fi
for page in "${pages[@]}"; do
    name=$(basename "$page" .html)
    shoot "$page" "$shots/record-$name.png" 1400 2600
done

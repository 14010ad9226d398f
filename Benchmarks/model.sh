#!/usr/bin/env bash
# Model benchmarks: matmul GFLOP/s, inference records/s with and without the per-lead embeddings,
# epoch time (kmerl, release build), the same encoder architecture's forward pass in PyTorch CPU
# with the kmerl/PyTorch ratio, and the supervised PyTorch CNN baseline's AUROCs beside kmerl's
# (fold 9 of the shared PTB-XL copies).
# Needs: swift, python3 with torch==2.13.0+cpu (pip install torch==2.13.0+cpu) and numpy.
# MODEL_SH_QUALITY=0 skips the quality comparison (which trains the CNN: minutes).
# On a shared machine the CPU-time figures (records per CPU-second, CPU-ms per record) are the
# ones to compare; wall-clock rates are printed with the load average.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
data="${KMERL_SHARED_DATA:-$root/../shared/data}"
model="${KMERL_MODEL:-$root/Models/kmerl-default.safetensors}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

python3 -c "import torch, numpy" 2>/dev/null || pip install -q "torch==2.13.0+cpu" numpy

echo "== kmerl (Swift, release)"
(cd "$here" && swift build -c release --product bench-model >/dev/null)
"$here/.build/release/bench-model" "$data" "$model" | tee "$out/kmerl.txt"

echo
echo "== same architecture, forward pass in PyTorch CPU ($(python3 -c 'import torch; print(torch.__version__)'), 2 threads)"
python3 "$here/model_baseline.py" --data "$data/ptbxl" --kmerl-forward | tee "$out/torch.json"

echo
echo "== summary"
python3 - "$out/kmerl.txt" "$out/torch.json" <<'PY'
import json, os, re, sys
cores = os.cpu_count() or 1
k = open(sys.argv[1]).read()
t = json.load(open(sys.argv[2]))

def rates(label):
    m = re.search(re.escape(label) + r".*?: (\d+) records/s wall \(load average ([\d.]+)\); ([\d.]+) CPU-ms per record = (\d+) records per CPU-second", k)
    if not m:
        sys.exit(f"bench-model printed no line for '{label}'")
    return float(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4))

mm = re.search(r"matmul 256x256x256, one core: ([\d.]+) GFLOP/s wall, ([\d.]+) GFLOP per CPU-second", k)
kernels = re.search(r"kernels: (\w+)", k).group(1)
print(f"matmul 256^3, one core: {mm.group(2)} GFLOP per CPU-second ({mm.group(1)} GFLOP/s wall); kernels: {kernels}")
inf = rates("inference, record + 12 per-lead embeddings")
free = cores * 1000 / inf[2]
print(f"inference with per-lead embeddings (incl. preprocessing): {inf[2]:.3f} CPU-ms/record = {free:.0f} records/s on {cores} free cores"
      f" (wall {inf[0]:.0f}/s at load {inf[1]:.1f}); target 1,500 on 2 cores: {'met' if 2000 / inf[2] >= 1500 else 'NOT met'}")
for label, key, name in [("encoder forward, record embedding only", "kmerl_arch_torch", "record embedding only"),
                         ("encoder forward, record + per-lead embeddings", "kmerl_arch_torch_per_lead", "record + per-lead")]:
    w, load, ms, cpu = rates(label)
    tw, tc = t[key + "_records_per_s"], t[key + "_records_per_cpu_s"]
    print(f"forward ({name}): kmerl {ms:.3f} CPU-ms/record = {cpu:.0f} records per CPU-second vs PyTorch {1000 / tc:.3f} = {tc:.0f}"
          f" -> {cpu / tc:.2f}x per CPU-second; wall {w:.0f} vs {tw:.0f} records/s -> {w / tw:.2f}x (loads {load:.1f} / {t['load_average']:.1f})")
ep = re.search(r"training epoch over (\d+) records.*?: ([\d.]+) s wall \(load average ([\d.]+)\), ([\d.]+) CPU-s = ([\d.]+) s on", k)
print(f"training epoch over {ep.group(1)} records: {ep.group(4)} CPU-s = {ep.group(5)} s on {cores} free cores ({ep.group(2)} s wall at load {ep.group(3)}); target 30 s")
PY

[ "${MODEL_SH_QUALITY:-1}" = "0" ] && exit 0
echo
echo "== quality: kmerl evaluate vs PyTorch supervised CNN with random lead masking (fold 9)"
(cd "$root" && swift build -c release --product kmerl-train >/dev/null)
"$root/.build/release/kmerl-train" evaluate --model "$model" --records "$data/ptbxl/records100" --fold 9 --json --scores "$out/kmerl-scores.csv" > "$out/eval.json"
python3 "$here/model_baseline.py" --data "$data/ptbxl" --epochs "${BASELINE_EPOCHS:-40}" --json "$out/baseline.json" --scores "$out/cnn-scores.csv" > /dev/null
python3 - "$out/eval.json" "$out/baseline.json" <<'PY'
import json, sys
k = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
print(f"{'lead set':14s} {'kmerl':>7s} {'CNN':>7s} {'diff':>7s}   kmerl subclass   zero-shot " + ", ".join(k["heldOut"]))
for r in k["leadSets"]:
    kk = r["superclassMacroAUROC"]; bb = b["superclass_macro_auroc"][r["name"]]
    zs = ", ".join(f"{r['perConcept'].get(c, float('nan')):.3f}" for c in k["heldOut"])
    print(f"{r['name']:14s} {kk:7.3f} {bb:7.3f} {kk - bb:+7.3f}   {r['subclassMacroAUROC']:.3f}            {zs}")
print(f"CNN: {b['parameters']} parameters, trained in {b['train_seconds']:.0f} s, {b['cnn_records_per_s']:.0f} records/s")
PY
echo
echo "== paired bootstrap over the fold-9 records: how large a kmerl - CNN difference these records can resolve"
python3 "$here/model_compare.py" "$out/kmerl-scores.csv" "$out/cnn-scores.csv"

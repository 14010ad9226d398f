#!/usr/bin/env bash
# Model benchmarks: matmul GFLOP/s, inference records/s, epoch time (kmerl, release build),
# the same encoder architecture's forward pass in PyTorch CPU, and the supervised PyTorch
# CNN baseline's AUROCs beside kmerl's (fold 9 of the shared PTB-XL copies).
# Needs: swift, python3 with torch==2.13.0+cpu (pip install torch==2.13.0+cpu) and numpy.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
data="${KMERL_SHARED_DATA:-$root/../shared/data}"
model="${KMERL_MODEL:-$root/Models/kmerl-default.safetensors}"

python3 -c "import torch" 2>/dev/null || pip install -q "torch==2.13.0+cpu" numpy

echo "== kmerl (Swift, release)"
(cd "$here" && swift build -c release --product bench-model >/dev/null)
"$here/.build/release/bench-model" "$data" "$model" | tee /tmp/kmerl-bench-model.txt

echo
echo "== same architecture, forward pass in PyTorch CPU ($(python3 -c 'import torch; print(torch.__version__)'), 2 threads)"
python3 "$here/model_baseline.py" --data "$data/ptbxl" --kmerl-forward | tee /tmp/kmerl-bench-torch.json
python3 - <<'PY'
import json, re
k = open("/tmp/kmerl-bench-model.txt").read()
m = re.search(r"encoder forward only .*: (\d+) records/s", k)
t = json.load(open("/tmp/kmerl-bench-torch.json"))["kmerl_arch_torch_records_per_s"]
if m:
    s = float(m.group(1))
    print(f"forward pass: kmerl {s:.0f} records/s vs PyTorch {t:.0f} records/s -> ratio {s / t:.2f}x")
PY

echo
echo "== quality: kmerl evaluate vs PyTorch supervised CNN with random lead masking (fold 9)"
(cd "$root" && swift build -c release --product kmerl-train >/dev/null)
"$root/.build/release/kmerl-train" evaluate --model "$model" --records "$data/ptbxl/records100" --fold 9 --json > /tmp/kmerl-eval.json
python3 "$here/model_baseline.py" --data "$data/ptbxl" --epochs "${BASELINE_EPOCHS:-40}" --json /tmp/kmerl-baseline.json > /dev/null
python3 - <<'PY'
import json
k = json.load(open("/tmp/kmerl-eval.json"))
b = json.load(open("/tmp/kmerl-baseline.json"))
print(f"{'lead set':14s} {'kmerl':>7s} {'CNN':>7s} {'diff':>7s}   kmerl subclass   zero-shot " + ", ".join(k["heldOut"]))
for r in k["leadSets"]:
    kk = r["superclassMacroAUROC"]; bb = b["superclass_macro_auroc"][r["name"]]
    zs = ", ".join(f"{r['perConcept'].get(c, float('nan')):.3f}" for c in k["heldOut"])
    print(f"{r['name']:14s} {kk:7.3f} {bb:7.3f} {kk - bb:+7.3f}   {r['subclassMacroAUROC']:.3f}            {zs}")
print(f"CNN: {b['parameters']} parameters, trained in {b['train_seconds']:.0f} s, {b['cnn_records_per_s']:.0f} records/s")
PY

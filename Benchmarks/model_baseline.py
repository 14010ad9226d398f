#!/usr/bin/env python3
"""Supervised PyTorch 1D-CNN baseline for kmerl's encoder (Benchmarks/model.sh runs it).

Same data as `kmerl-train`: the shared PTB-XL copies (records100, 100 Hz, 10 s, 12 leads),
training on folds 1-8, evaluation on fold 9. Labels: the five diagnostic superclasses (a record
is positive when any of its SCP statements, at any likelihood, belongs to the superclass).
Random lead masking during training (absent leads are zero-filled, as a CNN needs a fixed
input), evaluation per lead set with the other leads zeroed.

Also times the forward pass of kmerl's own architecture re-implemented in PyTorch
(`--kmerl-forward`), so that model.sh can compare speeds on the same machine.

Usage: python3 model_baseline.py --data ../shared/data/ptbxl [--epochs 40] [--seed 0] [--eval-fold 9] [--json out.json]
       [--only-lead 0] (a lead-I specialist) [--entity-targets] (kmerl's class-balanced statement targets)
(`--eval-fold 8` is kmerl's development protocol: train on folds 1-7, evaluate on fold 8, fold 9 unseen.)
"""
import argparse, ast, csv, json, os, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
SUPER = ["NORM", "MI", "STTC", "CD", "HYP"]
LEAD_SETS = [("all 12", list(range(12))), ("6 limb", list(range(6))), ("I,II,III,V2", [0, 1, 2, 7]),
             ("I,II,V2", [0, 1, 7]), ("I,II", [0, 1]), ("I", [0])]


def read_record(hea):
    lines = [l for l in open(hea).read().splitlines() if l.strip() and not l.startswith("#")]
    name, nsig, fs, n = lines[0].split()[:4]
    nsig, n = int(nsig), int(n)
    specs = [l.split() for l in lines[1:1 + nsig]]
    gains = [float(s[2].split("/")[0].split("(")[0]) for s in specs]
    raw = np.fromfile(os.path.join(os.path.dirname(hea), specs[0][0]), dtype="<i2")[: n * nsig].reshape(n, nsig)
    x = raw.astype(np.float32) / np.array(gains, dtype=np.float32)
    order = [[s[-1].upper() for s in specs].index(l) for l in LEADS]
    x = x[:, order].T  # 12 x n
    x = (x - x.mean(1, keepdims=True)) / (x.std(1, keepdims=True) + 1e-8)
    out = np.zeros((12, 1000), dtype=np.float32)
    out[:, : min(1000, x.shape[1])] = x[:, :1000]
    return out


def load(data):
    statements = {}
    with open(os.path.join(data, "scp_statements.csv")) as f:
        r = csv.reader(f)
        h = next(r)
        ci = h.index("diagnostic_class")
        for row in r:
            if row[ci]:
                statements[row[0]] = row[ci]
    meta = {}
    with open(os.path.join(data, "ptbxl_database.csv")) as f:
        for row in csv.DictReader(f):
            meta[int(row["ecg_id"])] = row
    X, Y, folds, ids = [], [], [], []
    root = os.path.join(data, "records100")
    for d, _, files in sorted(os.walk(root)):
        for fn in sorted(files):
            if not fn.endswith(".hea"):
                continue
            eid = int(fn.split("_")[0])
            if eid not in meta:
                continue
            codes = ast.literal_eval(meta[eid]["scp_codes"])
            y = np.zeros(5, dtype=np.float32)
            for c in codes:
                if c in statements:
                    y[SUPER.index(statements[c])] = 1
            X.append(read_record(os.path.join(d, fn)))
            Y.append(y)
            folds.append(int(meta[eid]["strat_fold"]))
            ids.append(eid)
    return np.stack(X), np.stack(Y), np.array(folds), np.array(ids)


def statements(data, ids):
    """Multi-hot of every SCP statement (any likelihood) of the records `ids`, columns in sorted code order."""
    codes = {}
    with open(os.path.join(data, "ptbxl_database.csv")) as f:
        for row in csv.DictReader(f):
            codes[int(row["ecg_id"])] = ast.literal_eval(row["scp_codes"])
    names = sorted({c for i in ids for c in codes[int(i)]})
    S = np.zeros((len(ids), len(names)), dtype=np.float32)
    for r, i in enumerate(ids):
        for c in codes[int(i)]:
            S[r, names.index(c)] = 1
    return S


class CNN(nn.Module):
    def __init__(self, outputs=5):
        super().__init__()
        chans = [12, 64, 96, 128, 128, 144]
        ks = [7, 5, 5, 5, 3]
        layers = []
        for i in range(5):
            layers += [nn.Conv1d(chans[i], chans[i + 1], ks[i], stride=2 if i == 0 else 1, padding=ks[i] // 2),
                       nn.BatchNorm1d(chans[i + 1]), nn.ReLU()]
            if 0 < i < 4:
                layers.append(nn.MaxPool1d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(2 * chans[-1], outputs)

    def forward(self, x):
        h = self.features(x)
        return self.head(torch.cat([h.mean(-1), h.amax(-1)], 1))


def sample_lead_set(rng):
    u = rng.random()
    if u < 0.25: return list(range(12))
    if u < 0.35: return list(range(6))
    if u < 0.45: return [0, 1, 2, 7]
    if u < 0.55: return [0, 1, 7]
    if u < 0.65: return [0, 1]
    if u < 0.75: return [0]
    if u < 0.88: return [int(rng.integers(12))]
    s = [i for i in range(12) if rng.random() < 0.5]
    return s or [int(rng.integers(12))]


def auroc(s, y):
    pos, neg = y.sum(), len(y) - y.sum()
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    ss = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and ss[j + 1] == ss[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return (ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg)


class KMERLTorch(nn.Module):
    """kmerl's default encoder architecture in PyTorch (for forward-pass timing only)."""

    def __init__(self, ch=(16, 32, 64, 64), ks=(10, 5, 5, 3), st=(5, 2, 2, 2), pd=(3, 2, 2, 1), d=64, heads=4, mlp=128, e=64,
                 time_aligned=True, tokens=25):
        super().__init__()
        self.time_aligned = time_aligned
        cin = 1
        self.convs = nn.ModuleList()
        for c, k, s, p in zip(ch, ks, st, pd):
            self.convs.append(nn.Conv1d(cin, c, k, stride=s, padding=p))
            cin = c
        self.stem_lead = nn.Embedding(12, ch[0])
        if time_aligned:
            # lead-specific projection of every time token, mean over leads, time-position embedding
            self.token_w = nn.Parameter(torch.randn(12, cin, d) / cin ** 0.5)
            self.token_b = nn.Parameter(torch.zeros(d))
            self.time = nn.Parameter(0.1 * torch.randn(tokens, d))
        else:
            self.token = nn.Linear(2 * cin, d)
        self.lead = nn.Embedding(12, d)
        self.block = nn.TransformerEncoderLayer(d, heads, mlp, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
        self.ln = nn.LayerNorm(d)
        self.proj = nn.Linear(d, e)

    def forward(self, x, per_lead=False):  # x: B x 12 x 1000
        """Unit record embeddings (B x e); with per_lead (time-aligned only) also each lead alone
        through the transformer, as kmerl's per-lead embeddings: (B + B*12) x e."""
        b, l, t = x.shape
        leads = torch.arange(l).repeat(b)
        h = x.reshape(b * l, 1, t)
        for i, conv in enumerate(self.convs):
            h = conv(h)
            if i == 0:
                h = h + self.stem_lead(leads).unsqueeze(-1)
            h = F.relu(h)
        if self.time_aligned:
            c, t = h.shape[1], h.shape[2]
            h = h.reshape(b, l, c, t).permute(1, 0, 3, 2).reshape(l, b * t, c)  # L x (B·T) x C
            tok = torch.bmm(h, self.token_w[:l]) + self.token_b + self.lead.weight[:l].unsqueeze(1)
            seqs = tok.mean(0).reshape(b, t, -1) + self.time
            if per_lead:
                single = tok.reshape(l, b, t, -1).permute(1, 0, 2, 3).reshape(b * l, t, -1) + self.time
                seqs = torch.cat([seqs, single], 0)
            tok = self.block(seqs)
        else:
            tok = self.token(torch.cat([h.mean(-1), h.amax(-1)], 1)) + self.lead(leads)
            tok = self.block(tok.reshape(b, l, -1))
        z = self.proj(self.ln(tok).mean(1))
        return F.normalize(z, dim=-1)


def time_forward(model, batch=64, reps=10, **kwargs):
    """Records per second of forward passes: (wall, per CPU-second of this process, all threads)."""
    x = torch.randn(batch, 12, 1000)
    model.eval()
    with torch.no_grad():
        model(x, **kwargs)
        best_wall, best_cpu = float("inf"), float("inf")
        for _ in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(reps):
                model(x, **kwargs)
            best_wall = min(best_wall, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
    return batch * reps / best_wall, batch * reps / best_cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json")
    ap.add_argument("--scores", help="also write every evaluated record's superclass scores and labels per lead set to this CSV "
                    "(lead_set, ecg_id, one score per superclass, then y_ + superclass) for paired comparisons (model_compare.py)")
    ap.add_argument("--eval-fold", type=int, default=9, choices=[8, 9],
                    help="9: train folds 1-8, evaluate fold 9; 8: train folds 1-7, evaluate fold 8 (fold 9 unseen)")
    ap.add_argument("--kmerl-forward", action="store_true", help="only time kmerl's architecture in PyTorch")
    ap.add_argument("--only-lead", type=int, default=-1,
                    help="train on this lead alone (index into LEADS, 0 = I) instead of random lead sets: a one-lead specialist")
    ap.add_argument("--entity-targets", action="store_true",
                    help="train on kmerl's targets: the superclasses plus every SCP statement, class-balanced (positives weighted "
                         "min(10, negatives/positives)), superclasses weighted 3; evaluated on the superclasses as always")
    ap.add_argument("--fusion", default="time-aligned", choices=["time-aligned", "lead-tokens"], help="which kmerl architecture --kmerl-forward times")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    if args.kmerl_forward:
        m = KMERLTorch(time_aligned=args.fusion == "time-aligned")
        wall, cpu = time_forward(m, batch=256, reps=5)
        out = {"kmerl_arch_torch_records_per_s": wall, "kmerl_arch_torch_records_per_cpu_s": cpu,
               "threads": torch.get_num_threads(), "parameters": sum(p.numel() for p in m.parameters()),
               "load_average": os.getloadavg()[0]}
        if m.time_aligned:
            wall, cpu = time_forward(m, batch=256, reps=5, per_lead=True)
            out["kmerl_arch_torch_per_lead_records_per_s"] = wall
            out["kmerl_arch_torch_per_lead_records_per_cpu_s"] = cpu
        print(json.dumps(out))
        return
    X, Y, folds, ids = load(args.data)
    tr, va = (folds < args.eval_fold), (folds == args.eval_fold)
    Xtr, Ytr, Xva, Yva = torch.tensor(X[tr]), torch.tensor(Y[tr]), torch.tensor(X[va]), Y[va]
    pos_weight, loss_weight = None, None
    if args.entity_targets:
        S = statements(args.data, ids)
        T = np.concatenate([Y, S], 1)[tr]
        pos = T.sum(0)
        pos_weight = torch.tensor(np.minimum(10, np.maximum(1, (len(T) - pos) / np.maximum(pos, 1))), dtype=torch.float32)
        loss_weight = torch.ones(T.shape[1])
        loss_weight[:5] = 3
        Ytr = torch.tensor(T)
    model = CNN(outputs=Ytr.shape[1])
    nparams = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    steps = args.epochs * ((len(Xtr) + 63) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(Xtr))
        for i in range(0, len(Xtr), 64):
            idx = perm[i:i + 64]
            xb = Xtr[idx].clone()
            mask = torch.zeros(len(idx), 12, 1)
            for k in range(len(idx)):
                mask[k, sample_lead_set(rng) if args.only_lead < 0 else [args.only_lead]] = 1
            if args.entity_targets:
                loss = (F.binary_cross_entropy_with_logits(model(xb * mask), Ytr[idx], pos_weight=pos_weight, reduction="none") * loss_weight).mean()
            else:
                loss = F.binary_cross_entropy_with_logits(model(xb * mask), Ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    train_s = time.perf_counter() - t0
    model.eval()
    results = {}
    rows = []
    with torch.no_grad():
        for name, leads in LEAD_SETS:
            mask = torch.zeros(1, 12, 1)
            mask[0, leads] = 1
            s = torch.sigmoid(model(Xva * mask)[:, :5]).numpy()
            results[name] = float(np.nanmean([auroc(s[:, k], Yva[:, k]) for k in range(5)]))
            rows += [[name, str(i)] + [repr(float(v)) for v in s[r]] + [str(int(v)) for v in Yva[r]] for r, i in enumerate(ids[va])]
    if args.scores:
        tmp = args.scores + ".tmp"
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["lead_set", "ecg_id"] + SUPER + ["y_" + c for c in SUPER])
            w.writerows(rows)
        os.replace(tmp, args.scores)
    out = {"parameters": nparams, "seed": args.seed, "eval_fold": args.eval_fold, "only_lead": args.only_lead, "entity_targets": args.entity_targets, "train_seconds": train_s, "superclass_macro_auroc": results,
           "cnn_records_per_s": time_forward(model, batch=256, reps=5)[0]}
    print(json.dumps(out, indent=1))
    if args.json:
        json.dump(out, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()

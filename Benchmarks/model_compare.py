#!/usr/bin/env python3
"""Paired bootstrap of the superclass macro-AUROC difference between kmerl and the CNN baseline.

Both models scored the same records (`kmerl-train evaluate --scores K.csv`, `model_baseline.py
--scores C.csv`); the labels are the CNN file's (a record is positive for a superclass when any
of its SCP statements belongs to it, as in kmerl's evaluation). Records are resampled with
replacement, the same draw for both models, so the interval is that of the difference on records
like these — with 160-183 records per fold, it shows how large a gap the data can resolve.

Usage: python3 model_compare.py KMERL.csv CNN.csv [--resamples 2000] [--seed 0]
"""
import argparse, csv, os, sys
from collections import defaultdict
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_baseline import SUPER, auroc  # the same AUROC (average ranks for ties) as the CNN's own figures


def macro(scores, labels, idx):
    return float(np.nanmean([auroc(scores[idx, k], labels[idx, k]) for k in range(len(SUPER))]))


def read(path, with_labels):
    out = defaultdict(dict)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            s = [float(row[c]) for c in SUPER]
            y = [int(row["y_" + c]) for c in SUPER] if with_labels else None
            out[row["lead_set"]][int(row["ecg_id"])] = (s, y)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kmerl")
    ap.add_argument("cnn")
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    k, c = read(args.kmerl, False), read(args.cnn, True)
    rng = np.random.default_rng(args.seed)
    print(f"{'lead set':14s} {'records':>7s} {'kmerl':>7s} {'CNN':>7s} {'diff':>7s}   95% interval of the diff   P(kmerl > CNN)")
    for name in c:
        ids = sorted(set(c[name]) & set(k.get(name, {})))
        if len(ids) != len(c[name]):
            raise SystemExit(f"{args.kmerl}: lead set {name!r} lacks {len(c[name]) - len(ids)} of the CNN's records")
        ks = np.array([k[name][i][0] for i in ids])
        cs = np.array([c[name][i][0] for i in ids])
        y = np.array([c[name][i][1] for i in ids])
        every = np.arange(len(ids))
        dk, dc = macro(ks, y, every), macro(cs, y, every)
        diffs = []
        for _ in range(args.resamples):
            idx = rng.integers(0, len(ids), len(ids))
            diffs.append(macro(ks, y, idx) - macro(cs, y, idx))
        lo, hi = np.percentile(diffs, [2.5, 97.5])
        print(f"{name:14s} {len(ids):7d} {dk:7.3f} {dc:7.3f} {dk - dc:+7.3f}   [{lo:+.3f}, {hi:+.3f}]            {np.mean(np.array(diffs) > 0):.2f}")


if __name__ == "__main__":
    main()

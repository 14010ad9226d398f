"""NeuroKit2 side of Benchmarks/signal.sh (not named signal.py: that would shadow the stdlib module):
on lead II of LUDB records 1-100, printed beside kmerl's figures (read from bench-signal's JSON)."""
import json
import sys
import time
import warnings

import neurokit2 as nk
import numpy as np
import wfdb

warnings.filterwarnings("ignore")
root, stats_path = sys.argv[1], sys.argv[2]
kmerl = json.load(open(stats_path))
fs = 500
tolerance_ms = 150
names = ["QRS onset", "QRS offset", "P onset", "P offset", "T offset"]
keys = ["ECG_R_Onsets", "ECG_R_Offsets", "ECG_P_Onsets", "ECG_P_Offsets", "ECG_T_Offsets"]
errors = {n: [] for n in names}
annotated = {n: 0 for n in names}
signals = []
for rec in range(1, 101):
    path = f"{root}/ludb/data/{rec}"
    sig, fields = wfdb.rdsamp(path)
    x = sig[:, fields["sig_name"].index("ii")]
    signals.append(x)
    cleaned = nk.ecg_clean(x, sampling_rate=fs)
    _, rp = nk.ecg_peaks(cleaned, sampling_rate=fs)
    try:
        _, waves = nk.ecg_delineate(cleaned, rp, sampling_rate=fs, method="dwt")
    except Exception:
        waves = {k: [] for k in keys}
    detected = [np.array([v for v in waves.get(k, []) if v == v], dtype=float) for k in keys]
    ann = wfdb.rdann(path, "ii")
    s, y = ann.sample, ann.symbol
    for i in range(1, len(y) - 1):
        if y[i] not in "Npt" or y[i - 1] != "(" or y[i + 1] != ")":
            continue
        pairs = {"N": [(0, s[i - 1]), (1, s[i + 1])], "p": [(2, s[i - 1]), (3, s[i + 1])], "t": [(4, s[i + 1])]}[y[i]]
        for t, pos in pairs:
            annotated[names[t]] += 1
            d = detected[t]
            if len(d):
                e = (d - pos) * 1000 / fs
                best = e[np.argmin(np.abs(e))]
                if abs(best) <= tolerance_ms:
                    errors[names[t]].append(best)

start = time.process_time()
nk_failed = 0
for x in signals:
    try:
        nk.ecg_process(x, sampling_rate=fs)
    except Exception:
        nk_failed += 1
nk_seconds = time.process_time() - start
nk_rate = len(signals) / nk_seconds


def row(stat):
    return f"{stat['matched'] / max(1, stat['annotated']) * 100:6.1f}% {stat['mean']:7.1f} {stat['sd']:6.1f}"


print("\nDelineation vs LUDB expert annotations, records 1-100, lead II (150 ms matching window)")
print(f"{'boundary':12} {'annotated':>9} | {'kmerl (12 leads)':>23} | {'kmerl (II alone)':>23} | {'NeuroKit2 dwt (II)':>23}")
print(f"{'':12} {'':>9} | {'match   mean    SD':>23} | {'match   mean    SD':>23} | {'match   mean    SD':>23}")
for i, n in enumerate(names):
    e = np.array(errors[n])
    nk_row = f"{len(e) / max(1, annotated[n]) * 100:6.1f}% {e.mean() if len(e) else float('nan'):7.1f} {e.std(ddof=1) if len(e) > 1 else float('nan'):6.1f}"
    print(f"{n:12} {annotated[n]:9d} | {row(kmerl['leadII'][i]):>23} | {row(kmerl['leadIIAlone'][i]):>23} | {nk_row:>23}")
print("\nkmerl, all 12 leads (each lead against its own expert annotation):")
for s in kmerl["all"]:
    print(f"  {s['name']:12} {s['annotated']:6d} annotated  {row(s)}")

print(f"\nSpeed, LUDB 1-100 (10 s, 500 Hz), one core, records per CPU-second:")
print(f"  kmerl MeasurementPipeline, 12 leads: {kmerl['recordsPerSecond']:9.0f} records/s ({1000 / kmerl['recordsPerSecond']:.2f} ms/record)")
print(f"  kmerl MeasurementPipeline, lead II:  {kmerl['recordsPerSecondLeadII']:9.0f} records/s")
print(f"  NeuroKit2 ecg_process, lead II:      {nk_rate:9.1f} records/s ({1000 / nk_rate:.1f} ms/record; {nk_failed} records raised an error)")
print(f"  ratio kmerl (12 leads) / NeuroKit2 (lead II): {kmerl['recordsPerSecond'] / nk_rate:.0f}x")
print(f"  ratio kmerl (lead II) / NeuroKit2 (lead II):  {kmerl['recordsPerSecondLeadII'] / nk_rate:.0f}x")

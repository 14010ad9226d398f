#!/usr/bin/env python3
"""Provenance of Examples/incoming: copies and rewrites a few real records from ../shared/data.

Run once from the project root (needs `pip install wfdb==4.3.1`):

    python3 Examples/make_examples.py [../shared/data]

Digital samples, gains and baselines are kept exactly; lead subsets are written with
wfdb-python's wrsamp (format 16). See Examples/ATTRIBUTION.md for sources and licences.
"""
import os
import shutil
import sys

import wfdb

root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "data")
out = os.path.join(root, "Examples", "incoming")
os.makedirs(out, exist_ok=True)


def copy(src_dir, names):
    for name in names:
        shutil.copyfile(os.path.join(data, src_dir, name), os.path.join(out, name))


def rewrite(ludb_id, leads, new_name, note):
    """Writes LUDB record `ludb_id` with only `leads` (digital samples unchanged) as `new_name`."""
    rec = wfdb.rdrecord(os.path.join(data, "ludb", "data", str(ludb_id)), physical=False)
    idx = [rec.sig_name.index(lead) for lead in leads]
    wfdb.wrsamp(
        new_name,
        fs=rec.fs,
        units=[rec.units[i] for i in idx],
        sig_name=[rec.sig_name[i] for i in idx],
        d_signal=rec.d_signal[:, idx],
        fmt=["16"] * len(idx),
        adc_gain=[rec.adc_gain[i] for i in idx],
        baseline=[rec.baseline[i] for i in idx],
        comments=[note] + rec.comments,
        write_dir=out,
    )


def rename_wfdb(src_dir, name, new_name):
    """Copies a WFDB record under a new record name (header record line and file names rewritten)."""
    with open(os.path.join(data, src_dir, name + ".hea")) as f:
        lines = f.read().splitlines()
    # Record line: "24 12 500 5000" -> "ludb-24 12 500 5000"; signal lines: "24.dat ..." -> "ludb-24.dat ...".
    fixed = [line if line.startswith("#") else new_name + line[len(name):] for line in lines]
    with open(os.path.join(out, new_name + ".hea"), "w") as f:
        f.write("\n".join(fixed) + "\n")
    shutil.copyfile(os.path.join(data, src_dir, name + ".dat"), os.path.join(out, new_name + ".dat"))


# 12 leads: LUDB 24 (complete left bundle branch block), WFDB format 16, 500 Hz.
rename_wfdb(os.path.join("ludb", "data"), "24", "ludb-24")
# 12 leads: CinC 2021 Georgia E07500, MATLAB v4 .mat.
copy(os.path.join("cinc2021", "records"), ["E07500.hea", "E07500.mat"])
# 12 leads: the HL7/FDA aECG reference example.
copy("aecg", ["Example_aECG.xml"])
# 6 limb leads: LUDB 10 (complete right bundle branch block).
rewrite(10, ["i", "ii", "iii", "avr", "avl", "avf"], "ludb-10-limb", "LUDB record 10, limb leads only (kmerl example)")
# 1 lead: LUDB 1, lead II only.
rewrite(1, ["ii"], "ludb-1-II", "LUDB record 1, lead II only (kmerl example)")
# 2 leads as CSV: LUDB 44 (atrial fibrillation, complete LBBB), leads I and II in mV with a time column.
rec = wfdb.rdrecord(os.path.join(data, "ludb", "data", "44"), channel_names=["i", "ii"])
with open(os.path.join(out, "ludb-44-I-II.csv"), "w") as f:
    f.write("time,I,II\n")
    for k in range(rec.sig_len):
        f.write("%.3f,%.4f,%.4f\n" % (k / rec.fs, rec.p_signal[k, 0], rec.p_signal[k, 1]))
print("wrote", sorted(os.listdir(out)))

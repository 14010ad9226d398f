#!/usr/bin/env python3
"""Provenance of Ontology/kmerl-ontology.xml.

Reads the code tables that ship with the public ECG corpora (PTB-XL scp_statements.csv, the
PhysioNet/CinC 2021 dx_mapping_*.csv and the Chapman-Shaoxing ConditionNames_SNOMED-CT.csv)
plus the hand-curated tables in this script (crosswalks, hierarchy, lead territories,
measurement criteria) and the hand-curated synonym list Ontology/synonyms.tsv, and writes
Ontology/kmerl-ontology.xml.

    python3 Ontology/generate_ontology.py [SHARED_DATA_DIR]

SHARED_DATA_DIR defaults to ../shared/data beside the project root. Codes and names are copied
from those files; everything else (ids, crosswalks, synonyms) is curated here and reviewed by
hand. Re-running the script must reproduce the committed XML byte for byte.
"""
import csv
import os
import sys
from xml.sax.saxutils import escape, quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "data")
VERSION = "1.0.0"

# PTB-XL diagnostic classes and subclasses that are not themselves SCP statements.
# id -> (label, category, parents, class/subclass codes)
GROUPS = {
    "NORM": None,  # the SCP statement NORM doubles as class and subclass
    "MI": ("myocardial infarction", "infarction", [], ["PTBXL-CLASS:MI"]),
    "STTC": ("ST/T change", "st-t", [], ["PTBXL-CLASS:STTC", "PTBXL-SUBCLASS:STTC"]),
    "CD": ("conduction disturbance", "conduction", [], ["PTBXL-CLASS:CD"]),
    "HYP": ("hypertrophy", "hypertrophy", [], ["PTBXL-CLASS:HYP"]),
    "ISCA": ("ischemic ST-T changes in anterior leads", "st-t", ["STTC"], ["PTBXL-SUBCLASS:ISCA"]),
    "ISCI": ("ischemic ST-T changes in inferior leads", "st-t", ["STTC"], ["PTBXL-SUBCLASS:ISCI"]),
    "_AVB": ("atrioventricular block", "conduction", ["CD"], ["PTBXL-SUBCLASS:_AVB"]),
    "LAFB/LPFB": ("left fascicular block", "conduction", ["CD"], ["PTBXL-SUBCLASS:LAFB/LPFB"]),
}

# SCP statements that are also a PTB-XL subclass of the same name carry both codes.
# Statements whose subclass is another statement get that statement as parent.
SUBCLASS_IS_STATEMENT = {"NORM", "IMI", "AMI", "LMI", "PMI", "ISC_", "NST_", "LAO/LAE", "RAO/RAE", "LVH", "RVH",
                         "SEHYP", "CLBBB", "CRBBB", "IRBBB", "ILBBB", "IVCD", "WPW"}

# Category of each SCP statement.
SCP_CATEGORY = {
    "NDT": "st-t", "NST_": "st-t", "DIG": "st-t", "LNGQT": "st-t", "NORM": "overall", "IMI": "infarction",
    "ASMI": "infarction", "LVH": "hypertrophy", "LAFB": "conduction", "ISC_": "st-t", "IRBBB": "conduction",
    "1AVB": "conduction", "IVCD": "conduction", "ISCAL": "st-t", "CRBBB": "conduction", "CLBBB": "conduction",
    "ILMI": "infarction", "LAO/LAE": "hypertrophy", "AMI": "infarction", "ALMI": "infarction", "ISCIN": "st-t",
    "INJAS": "infarction", "LMI": "infarction", "ISCIL": "st-t", "LPFB": "conduction", "ISCAS": "st-t",
    "INJAL": "infarction", "ISCLA": "st-t", "RVH": "hypertrophy", "ANEUR": "st-t", "RAO/RAE": "hypertrophy",
    "EL": "st-t", "WPW": "conduction", "ILBBB": "conduction", "IPLMI": "infarction", "ISCAN": "st-t",
    "IPMI": "infarction", "SEHYP": "hypertrophy", "INJIN": "infarction", "INJLA": "infarction", "PMI": "infarction",
    "3AVB": "conduction", "INJIL": "infarction", "2AVB": "conduction", "ABQRS": "form", "PVC": "rhythm",
    "STD_": "st-t", "VCLVH": "hypertrophy", "QWAVE": "form", "LOWT": "st-t", "NT_": "st-t", "PAC": "rhythm",
    "LPR": "conduction", "INVT": "st-t", "LVOLT": "form", "HVOLT": "form", "TAB_": "st-t", "STE_": "st-t",
    "PRC(S)": "rhythm", "SR": "rhythm", "AFIB": "rhythm", "STACH": "rhythm", "SARRH": "rhythm", "SBRAD": "rhythm",
    "PACE": "rhythm", "SVARR": "rhythm", "BIGU": "rhythm", "AFLT": "rhythm", "SVTAC": "rhythm", "PSVT": "rhythm",
    "TRIGU": "rhythm",
}

# Extra parents of non-diagnostic (form/rhythm) statements, by meaning.
EXTRA_PARENTS = {
    "PVC": ["PRC(S)"], "PAC": ["PRC(S)"], "PSVT": ["SVTAC"], "STD_": ["NST_"], "STE_": ["NST_"],
    "LOWT": ["TAB_"], "INVT": ["TAB_"], "NT_": ["TAB_"], "VCLVH": ["LVH"], "LPR": ["1AVB"],
}

# Lead territories (StandardLead names).
INFERIOR = ["II", "III", "aVF"]
LATERAL = ["I", "aVL", "V5", "V6"]
HIGH_LATERAL = ["I", "aVL"]
SEPTAL = ["V1", "V2"]
ANTERIOR = ["V3", "V4"]
ANTEROSEPTAL = ["V1", "V2", "V3", "V4"]
ANTEROLATERAL = ["I", "aVL", "V3", "V4", "V5", "V6"]
INFEROLATERAL = ["II", "III", "aVF", "I", "aVL", "V5", "V6"]
POSTERIOR = ["V1", "V2", "V3"]  # reciprocal changes
TERRITORY = {
    "IMI": INFERIOR, "ILMI": INFEROLATERAL, "IPLMI": INFEROLATERAL + ["V1", "V2"], "IPMI": INFERIOR + POSTERIOR,
    "INJIN": INFERIOR, "INJIL": INFEROLATERAL, "ISCIN": INFERIOR, "ISCIL": INFEROLATERAL, "ISCI": INFEROLATERAL,
    "ASMI": ANTEROSEPTAL, "AMI": ANTERIOR + SEPTAL, "ALMI": ANTEROLATERAL, "INJAS": ANTEROSEPTAL,
    "INJAL": ANTEROLATERAL, "ISCAS": ANTEROSEPTAL, "ISCAN": ANTERIOR, "ISCAL": ANTEROLATERAL,
    "ISCA": ANTEROSEPTAL + ["I", "aVL", "V5", "V6"],
    "LMI": LATERAL, "INJLA": LATERAL, "ISCLA": LATERAL, "PMI": POSTERIOR,
    "IIS": INFERIOR, "LIS": LATERAL, "ANIS": ANTERIOR, "ISTD": INFERIOR,
}

# Measurement criteria: id -> [(measurement, min, max, unit)].
CRITERIA = {
    # V1 tells the two complete blocks apart: rS/QS with a small r in LBBB, a tall R' in RBBB
    # (LUDB: r 0.02-0.07 mV in the four LBBB records, 0.63-0.66 mV in the two RBBB records).
    "CLBBB": [("qrsDuration", 120, None, "ms"), ("rAmplitude", None, 0.2, "mV", "V1")],
    "CRBBB": [("qrsDuration", 120, None, "ms"), ("rAmplitude", 0.3, None, "mV", "V1")],
    "IRBBB": [("qrsDuration", 110, 119, "ms")], "ILBBB": [("qrsDuration", 110, 119, "ms")],
    "IVCD": [("qrsDuration", 110, None, "ms")], "BBB": [("qrsDuration", 120, None, "ms")],
    "SBRAD": [("heartRate", None, 59.99, "bpm")], "STACH": [("heartRate", 100.01, None, "bpm")],
    "BRADY": [("heartRate", None, 59.99, "bpm")],
    "1AVB": [("prInterval", 200.01, None, "ms")], "LPR": [("prInterval", 200.01, None, "ms")],
    "SPRI": [("prInterval", None, 119.99, "ms")],
    "LAD": [("qrsAxis", -90, -30.01, "deg")], "RAD": [("qrsAxis", 90.01, 180, "deg")],
    "LAFB": [("qrsAxis", -90, -45, "deg")], "LPFB": [("qrsAxis", 90.01, 180, "deg")],
    "LNGQT": [("qtcBazett", 460.01, None, "ms")], "SQT": [("qtcBazett", None, 349.99, "ms")],
    "WPW": [("prInterval", None, 119.99, "ms"), ("qrsDuration", 110, None, "ms")],
    "NAXIS": [("qrsAxis", -30, 90, "deg")], "LAXIS": [("qrsAxis", -30, 30, "deg")],
    "VAXIS": [("qrsAxis", 60, 90, "deg")], "RAXIS": [("qrsAxis", 90, 120, "deg")],
    # Low QRS voltage: < 0.5 mV peak to peak in every limb lead, < 1.0 mV in every precordial lead
    # (the largest voltage of the group; needs amplitudes in mV). LVOLT is PTB-XL's "frontal and
    # horizontal" statement, checked on the limb leads (the usual definition of low voltage).
    "LVOLT": [("limbQRSVoltage", None, 0.49, "mV")], "LVOLTL": [("limbQRSVoltage", None, 0.49, "mV")],
    "LVOLTC": [("precordialQRSVoltage", None, 0.99, "mV")],
}

# Concepts named only by SNOMED CT (CinC 2021 / Chapman): id, label, category, parents.
# SNOMED codes that name an SCP statement (or PTB-XL class) are mapped in SNOMED_TO_ID instead.
SNOMED_TO_ID = {
    "164889003": "AFIB", "164890007": "AFLT", "733534002": "CLBBB", "164909002": "CLBBB",
    "713427006": "CRBBB", "59118001": "CRBBB", "270492004": "1AVB", "713426002": "IRBBB",
    "445118002": "LAFB", "251146004": "LVOLT", "698252002": "IVCD", "426783006": "SR",
    "284470004": "PAC", "63593006": "PAC", "10370003": "PACE", "427172004": "PVC", "17338001": "PVC",
    "164884008": "PVC", "164947007": "LPR", "111975006": "LNGQT", "164917005": "QWAVE",
    "427393009": "SARRH", "426177001": "SBRAD", "427084000": "STACH", "164934002": "TAB_",
    "59931005": "INVT", "164951009": "ABQRS", "426434006": "ISCAN", "54329005": "AMI",
    "233917008": "_AVB", "27885002": "3AVB", "195042002": "2AVB", "425419005": "ISCIN",
    "251120003": "ILBBB", "253352002": "LAO/LAE", "67741000119109": "LAO/LAE", "425623009": "ISCLA",
    "445211001": "LPFB", "164873001": "LVH", "55827005": "VCLVH", "164865005": "MI", "164861001": "ISC_",
    "428750005": "NST_", "67198005": "PSVT", "253339007": "RAO/RAE", "446358003": "RAO/RAE",
    "89792004": "RVH", "429622005": "STD_", "164931005": "STE_", "426761007": "SVTAC", "74390002": "WPW",
}
SNOMED_ONLY = {
    # code: (id, category, parents)
    "6374002": ("BBB", "conduction", ["CD"]),
    "426627000": ("BRADY", "rhythm", []),
    "39732003": ("LAD", "axis", []),
    "365413008": ("PRWP", "form", []),
    "47665007": ("RAD", "axis", []),
    "233892002": ("AAR", "rhythm", []),
    "251187003": ("AED", "rhythm", []),
    "61277005": ("AIVR", "rhythm", []),
    "426664006": ("AJR", "rhythm", []),
    "251139008": ("ALR", "technical", []),
    "57054005": ("ACMI", "infarction", ["MI"]),
    "413444003": ("ACMIS", "st-t", ["ISC_"]),
    "251173003": ("AB", "rhythm", ["BIGU", "PAC"]),
    "195080001": ("AFAFL", "rhythm", []),
    "195126007": ("AH", "hypertrophy", ["HYP"]),
    "251268003": ("AP", "rhythm", ["PACE"]),
    "106068003": ("ARH", "rhythm", []),
    "713422000": ("ATACH", "rhythm", ["SVTAC"]),
    "50799005": ("AVD", "conduction", []),
    "29320008": ("AVJR", "rhythm", []),
    "251166008": ("AVNRT", "rhythm", ["SVTAC"]),
    "233897008": ("AVRT", "rhythm", ["SVTAC"]),
    "251170000": ("BPAC", "rhythm", ["PAC"]),
    "418818005": ("BRU", "st-t", []),
    "74615001": ("BTS", "rhythm", []),
    "426749004": ("CAF", "rhythm", ["AFIB"]),
    "251199005": ("CCR", "axis", []),
    "61721007": ("CVCL", "form", []),
    "698247007": ("DYSR", "rhythm", []),
    "204384007": ("CIAHB", "conduction", ["_AVB"]),
    "53741008": ("CHD", "overall", []),
    "413844008": ("CMI", "st-t", ["ISC_"]),
    "251198002": ("CR", "axis", []),
    "82226007": ("DIB", "conduction", ["IVCD"]),
    "428417006": ("ERE", "st-t", []),
    "13640000": ("FB", "rhythm", []),
    "164942001": ("FQRS", "form", []),
    "84114007": ("HF", "overall", []),
    "368009": ("HVD", "overall", []),
    "251259000": ("HTV", "st-t", []),
    "251200008": ("ICA", "axis", []),
    "426183003": ("MOBITZ2", "conduction", ["2AVB"]),
    "704997005": ("ISTD", "st-t", ["STD_"]),
    "49260003": ("IR", "rhythm", []),
    "426995002": ("JE", "rhythm", []),
    "251164006": ("JPC", "rhythm", ["PRC(S)"]),
    "426648003": ("JTACH", "rhythm", []),
    "446813000": ("LAH", "hypertrophy", ["LAO/LAE", "AH"]),
    "370365005": ("LVS", "st-t", ["LVH"]),
    "54016002": ("MOBITZ1", "conduction", ["2AVB"]),
    "164867002": ("OLDMI", "infarction", ["MI"]),
    "282825002": ("PAF", "rhythm", ["AFIB"]),
    "251205003": ("PPW", "form", []),
    "425856008": ("PVT", "rhythm", ["VTACH"]),
    "164912004": ("PWC", "form", []),
    "164921003": ("RAB", "form", []),
    "67751000119106": ("RAHV", "hypertrophy", ["RAO/RAE"]),
    "314208002": ("RAF", "rhythm", ["AFIB"]),
    "17366009": ("SAAWR", "rhythm", []),
    "65778007": ("SAB", "conduction", []),
    "5609005": ("SARR", "rhythm", []),
    "60423000": ("SND", "rhythm", []),
    "49578007": ("SPRI", "conduction", []),
    "77867006": ("SQT", "st-t", []),
    "55930002": ("STC", "st-t", ["STTC"]),
    "164930006": ("STIAB", "st-t", ["STTC"]),
    "251168009": ("SVB", "rhythm", ["BIGU"]),
    "266257000": ("TIA", "overall", []),
    "251223006": ("TPW", "form", []),
    "164937009": ("UAB", "form", []),
    "11157007": ("VBIG", "rhythm", ["BIGU", "PVC"]),
    "75532003": ("VESB", "rhythm", []),
    "81898007": ("VESR", "rhythm", []),
    "164896001": ("VF", "rhythm", []),
    "111288001": ("VFL", "rhythm", []),
    "266249003": ("VH", "hypertrophy", ["HYP"]),
    "195060002": ("VPEX", "conduction", ["CD"]),
    "251266004": ("VPP", "rhythm", ["PACE"]),
    "251182009": ("VPVC", "rhythm", ["PVC"]),
    "164895002": ("VTACH", "rhythm", []),
    "251180001": ("VTRIG", "rhythm", ["TRIGU", "PVC"]),
    "195101003": ("WAP", "rhythm", []),
    # Chapman-only codes
    "28189009": ("MOBITZ2", "conduction", ["2AVB"]),
    "233896004": ("AVNRT", "rhythm", ["SVTAC"]),
    "251148003": ("LVOLTC", "form", ["LVOLT"]),
    "251147008": ("LVOLTL", "form", ["LVOLT"]),
}
# Concepts with no code in the tables, needed for extraction (named in the reports).
EXTRA = {
    "BIFB": ("bifascicular block", "conduction", ["CD"]),
    # German axis types ("Lagetyp") named in nearly every PTB-XL device report.
    "NAXIS": ("normal axis", "axis", []),
    "LAXIS": ("left axis type", "axis", []),
    "VAXIS": ("vertical axis", "axis", []),
    "RAXIS": ("right axis type", "axis", []),
    # The P-wave sign of left atrial overload written by the German device ("p-sinistrocardiale"):
    # a finding of its own under LAO/LAE, not the diagnosis (PTB-XL labels LAO/LAE in 9% of the
    # 1,165 reports of folds 1-8 naming it, in 67% of those naming left atrial enlargement).
    "PMITR": ("P mitrale (P sinistrocardiale)", "form", ["LAO/LAE"]),
    # QRS complexes without an R wave ("qs complexes in v2,3 consistent with old anteroseptal
    # myocardial infarction"): a pattern of its own under QWAVE; PTB-XL labels the infarction and
    # QWAVE only in 17% of the 212 reports of folds 1-8 naming QS complexes (99% of "q waves in ...").
    "QSCX": ("QS complexes", "form", ["QWAVE"]),
}

# Chapman names that contradict their own code (a fascicular block coded as LBBB, an MI wall coded
# as plain MI) are not used as synonyms; the code is still covered by its concept.
CHAPMAN_NAME_SKIP = {"LBBBB", "LFBBB", "MIBW", "MIFW", "MILW", "MISW", "VET", "STE", "IDC", "WAVN", "CCR", "CR"}


def read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def main():
    concepts = {}  # id -> dict
    order = []

    def concept(cid, label, category, parents=()):
        if cid not in concepts:
            concepts[cid] = {"id": cid, "label": label, "category": category, "codes": [], "parents": list(parents),
                             "synonyms": [], "definition": None, "flags": []}
            order.append(cid)
        return concepts[cid]

    def add_code(c, system, code):
        key = f"{system}:{code}"
        if key not in c["codes"]:
            c["codes"].append(key)

    def add_syn(c, text, lang="en", abbr=False):
        text = " ".join(text.split())
        if not text:
            return
        low = text.lower()
        if low == c["label"].lower() or any(s[0].lower() == low and s[1] == lang for s in c["synonyms"]):
            return
        c["synonyms"].append((text, lang, abbr))

    # PTB-XL classes first.
    for gid in ["NORM", "MI", "STTC", "CD", "HYP"]:
        if GROUPS[gid]:
            label, cat, parents, codes = GROUPS[gid]
            c = concept(gid, label, cat, parents)
            for code in codes:
                system, value = code.split(":", 1)
                add_code(c, system, value)
        else:
            concept(gid, "normal ECG", "overall")

    rows = read_csv(os.path.join(DATA, "ptbxl", "scp_statements.csv"))
    header = rows[0]
    col = {name: i for i, name in enumerate(header)}
    statements = []
    for row in rows[1:]:
        scp = row[0]
        statements.append(scp)
        desc = row[col["description"]]
        c = concept(scp, desc, SCP_CATEGORY[scp])
        c["category"] = SCP_CATEGORY[scp]
        c["label"] = desc
        add_code(c, "SCP", scp)
        aha = row[col["AHA code"]].strip()
        if aha:
            add_code(c, "AHA", aha)
        cls, sub = row[col["diagnostic_class"]].strip(), row[col["diagnostic_subclass"]].strip()
        if cls:
            if scp == cls:
                add_code(c, "PTBXL-CLASS", cls)
            elif cls not in c["parents"] and sub != scp:
                pass
        if sub:
            if sub == scp:
                add_code(c, "PTBXL-SUBCLASS", sub)
                if cls and cls != scp and cls not in c["parents"]:
                    c["parents"].append(cls)
            else:
                if sub not in c["parents"]:
                    c["parents"].append(sub)
        flags = [name for name in ("diagnostic", "form", "rhythm") if row[col[name]].strip() == "1.0"]
        c["flags"] = flags
        scp_desc = row[col["SCP-ECG Statement Description"]].strip()
        c["definition"] = f"{row[col['Statement Category']].strip()}: {scp_desc}" if scp_desc else None
        if scp_desc and scp_desc.lower() != desc.lower() and not scp_desc.startswith("in "):
            add_syn(c, scp_desc.replace("(complete) ", "complete ").replace("(beat)", "").strip())
        for extra in EXTRA_PARENTS.get(scp, []):
            if extra not in c["parents"]:
                c["parents"].append(extra)
    # NORM, STTC: class codes
    add_code(concepts["NORM"], "PTBXL-CLASS", "NORM")
    # Subclass groups that are not statements.
    for gid in ["ISCA", "ISCI", "_AVB", "LAFB/LPFB"]:
        label, cat, parents, codes = GROUPS[gid]
        c = concept(gid, label, cat, parents)
        for code in codes:
            system, value = code.split(":", 1)
            add_code(c, system, value)

    # SNOMED CT from CinC 2021 and Chapman.
    snomed_names = {}
    for name in ("dx_mapping_scored.csv", "dx_mapping_unscored.csv"):
        rows = read_csv(os.path.join(DATA, "cinc2021", name))
        for row in rows[1:]:
            if len(row) < 3 or not row[1].strip():
                continue
            snomed_names.setdefault(row[1].strip(), []).append((row[0].strip(), row[2].strip(), "cinc"))
    rows = read_csv(os.path.join(DATA, "chapman", "ConditionNames_SNOMED-CT.csv"))
    for row in rows[1:]:
        if len(row) < 3 or not row[2].strip():
            continue
        snomed_names.setdefault(row[2].strip(), []).append((row[1].strip(), row[0].strip(), "chapman"))

    for code in sorted(snomed_names, key=lambda k: (snomed_names[k][0][0].lower(), k)):
        names = snomed_names[code]
        if code in SNOMED_TO_ID:
            c = concepts[SNOMED_TO_ID[code]]
        else:
            cid, cat, parents = SNOMED_ONLY[code]
            c = concept(cid, names[0][0], cat, parents)
        add_code(c, "SNOMED", code)
        for full, abbr, source in names:
            if source == "chapman" and abbr in CHAPMAN_NAME_SKIP:
                continue
            add_syn(c, full)
    for cid, (label, cat, parents) in EXTRA.items():
        concept(cid, label, cat, parents)

    # Curated synonyms.
    with open(os.path.join(HERE, "synonyms.tsv"), encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 4:
                sys.exit(f"synonyms.tsv:{number}: expected 4 tab-separated fields, got {len(parts)}")
            cid, lang, abbr, text = parts
            if cid not in concepts:
                sys.exit(f"synonyms.tsv:{number}: unknown concept {cid}")
            add_syn(concepts[cid], text, lang, abbr == "1")

    # A curated synonym names one concept only (the extractor would silently take the first).
    owner = {}
    with open(os.path.join(HERE, "synonyms.tsv"), encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4 or line.startswith("#"):
                continue
            key = " ".join(parts[3].lower().split())
            if owner.setdefault(key, parts[0]) != parts[0]:
                sys.exit(f"synonyms.tsv:{number}: '{parts[3]}' already names {owner[key]}")

    # Check parents exist.
    for c in concepts.values():
        for p in c["parents"]:
            if p not in concepts:
                sys.exit(f"concept {c['id']}: unknown parent {p}")

    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           "<!-- Generated by Ontology/generate_ontology.py from PTB-XL scp_statements.csv (CC BY 4.0),",
           "     CinC 2021 dx_mapping_*.csv (BSD-2), Chapman-Shaoxing ConditionNames_SNOMED-CT.csv and",
           "     Ontology/synonyms.tsv. Edit the script or synonyms.tsv, not this file. -->",
           f'<ontology version="{VERSION}">']
    for cid in order:
        c = concepts[cid]
        attrs = f"id={quoteattr(cid)} category={quoteattr(c['category'])}"
        if c["flags"]:
            attrs += f" scp-kind={quoteattr(' '.join(c['flags']))}"
        out.append(f"  <concept {attrs}>")
        out.append(f"    <label>{escape(c['label'])}</label>")
        if c["definition"]:
            out.append(f"    <definition>{escape(c['definition'])}</definition>")
        rank = {"SNOMED": 0, "SCP": 1, "AHA": 2, "PTBXL-CLASS": 3, "PTBXL-SUBCLASS": 4}
        for code in sorted(c["codes"], key=lambda k: (rank[k.split(":")[0]], k)):
            system, value = code.split(":", 1)
            out.append(f"    <code system={quoteattr(system)}>{escape(value)}</code>")
        for p in c["parents"]:
            out.append(f"    <parent ref={quoteattr(p)}/>")
        for text, lang, abbr in c["synonyms"]:
            a = ' abbreviation="true"' if abbr else ""
            out.append(f"    <synonym lang={quoteattr(lang)}{a}>{escape(text)}</synonym>")
        if cid in TERRITORY:
            out.append(f"    <territory>{' '.join(TERRITORY[cid])}</territory>")
        for measurement, lo, hi, unit, *leads in CRITERIA.get(cid, []):
            a = f"measurement={quoteattr(measurement)}"
            if lo is not None:
                a += f' min="{lo:g}"'
            if hi is not None:
                a += f' max="{hi:g}"'
            if leads:
                a += f" leads={quoteattr(' '.join(leads))}"
            out.append(f"    <criterion {a} unit={quoteattr(unit)}/>")
        out.append("  </concept>")
    out.append("</ontology>")
    target = os.path.join(HERE, "kmerl-ontology.xml")
    with open(target + ".tmp", "w", encoding="utf-8") as handle:
        handle.write("\n".join(out) + "\n")
    os.replace(target + ".tmp", target)
    scp = sum(1 for c in concepts.values() if any(k.startswith("SCP:") for k in c["codes"]))
    sn = sum(1 for c in concepts.values() for k in c["codes"] if k.startswith("SNOMED:"))
    print(f"{len(concepts)} concepts, {scp} with an SCP code, {sn} SNOMED codes", file=sys.stderr)


if __name__ == "__main__":
    main()

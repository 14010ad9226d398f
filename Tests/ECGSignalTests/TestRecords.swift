import ECGCore
import ECGFormats
import Foundation
import KMERLTestSupport

/// Real records for the signal tests.
enum TestRecords {
    /// LUDB record `n` (1–100), 12 leads at 500 Hz in mV.
    static func ludb(_ n: Int) throws -> ECGRecord {
        try ECGReader.read(try SharedData.url("ludb/data/\(n).hea"))
    }

    /// Expert waves of LUDB record `n`, lead `lead` (lower-case LUDB suffix: `i`, `avr`, `v1` …).
    static func ludbWaves(_ n: Int, lead: String) throws -> [AnnotatedWave] {
        WFDBAnnotations.waves(try WFDBAnnotations.read(try SharedData.url("ludb/data/\(n).\(lead)")))
    }

    /// MIT-BIH record 100 (2 channels, 360 Hz, format 212), read by the formats reader.
    static func mitbih100() throws -> ECGRecord {
        try ECGReader.read(try SharedData.url("wfdb-samples/100.hea"))
    }

    /// The LUDB annotation suffix of a standard lead.
    static func ludbSuffix(_ lead: StandardLead) -> String { lead.name.lowercased() }
}

extension TestRecords {
    /// LUDB records whose "Cardiac pacing" column of `ludb/ludb.csv` (the database's own table of
    /// diagnoses) is not empty: pacemaker presence, ventricular, atrial, biventricular pacing or
    /// "P-synchrony" (atrial-synchronous ventricular pacing). The header comments do not serve:
    /// record 72's only pacing statement there is "P-synchrony", without the word "pacing".
    static func ludbPaced() throws -> Set<Int> {
        let url = try SharedData.url("ludb/ludb.csv")
        let rows = try csvRows(String(contentsOf: url, encoding: .utf8))
        guard let header = rows.first, let id = header.firstIndex(of: "ID"), let pacing = header.firstIndex(of: "Cardiac pacing") else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: url.path, NSLocalizedDescriptionKey: "ludb.csv: no ID or Cardiac pacing column"])
        }
        var paced: Set<Int> = []
        for row in rows.dropFirst() where row.count > max(id, pacing) {
            if let n = Int(row[id].trimmingCharacters(in: .whitespacesAndNewlines)), !row[pacing].trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { paced.insert(n) }
        }
        return paced
    }

    /// The rows of a comma-separated text whose quoted cells may hold commas, doubled quotes and line breaks.
    static func csvRows(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], cell = ""
        var quoted = false
        var characters = text.makeIterator()
        var pending: Character? = nil
        while let c = pending ?? characters.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    // A doubled quote stands for one; a single one ends the quoted part.
                    let next = characters.next()
                    if next == "\"" {
                        cell.append("\"")
                    } else {
                        quoted = false
                        pending = next
                    }
                } else {
                    cell.append(c)
                }
                continue
            }
            switch c {
            case "\"": quoted = true
            case ",":
                row.append(cell)
                cell = ""
            case "\n", "\r\n":
                row.append(cell)
                rows.append(row)
                cell = ""
                row = []
            default: cell.append(c)
            }
        }
        if !cell.isEmpty || !row.isEmpty {
            row.append(cell)
            rows.append(row)
        }
        return rows
    }
}

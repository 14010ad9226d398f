import ECGCore
import ECGFormats
import Foundation
import KMERLTestSupport
import Knowledge

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
    /// Read with the project's RFC 4180 reader (`Knowledge.CSVReader`): the cells hold line breaks.
    static func ludbPaced() throws -> Set<Int> {
        let url = try SharedData.url("ludb/ludb.csv")
        let reader = try CSVReader(url: url)
        guard let id = reader.column(named: "ID"), let pacing = reader.column(named: "Cardiac pacing") else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: url.path, NSLocalizedDescriptionKey: "ludb.csv: no ID or Cardiac pacing column"])
        }
        var paced: Set<Int> = []
        while try reader.nextRecord() {
            if let n = Int(try reader.string(at: id, column: "ID", trimmed: true)), !reader.isBlank(at: pacing) { paced.insert(n) }
        }
        return paced
    }
}

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

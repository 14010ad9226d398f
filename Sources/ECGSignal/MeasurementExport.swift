import Foundation

/// JSON and CSV renderings of measurements, with the keys of `kmerl-batch measure`: values
/// rounded (0.1 ms/bpm, 1°, 0.001 mV), a value that cannot be measured left out (JSON) or empty (CSV).
public enum MeasurementExport {
    /// One lead in the JSON output.
    struct LeadJSON: Encodable {
        var name: String
        var quality: Double
        var status: String
        var reasons: [String]?
        var pAmplitude, qAmplitude, rAmplitude, sAmplitude, tAmplitude, stJ60: Double?
    }

    /// One record in the JSON output.
    struct RecordJSON: Encodable {
        var record: String
        var heartRate, rrMean, rrSD, prInterval, qrsDuration, qtInterval, qtcBazett, qtcFridericia: Double?
        var pAxis, qrsAxis, tAxis: Double?
        var leads: [LeadJSON]
    }

    static func round(_ v: Double?, _ digits: Int) -> Double? {
        guard let v, v.isFinite else { return nil }
        let scale = Foundation.pow(10.0, Double(digits))
        return (v * scale).rounded() / scale
    }

    static func record(_ m: RecordMeasurements) -> RecordJSON {
        RecordJSON(
            record: m.record, heartRate: round(m.heartRate, 1), rrMean: round(m.rrMean, 1), rrSD: round(m.rrSD, 1),
            prInterval: round(m.prInterval, 1), qrsDuration: round(m.qrsDuration, 1), qtInterval: round(m.qtInterval, 1),
            qtcBazett: round(m.qtcBazett, 1), qtcFridericia: round(m.qtcFridericia, 1), pAxis: round(m.pAxis, 0),
            qrsAxis: round(m.qrsAxis, 0), tAxis: round(m.tAxis, 0),
            leads: m.leads.map { l in
                LeadJSON(
                    name: l.lead.name, quality: round(l.quality, 2) ?? 0, status: l.status.rawValue, reasons: l.reasons.isEmpty ? nil : l.reasons,
                    pAmplitude: round(l.pAmplitude, 3), qAmplitude: round(l.qAmplitude, 3), rAmplitude: round(l.rAmplitude, 3),
                    sAmplitude: round(l.sAmplitude, 3), tAmplitude: round(l.tAmplitude, 3), stJ60: round(l.stJ60, 3))
            })
    }

    /// A pretty-printed JSON array, one object per record (keys sorted).
    public static func json(_ records: [RecordMeasurements]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(records.map(record)), as: UTF8.self)
    }

    static let recordColumns = ["heartRate", "rrMean", "rrSD", "prInterval", "qrsDuration", "qtInterval", "qtcBazett", "qtcFridericia", "pAxis", "qrsAxis", "tAxis"]
    static let leadColumns = ["pAmplitude", "qAmplitude", "rAmplitude", "sAmplitude", "tAmplitude", "stJ60"]

    static func csvField(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    /// CSV with a header row and one row per lead (the record's values repeated on each row).
    public static func csv(_ records: [RecordMeasurements]) -> String {
        var out = (["record"] + recordColumns + ["lead", "quality", "status"] + leadColumns + ["reasons"]).joined(separator: ",") + "\n"
        func cell(_ v: Double?) -> String { v.map { String($0) } ?? "" }
        for m in records {
            let r = record(m)
            let recordCells = [r.heartRate, r.rrMean, r.rrSD, r.prInterval, r.qrsDuration, r.qtInterval, r.qtcBazett, r.qtcFridericia, r.pAxis, r.qrsAxis, r.tAxis].map(cell)
            for l in r.leads {
                let leadCells = [l.pAmplitude, l.qAmplitude, l.rAmplitude, l.sAmplitude, l.tAmplitude, l.stJ60].map(cell)
                let row = [csvField(r.record)] + recordCells + [csvField(l.name), String(l.quality), l.status] + leadCells + [csvField((l.reasons ?? []).joined(separator: "; "))]
                out += row.joined(separator: ",") + "\n"
            }
        }
        return out
    }
}

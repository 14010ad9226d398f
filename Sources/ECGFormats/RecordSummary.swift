import ECGCore
import Foundation

/// What `kmerl-batch inspect` reports about one record (keys as in the JSON output).
public struct RecordSummary: Sendable, Codable, Hashable {
    /// Per-lead facts.
    public struct LeadSummary: Sendable, Codable, Hashable {
        /// Canonical lead name (`aVR`), or the written name of a non-standard lead.
        public var name: String
        /// The name as written in the file.
        public var writtenName: String
        /// Physical units.
        public var units: String
        /// ADC gain (digital units per physical unit), for formats that store digital samples.
        public var gain: Double?
        /// ADC baseline, for formats that store digital samples.
        public var baseline: Int?
        /// Number of samples.
        public var samples: Int
        /// Smallest physical value (NaN samples ignored), `nil` when there is none.
        public var min: Double?
        /// Largest physical value (NaN samples ignored), `nil` when there is none.
        public var max: Double?
        /// Sum of the digital samples (WFDB/.mat).
        public var adcSum: Int64?
        /// Sum of the squared digital samples (WFDB/.mat).
        public var adcSumSquares: Int64?
        /// The first 10 digital samples (WFDB/.mat).
        public var adcFirst: [Int32]?

        private enum CodingKeys: String, CodingKey {
            case name, writtenName, units, gain, baseline, samples, min, max, adcSum, adcSumSquares, adcFirst
        }

        /// Encodes every key; `gain`, `baseline`, `min` and `max` as `null` when unknown, the `adc…`
        /// keys only for formats that store digital samples.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(writtenName, forKey: .writtenName)
            try c.encode(units, forKey: .units)
            try c.encode(gain, forKey: .gain)
            try c.encode(baseline, forKey: .baseline)
            try c.encode(samples, forKey: .samples)
            try c.encode(min, forKey: .min)
            try c.encode(max, forKey: .max)
            try c.encodeIfPresent(adcSum, forKey: .adcSum)
            try c.encodeIfPresent(adcSumSquares, forKey: .adcSumSquares)
            try c.encodeIfPresent(adcFirst, forKey: .adcFirst)
        }
    }

    /// Record id.
    public var id: String
    /// Source format (`wfdb`, `wfdb-mat`, `hl7-aecg`, `csv`).
    public var format: String
    /// Sampling rate in Hz.
    public var fs: Double
    /// Samples per lead.
    public var samples: Int
    /// Duration in seconds.
    public var seconds: Double
    /// Reading warnings (checksum mismatches …).
    public var warnings: [String]
    /// The leads, in file order.
    public var leads: [LeadSummary]

    /// Summarises `record`.
    public init(record: ECGRecord) {
        id = record.id
        format = record.sourceFormat.rawValue
        fs = record.samplingRate
        samples = record.sampleCount
        seconds = record.duration
        warnings = record.warnings
        leads = record.leads.map { lead in
            var lo = Float.infinity
            var hi = -Float.infinity
            for v in lead.samples where !v.isNaN {
                lo = Swift.min(lo, v)
                hi = Swift.max(hi, v)
            }
            let any = lo <= hi
            return LeadSummary(
                name: lead.lead.name, writtenName: lead.writtenName, units: lead.units, gain: lead.adc?.gain, baseline: lead.adc?.baseline,
                samples: lead.samples.count, min: any ? Double(lo) : nil, max: any ? Double(hi) : nil, adcSum: lead.adc?.sum,
                adcSumSquares: lead.adc?.sumOfSquares, adcFirst: lead.adc?.first)
        }
    }
}

extension RecordSummary {
    /// A pretty-printed JSON array of `summaries` with keys in the documented order
    /// (`id`, `format`, `fs`, `samples`, `seconds`, `warnings`, `leads`; per lead `name`, `writtenName`,
    /// `units`, `gain`, `baseline`, `samples`, `min`, `max`, then `adcSum`, `adcSumSquares`, `adcFirst`
    /// for formats that store digital samples). Unknown values are `null`.
    public static func jsonArray(_ summaries: [RecordSummary]) -> String {
        var out = "["
        for (r, s) in summaries.enumerated() {
            out += r == 0 ? "\n" : ",\n"
            out += "  {\n"
            out += "    \"id\": \(quote(s.id)),\n"
            out += "    \"format\": \(quote(s.format)),\n"
            out += "    \"fs\": \(number(s.fs)),\n"
            out += "    \"samples\": \(s.samples),\n"
            out += "    \"seconds\": \(number(s.seconds)),\n"
            out += "    \"warnings\": [\(s.warnings.map(quote).joined(separator: ", "))],\n"
            out += "    \"leads\": ["
            for (k, l) in s.leads.enumerated() {
                out += k == 0 ? "\n" : ",\n"
                var fields = [
                    "\"name\": \(quote(l.name))", "\"writtenName\": \(quote(l.writtenName))", "\"units\": \(quote(l.units))",
                    "\"gain\": \(l.gain.map(number) ?? "null")", "\"baseline\": \(l.baseline.map(String.init) ?? "null")",
                    "\"samples\": \(l.samples)", "\"min\": \(l.min.map(number) ?? "null")", "\"max\": \(l.max.map(number) ?? "null")",
                ]
                if let sum = l.adcSum { fields.append("\"adcSum\": \(sum)") }
                if let squares = l.adcSumSquares { fields.append("\"adcSumSquares\": \(squares)") }
                if let first = l.adcFirst { fields.append("\"adcFirst\": [\(first.map(String.init).joined(separator: ", "))]") }
                out += "      {" + fields.joined(separator: ", ") + "}"
            }
            out += s.leads.isEmpty ? "]\n" : "\n    ]\n"
            out += "  }"
        }
        out += summaries.isEmpty ? "]\n" : "\n]\n"
        return out
    }

    private static func number(_ v: Double) -> String {
        guard v.isFinite else { return "null" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        // Values that came from Float samples print in their shortest Float form (0.235, not 0.23499999940395355).
        if abs(v) < 3e38, Double(Float(v)) == v { return "\(Float(v))" }
        return "\(v)"
    }

    private static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

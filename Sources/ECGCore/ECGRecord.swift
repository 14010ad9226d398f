import Foundation

/// The file format an `ECGRecord` was read from.
public enum SourceFormat: String, Sendable, Codable, Hashable {
    case wfdb
    case wfdbMat = "wfdb-mat"
    case hl7aECG = "hl7-aecg"
    case csv
    case other
}

/// Facts about the digital (ADC) samples of one WFDB signal, kept for conformance checks
/// and `kmerl-batch inspect`.
public struct ADCInfo: Sendable, Hashable {
    /// ADC units per physical unit.
    public var gain: Double
    /// The digital value that corresponds to 0 physical units.
    public var baseline: Int
    /// The signal's WFDB storage format, e.g. `"212"` or `"16"`.
    public var format: String
    /// Sum of the digital samples (invalid samples counted at their digital value, as wfdb-python does).
    public var sum: Int64
    /// Sum of the squares of the digital samples (invalid samples counted at their digital value).
    public var sumOfSquares: Int64
    /// The first (up to) 10 digital samples.
    public var first: [Int32]
    /// The last (up to) 3 digital samples.
    public var last: [Int32]

    public init(gain: Double, baseline: Int, format: String, sum: Int64, sumOfSquares: Int64, first: [Int32], last: [Int32]) {
        self.gain = gain
        self.baseline = baseline
        self.format = format
        self.sum = sum
        self.sumOfSquares = sumOfSquares
        self.first = first
        self.last = last
    }
}

/// One lead of a record: its samples in physical units and what is known about them.
public struct LeadSignal: Sendable {
    /// The lead, resolved from the written name.
    public var lead: Lead
    /// The name as written in the file (`MLII`, `avr` …).
    public var writtenName: String
    /// Samples in physical units (`units`); `Float.nan` marks an invalid or missing sample.
    public var samples: [Float]
    /// Physical units as written (`mV`, `uV`, `NU` …).
    public var units: String
    /// `true` when this lead was computed from others (e.g. III = II − I), not recorded.
    public var isDerived: Bool
    /// Digital-sample facts, for formats that store ADC values (WFDB, `.mat`).
    public var adc: ADCInfo?

    public init(lead: Lead, writtenName: String, samples: [Float], units: String, isDerived: Bool = false, adc: ADCInfo? = nil) {
        self.lead = lead
        self.writtenName = writtenName
        self.samples = samples
        self.units = units
        self.isDerived = isDerived
        self.adc = adc
    }

    /// Factor that converts this lead's units to millivolts, or `nil` when the units are not a voltage
    /// (e.g. the normalized units `NU` of the shared PTB-XL copies).
    public var millivoltsPerUnit: Float? {
        switch units.trimmingWhitespace().lowercased() {
        case "mv": 1
        case "uv", "µv", "μv": 0.001
        case "v": 1000
        case "nv": 0.000_001
        default: nil
        }
    }
}

/// An ECG recording with any subset of leads, all sampled at one rate.
public struct ECGRecord: Sendable {
    /// The record's name (WFDB record name, file stem otherwise).
    public var id: String
    /// Samples per second per lead.
    public var samplingRate: Double
    /// The leads present, in the order of the file.
    public var leads: [LeadSignal]
    /// The recording's start, when the file states it.
    public var startTime: Date?
    /// The start as written (`HH:MM:SS DD/MM/YYYY`, an ISO timestamp …), when the file states it.
    public var startTimeText: String?
    /// Free-text metadata: WFDB `#` comments, aECG annotations, etc.
    public var comments: [String]
    /// The format the record was read from.
    public var sourceFormat: SourceFormat
    /// The file the record was read from (the header for WFDB).
    public var sourceURL: URL?
    /// Problems that did not prevent reading (checksum mismatch, clipped values …).
    public var warnings: [String]

    public init(
        id: String, samplingRate: Double, leads: [LeadSignal], startTime: Date? = nil, startTimeText: String? = nil,
        comments: [String] = [], sourceFormat: SourceFormat, sourceURL: URL? = nil, warnings: [String] = []
    ) {
        self.id = id
        self.samplingRate = samplingRate
        self.leads = leads
        self.startTime = startTime
        self.startTimeText = startTimeText
        self.comments = comments
        self.sourceFormat = sourceFormat
        self.sourceURL = sourceURL
        self.warnings = warnings
    }

    /// Number of samples per lead (the longest lead).
    public var sampleCount: Int { leads.map(\.samples.count).max() ?? 0 }

    /// Duration in seconds.
    public var duration: Double { samplingRate > 0 ? Double(sampleCount) / samplingRate : 0 }

    /// The standard leads present, in display order.
    public var standardLeads: [StandardLead] { leads.compactMap(\.lead.standardLead).sorted() }

    /// The first lead signal for `lead`, if present.
    public func signal(for lead: StandardLead) -> LeadSignal? {
        leads.first { $0.lead == .standard(lead) }
    }

    /// A copy keeping only the given standard leads (order of the file kept).
    public func keeping(_ wanted: Set<StandardLead>) -> ECGRecord {
        var copy = self
        copy.leads = leads.filter { $0.lead.standardLead.map(wanted.contains) ?? false }
        return copy
    }

    /// A copy with III, aVR, aVL and aVF computed from I and II where they are missing
    /// (Einthoven/Goldberger), each marked `isDerived`. Unchanged when I or II is absent or
    /// their units or lengths differ.
    public func withDerivedLimbLeads() -> ECGRecord {
        guard let leadI = signal(for: .i), let leadII = signal(for: .ii),
            leadI.units == leadII.units, leadI.samples.count == leadII.samples.count
        else { return self }
        let a = leadI.samples
        let b = leadII.samples
        let formulas: [(StandardLead, (Float, Float) -> Float)] = [
            (.iii, { i, ii in ii - i }),
            (.aVR, { i, ii in -(i + ii) / 2 }),
            (.aVL, { i, ii in i - ii / 2 }),
            (.aVF, { i, ii in ii - i / 2 }),
        ]
        var copy = self
        for (lead, formula) in formulas where signal(for: lead) == nil {
            var samples = [Float](repeating: 0, count: a.count)
            for k in 0..<a.count { samples[k] = formula(a[k], b[k]) }
            copy.leads.append(LeadSignal(lead: .standard(lead), writtenName: lead.name, samples: samples, units: leadI.units, isDerived: true))
        }
        return copy
    }
}

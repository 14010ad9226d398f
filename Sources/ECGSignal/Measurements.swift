import ECGCore

/// Whether a lead could be analysed.
public enum LeadStatus: String, Sendable, Codable, Hashable {
    /// Measured.
    case ok
    /// Present but unusable (flat, clipped, too noisy, too short …); see `LeadMeasurements.reasons`.
    case notAnalysable = "not-analysable"
}

/// The measurements of one lead. A value that could not be measured is `nil`, never zero.
public struct LeadMeasurements: Sendable, Codable, Hashable {
    public var lead: Lead
    /// Signal quality in [0, 1] (1 = clean).
    public var quality: Double
    public var status: LeadStatus
    /// Why the lead is not analysable, or what lowered its quality.
    public var reasons: [String]
    /// Amplitudes in mV (median beat), when the lead's units are a voltage.
    public var pAmplitude: Double?
    public var qAmplitude: Double?
    public var rAmplitude: Double?
    public var sAmplitude: Double?
    public var tAmplitude: Double?
    /// ST level at J + 60 ms relative to the PR baseline, mV.
    public var stJ60: Double?
    /// QRS area, mV·ms.
    public var qrsArea: Double?
    /// This lead's wave boundaries on its median beat, ms relative to the QRS fiducial point
    /// (add them to `RecordMeasurements.beats` for per-beat positions).
    public var boundaries: WaveBoundaries?
    /// The lead's median beat (0.5–40 Hz, mV for voltage leads; other units as recorded), sampled
    /// at the rate of the analysis, when `MeasurementPipeline.keepMedianBeats` is set.
    public var medianBeat: [Float]?
    /// This lead's wave boundaries per beat (same order as `RecordMeasurements.beats`, ms relative
    /// to each beat's fiducial point): beats of another morphology (ectopic, paced, fused) have their
    /// own. Kept when `MeasurementPipeline.keepBeatBoundaries` is set.
    public var beatBoundaries: [WaveBoundaries]?

    public init(lead: Lead, quality: Double, status: LeadStatus, reasons: [String] = []) {
        self.lead = lead
        self.quality = quality
        self.status = status
        self.reasons = reasons
    }
}

/// The measurements of one record. A value that could not be measured is `nil`, never zero.
public struct RecordMeasurements: Sendable, Codable, Hashable {
    public var record: String
    /// Beats per minute.
    public var heartRate: Double?
    /// RR mean and standard deviation, ms.
    public var rrMean: Double?
    public var rrSD: Double?
    /// An irregularity index of the RR series (e.g. RMSSD / mean RR), dimensionless.
    public var rrIrregularity: Double?
    /// Intervals, ms.
    public var prInterval: Double?
    public var qrsDuration: Double?
    public var qtInterval: Double?
    public var qtcBazett: Double?
    public var qtcFridericia: Double?
    /// Frontal-plane axes, degrees.
    public var pAxis: Double?
    public var qrsAxis: Double?
    public var tAxis: Double?
    /// Index of the QRS fiducial point in each lead's `medianBeat`, when kept.
    public var medianBeatFiducial: Int?
    /// Global (all-lead) wave boundaries, ms relative to the QRS fiducial point.
    public var boundaries: WaveBoundaries?
    /// Sample indices (at the record's rate) of the detected QRS complexes (fiducial points:
    /// the steepest part of the QRS).
    public var beats: [Int]
    /// The morphology class of each beat (0 = the dominant beat the median beats describe; 1, 2 … =
    /// other morphologies), when `MeasurementPipeline.keepBeatBoundaries` is set.
    public var beatMorphology: [Int]?
    /// Sample indices of the pacemaker spikes found (removed before delineation); nil when none.
    public var pacingSpikes: [Int]?
    public var leads: [LeadMeasurements]

    public init(record: String, beats: [Int] = [], leads: [LeadMeasurements] = []) {
        self.record = record
        self.beats = beats
        self.leads = leads
    }

    /// A measurement by its JSON key (`heartRate`, `qrsDuration` …), for ontology criteria.
    public func value(forKey key: String) -> Double? {
        switch key {
        case "heartRate": heartRate
        case "rrMean": rrMean
        case "rrSD": rrSD
        case "rrIrregularity": rrIrregularity
        case "prInterval": prInterval
        case "qrsDuration": qrsDuration
        case "qtInterval": qtInterval
        case "qtcBazett": qtcBazett
        case "qtcFridericia": qtcFridericia
        case "pAxis": pAxis
        case "qrsAxis": qrsAxis
        case "tAxis": tAxis
        default: nil
        }
    }
}

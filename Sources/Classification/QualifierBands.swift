import Foundation

/// Probability bands that turn a calibrated probability into a clinical qualifier in the
/// AHA/ACC/HRS 2007 style.
///
/// A finding below `consider` is not reported; from `consider` it reads "consider …", from
/// `possible` "possible …", from `probable` "probable …", and from `definite` it is stated
/// without a qualifier. A finding whose defining measurement lies within `borderlineMargin`
/// of the criterion's bound reads "borderline …" instead (e.g. "borderline prolonged PR").
public struct QualifierBands: Sendable, Codable, Hashable {
    /// Lowest probability that is reported at all ("consider").
    public var consider: Double
    /// Lowest probability for "possible".
    public var possible: Double
    /// Lowest probability for "probable".
    public var probable: Double
    /// Lowest probability stated without a qualifier.
    public var definite: Double
    /// Distance to a criterion's bound, as a fraction of the criterion's scale (20 ms, 10 bpm,
    /// 30°, 0.1 mV), within which a measurement-defined finding is called "borderline".
    public var borderlineMargin: Double

    /// The default bands: 0.35 / 0.50 / 0.65 / 0.80, borderline within a quarter of a scale step.
    public init(consider: Double = 0.35, possible: Double = 0.5, probable: Double = 0.65, definite: Double = 0.8, borderlineMargin: Double = 0.25) {
        self.consider = consider
        self.possible = possible
        self.probable = probable
        self.definite = definite
        self.borderlineMargin = borderlineMargin
    }

    /// The error thrown for bands that are not increasing or not within [0, 1].
    public struct InvalidBands: Error, CustomStringConvertible, LocalizedError {
        public var description: String
        public var errorDescription: String? { description }
    }

    /// Parses `consider,possible,probable,definite` (e.g. `0.35,0.5,0.65,0.8`).
    public init(parsing text: String) throws {
        let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, let c = parts[0], let p = parts[1], let pr = parts[2], let d = parts[3] else {
            throw InvalidBands(description: "qualifier bands '\(text)': expected four numbers 'consider,possible,probable,definite', e.g. 0.35,0.5,0.65,0.8")
        }
        self.init(consider: c, possible: p, probable: pr, definite: d)
        try validate()
    }

    /// Throws `InvalidBands` unless 0 ≤ consider ≤ possible ≤ probable ≤ definite ≤ 1.
    public func validate() throws {
        let values = [consider, possible, probable, definite]
        guard values.allSatisfy({ (0...1).contains($0) }), values == values.sorted() else {
            throw InvalidBands(description: "qualifier bands \(values): must be increasing and within [0, 1]")
        }
    }

    /// The qualifier for `probability`, or `nil` when the finding is not reported.
    /// `nearBound` marks a measurement-defined finding whose measurement lies near the bound.
    public func qualifier(for probability: Double, nearBound: Bool = false) -> Qualifier? {
        guard probability >= consider else { return nil }
        if nearBound { return .borderline }
        if probability >= definite { return .definite }
        if probability >= probable { return .probable }
        if probability >= possible { return .possible }
        return .consider
    }
}

extension Qualifier {
    /// The qualifier followed by the label, e.g. "probable left bundle branch block"; the bare
    /// label for a definite finding.
    public func phrase(_ label: String) -> String {
        self == .definite ? label : "\(rawValue) \(label)"
    }
}

import ECGCore
import Foundation

/// A reference (expert) wave for validation: kind `p`, `N` (QRS) or `t`, sample indices.
public typealias ReferenceWave = AnnotatedWave

/// Error statistics of one boundary type (detected − reference, ms).
public struct BoundaryStatistics: Sendable, Hashable {
    /// Boundary name (`QRS onset` …).
    public var name: String
    /// Reference boundaries considered.
    public var annotated: Int = 0
    /// Reference boundaries with a detected boundary within the tolerance.
    public var matched: Int = 0
    var sum = 0.0
    var sumOfSquares = 0.0

    /// Statistics named `name`, empty.
    public init(name: String) { self.name = name }

    /// Adds one reference boundary and its error (nil = not matched).
    public mutating func add(error: Double?) {
        annotated += 1
        guard let error else { return }
        matched += 1
        sum += error
        sumOfSquares += error * error
    }

    /// Merges another set of statistics of the same boundary.
    public mutating func merge(_ other: BoundaryStatistics) {
        annotated += other.annotated
        matched += other.matched
        sum += other.sum
        sumOfSquares += other.sumOfSquares
    }

    /// Mean error, ms.
    public var mean: Double { matched > 0 ? sum / Double(matched) : .nan }
    /// Standard deviation of the error, ms.
    public var standardDeviation: Double {
        guard matched > 1 else { return .nan }
        let m = mean
        return max(0, (sumOfSquares - Double(matched) * m * m) / Double(matched - 1)).squareRoot()
    }
    /// Fraction of reference boundaries matched.
    public var fractionMatched: Double { annotated > 0 ? Double(matched) / Double(annotated) : .nan }
}

/// Scores detected per-beat boundaries against expert waves: each reference boundary is matched
/// to the nearest detected boundary of the same type within `tolerance` ms.
public struct DelineationScore: Sendable {
    /// The five boundary types scored.
    public static let boundaryNames = ["QRS onset", "QRS offset", "P onset", "P offset", "T offset"]
    /// Matching tolerance, ms.
    public var tolerance: Double
    /// Per-boundary statistics, in `boundaryNames` order.
    public var statistics: [BoundaryStatistics]

    /// An empty score.
    public init(tolerance: Double = 150) {
        self.tolerance = tolerance
        self.statistics = Self.boundaryNames.map { BoundaryStatistics(name: $0) }
    }

    /// Detected per-beat boundary positions (samples) for one lead, from its median-beat boundaries.
    public static func detectedPositions(beats: [Int], boundaries: WaveBoundaries?, sampleRate fs: Double) -> [[Int]] {
        let offsets: [Double?] = [boundaries?.qrsOnset, boundaries?.qrsOffset, boundaries?.pOnset, boundaries?.pOffset, boundaries?.tOffset]
        return offsets.map { offset in
            guard let offset else { return [] }
            return beats.map { $0 + Int((offset * fs / 1000).rounded()) }
        }
    }

    /// Detected per-beat boundary positions (samples) for one lead: from its per-beat boundaries
    /// when the pipeline kept them (`keepBeatBoundaries`), otherwise from its median-beat boundaries.
    public static func detectedPositions(beats: [Int], lead: LeadMeasurements, sampleRate fs: Double) -> [[Int]] {
        guard let perBeat = lead.beatBoundaries, perBeat.count == beats.count else {
            return detectedPositions(beats: beats, boundaries: lead.boundaries, sampleRate: fs)
        }
        let keys: [KeyPath<WaveBoundaries, Double?>] = [\.qrsOnset, \.qrsOffset, \.pOnset, \.pOffset, \.tOffset]
        return keys.map { key in
            zip(beats, perBeat).compactMap { b, w in w[keyPath: key].map { b + Int(($0 * fs / 1000).rounded()) } }.sorted()
        }
    }

    /// The scored boundaries of one annotated wave as (boundary type in `boundaryNames` order,
    /// sample position): QRS onset/offset, P onset/offset, T offset; none for other waves.
    public static func boundaries(of wave: ReferenceWave) -> [(type: Int, position: Int?)] {
        switch wave.kind {
        case "N": return [(0, wave.onset), (1, wave.offset)]
        case "p": return [(2, wave.onset), (3, wave.offset)]
        case "t": return [(4, wave.offset)]
        default: return []
        }
    }

    /// Adds one lead: `reference` waves, `detected` positions per boundary type (`boundaryNames`
    /// order, sorted), sampled at `fs`.
    public mutating func add(reference: [ReferenceWave], detected: [[Int]], sampleRate fs: Double) {
        for wave in reference {
            for (type, position) in Self.boundaries(of: wave) {
                guard let position else { continue }
                var best: Double?
                for d in detected[type] {
                    let e = Double(d - position) * 1000 / fs
                    if abs(e) <= tolerance, best.map({ abs(e) < abs($0) }) ?? true { best = e }
                }
                statistics[type].add(error: best)
            }
        }
    }

    /// Merges another score.
    public mutating func merge(_ other: DelineationScore) {
        for k in statistics.indices { statistics[k].merge(other.statistics[k]) }
    }

    /// A plain-text table: boundary, annotated, matched %, mean, SD.
    public func table(title: String) -> String {
        var lines = ["\(title)", "boundary        annotated  matched    mean(ms)   SD(ms)"]
        for s in statistics {
            lines.append(
                s.name.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + String(format: "%9d  %6.1f%%  %9.1f  %8.1f", s.annotated, s.fractionMatched * 100, s.mean, s.standardDeviation))
        }
        return lines.joined(separator: "\n")
    }
}

import Foundation

/// A deterministic pseudo-random generator (SplitMix64): the same seed gives the same model.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator started from `seed`.
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform `Float` in [0, 1).
    public mutating func nextUniform() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// A standard normal sample (Box–Muller).
    public mutating func nextGaussian() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-12)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

/// One named tensor of the model: its shape, where it sits in the flat parameter vector,
/// and whether AdamW applies weight decay to it.
public struct ParameterInfo: Sendable, Hashable {
    /// The safetensors name, e.g. `ecg.conv1.weight`.
    public var name: String
    /// The shape (row-major).
    public var shape: [Int]
    /// Offset of the first element in the flat vector.
    public var offset: Int
    /// Whether weight decay applies (matrices yes; biases, norms, embeddings no).
    public var decays: Bool
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
}

/// The ordered list of named tensors that make up a model.
public struct ParameterLayout: Sendable, Hashable {
    /// The tensors in order.
    public private(set) var tensors: [ParameterInfo] = []
    /// Total number of floats.
    public private(set) var totalCount = 0
    private var index: [String: Int] = [:]

    /// An empty layout.
    public init() {}

    /// Appends a tensor and returns its offset.
    @discardableResult
    public mutating func add(_ name: String, _ shape: [Int], decays: Bool) -> Int {
        let info = ParameterInfo(name: name, shape: shape, offset: totalCount, decays: decays)
        index[name] = tensors.count
        tensors.append(info)
        totalCount += info.count
        return info.offset
    }

    /// The tensor called `name`, if any.
    public func info(_ name: String) -> ParameterInfo? { index[name].map { tensors[$0] } }
}

/// AdamW with decoupled weight decay over a flat parameter vector.
public struct AdamW: Sendable {
    /// Peak learning rate (scaled by the schedule).
    public var learningRate: Float
    /// Exponential decay of the first moment.
    public var beta1: Float = 0.9
    /// Exponential decay of the second moment.
    public var beta2: Float = 0.999
    /// Numerical floor.
    public var epsilon: Float = 1e-8
    /// Decoupled weight decay (applied to tensors with `decays`).
    public var weightDecay: Float
    /// First moments.
    public var m: [Float]
    /// Second moments.
    public var v: [Float]
    /// Steps taken.
    public var step = 0

    /// A fresh optimiser state for `count` parameters.
    public init(count: Int, learningRate: Float, weightDecay: Float) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        m = [Float](repeating: 0, count: count)
        v = [Float](repeating: 0, count: count)
    }

    /// One update of `parameters` with `gradients` at learning-rate multiplier `scale`.
    public mutating func update(_ parameters: inout [Float], gradients: [Float], layout: ParameterLayout, scale: Float) {
        step += 1
        let lr = learningRate * scale
        let c1 = 1 - pow(beta1, Float(step))
        let c2 = 1 - pow(beta2, Float(step))
        let (b1, b2, eps, wd) = (beta1, beta2, epsilon, weightDecay)
        parameters.withUnsafeMutableBufferPointer { p in
            gradients.withUnsafeBufferPointer { g in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        for tensor in layout.tensors {
                            let decay = tensor.decays ? wd : 0
                            for i in tensor.offset..<(tensor.offset + tensor.count) {
                                let gi = g[i]
                                m[i] = b1 * m[i] + (1 - b1) * gi
                                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                                let mh = m[i] / c1
                                let vh = v[i] / c2
                                p[i] -= lr * (mh / (vh.squareRoot() + eps) + decay * p[i])
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Linear warm-up followed by cosine decay to `floor` of the peak.
public struct WarmupCosineSchedule: Sendable {
    /// Steps of linear warm-up.
    public var warmupSteps: Int
    /// Total steps.
    public var totalSteps: Int
    /// Final multiplier.
    public var floor: Float = 0.02

    /// A schedule.
    public init(warmupSteps: Int, totalSteps: Int, floor: Float = 0.02) {
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.floor = floor
    }

    /// The learning-rate multiplier at `step` (0-based).
    public func multiplier(at step: Int) -> Float {
        if step < warmupSteps { return Float(step + 1) / Float(max(warmupSteps, 1)) }
        let progress = Float(step - warmupSteps) / Float(max(totalSteps - warmupSteps, 1))
        let cosine = 0.5 * (1 + cos(Float.pi * min(progress, 1)))
        return floor + (1 - floor) * cosine
    }
}

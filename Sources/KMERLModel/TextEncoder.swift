import Foundation

/// Turns text into subword features: each word, and the character 3-, 4- and 5-grams of
/// `<word>`, hashed (FNV-1a) into a fixed number of buckets. An unseen concept text therefore
/// still lands near texts that share words or word pieces ("infarction" ~ "infarkt").
public struct SubwordTokenizer: Sendable, Hashable {
    /// Number of hash buckets.
    public var buckets: Int

    /// A tokenizer over `buckets` buckets.
    public init(buckets: Int) { self.buckets = buckets }

    /// Lower-cased words (letters and digits; everything else separates).
    public static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for ch in text.lowercased() {
            if ch.isLetter || ch.isNumber {
                current.append(ch)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// The bucket indices of all features of `text` (with repetitions).
    public func features(_ text: String) -> [Int32] {
        var out: [Int32] = []
        for word in Self.words(text) {
            out.append(bucket("w:" + word))
            let chars = Array("<" + word + ">")
            for n in 3...5 where chars.count >= n {
                for i in 0...(chars.count - n) {
                    out.append(bucket(String(chars[i..<(i + n)])))
                }
            }
        }
        return out
    }

    private func bucket(_ s: String) -> Int32 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in s.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        return Int32(h % UInt64(buckets))
    }
}

/// Activations of the text encoder for a batch of texts.
final class TextActivations {
    let features: [[Int32]]
    let bag: Buffer
    let hidden: Buffer
    let act: Buffer
    let z: Buffer
    let embedding: Buffer
    let norms: Buffer

    init(features: [[Int32]], bag: Buffer, hidden: Buffer, act: Buffer, z: Buffer, embedding: Buffer, norms: Buffer) {
        self.features = features
        self.bag = bag
        self.hidden = hidden
        self.act = act
        self.z = z
        self.embedding = embedding
        self.norms = norms
    }
}

extension Network {
    /// Text encoder: mean of subword embeddings → linear → GELU → linear → unit length.
    func forwardText(parameters: UnsafePointer<Float>, features: [[Int32]]) -> TextActivations {
        let w = config.textWidth
        let e = config.embeddingWidth
        let n = features.count
        let bag = Buffer(n * w)
        for (i, f) in features.enumerated() where !f.isEmpty {
            let inv = 1 / Float(f.count)
            let row = bag.p + i * w
            for b in f {
                let src = parameters + textTable + Int(b) * w
                for j in 0..<w { row[j] += src[j] * inv }
            }
        }
        let hidden = Buffer(n * w)
        Ops.linear(bag.p, rows: n, inputs: w, outputs: w, w: parameters + textW1, b: parameters + textB1, y: hidden.p)
        let act = Buffer(n * w)
        for i in 0..<(n * w) { act.p[i] = Ops.gelu(hidden.p[i]) }
        let z = Buffer(n * e)
        Ops.linear(act.p, rows: n, inputs: w, outputs: e, w: parameters + textW2, b: parameters + textB2, y: z.p)
        let emb = Buffer(n * e), norms = Buffer(n)
        Ops.normalize(z.p, rows: n, dim: e, y: emb.p, norms: norms.p)
        return TextActivations(features: features, bag: bag, hidden: hidden, act: act, z: z, embedding: emb, norms: norms)
    }

    /// Backward of `forwardText`; accumulates into `gradients`.
    func backwardText(parameters: UnsafePointer<Float>, acts: TextActivations, dEmbedding: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
        let w = config.textWidth
        let e = config.embeddingWidth
        let n = acts.features.count
        let dz = Buffer(n * e)
        Ops.normalizeBackward(acts.embedding.p, dy: dEmbedding, norms: acts.norms.p, rows: n, dim: e, dx: dz.p)
        let dact = Buffer(n * w)
        Ops.linearBackward(acts.act.p, dy: dz.p, rows: n, inputs: w, outputs: e, w: parameters + textW2, dw: gradients + textW2, db: gradients + textB2, dx: dact.p)
        for i in 0..<(n * w) { dact.p[i] *= Ops.geluDerivative(acts.hidden.p[i]) }
        let dbag = Buffer(n * w)
        Ops.linearBackward(acts.bag.p, dy: dact.p, rows: n, inputs: w, outputs: w, w: parameters + textW1, dw: gradients + textW1, db: gradients + textB1, dx: dbag.p)
        for (i, f) in acts.features.enumerated() where !f.isEmpty {
            let inv = 1 / Float(f.count)
            let row = dbag.p + i * w
            for b in f {
                let dst = gradients + textTable + Int(b) * w
                for j in 0..<w { dst[j] += row[j] * inv }
            }
        }
    }
}

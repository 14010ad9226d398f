import Foundation

/// The hyper-parameters of the lead-aware encoder and the knowledge text encoder. Stored in the
/// model file's metadata, so that a file always describes its own architecture.
public struct EncoderConfiguration: Codable, Sendable, Hashable {
    /// How the encoder combines the present leads.
    public enum Fusion: String, Codable, Sendable, Hashable, CaseIterable {
        /// Each lead's time tokens are mean+max pooled into one token per lead (plus a lead
        /// embedding); the transformer runs over the lead tokens. Cross-lead interaction happens
        /// only after the time alignment between leads is gone (the session-1 architecture; what
        /// files without a `fusion` field describe).
        case leadTokens
        /// Time tokens stay aligned: each lead's tokens go through a lead-specific projection
        /// (plus a lead embedding) and are averaged over the present leads per time step (absent
        /// leads contribute nothing), a time-position embedding is added, and the transformer runs
        /// over the fused time tokens — like a CNN with leads as channels, but for any lead subset.
        case timeAligned
    }

    /// How present leads are combined (see `Fusion`). The shipped model is `timeAligned`;
    /// decoding a file without the field gives `leadTokens`.
    public var fusion: Fusion = .timeAligned
    /// Samples per second the encoder expects (records are resampled to it).
    public var sampleRate: Double = 100
    /// Samples per lead (10 s at 100 Hz); shorter records are padded at the end, longer ones cut to the centre.
    public var length: Int = 1000
    /// Output channels of the per-lead convolution stem (the first layer is the patch embedding).
    public var convChannels: [Int] = [16, 32, 64, 64]
    /// Whether each stem convolution is followed by a layer norm over channels (per time step).
    /// Off in the default model: with it (and 96 channels) the 80-epoch run overfitted (fold-9
    /// superclass AUROC 0.870 vs 0.895 without).
    public var convNorm: Bool = false
    /// Kernel sizes of the stem.
    public var convKernels: [Int] = [10, 5, 5, 3]
    /// Strides of the stem.
    public var convStrides: [Int] = [5, 2, 2, 2]
    /// Zero padding of the stem.
    public var convPaddings: [Int] = [3, 2, 2, 1]
    /// Token width of the transformer over lead tokens.
    public var width: Int = 64
    /// Attention heads.
    public var heads: Int = 4
    /// Transformer layers.
    public var layers: Int = 1
    /// Hidden width of the transformer MLP.
    public var mlpWidth: Int = 128
    /// Width of the joint ECG–text embedding space.
    public var embeddingWidth: Int = 64
    /// Hash buckets of the subword (word + character n-gram) table of the text encoder.
    public var textBuckets: Int = 4096
    /// Width of the text encoder's bag and hidden layer.
    public var textWidth: Int = 64
    /// Whether each concept gets its own logit bias and temperature, computed linearly from its
    /// text embedding (`logit.concept`, shape [2, embeddingWidth]): a concept's logit is
    /// `exp(logScale + v·t) · cos + bias + u·t`. An unseen concept text still gets a bias and a
    /// temperature, so zero-shot scoring is kept. Files without the field have none.
    public var conceptLogitHead: Bool = false

    /// The default (shipped) architecture.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case fusion, sampleRate, length, convChannels, convKernels, convStrides, convPaddings, convNorm
        case width, heads, layers, mlpWidth, embeddingWidth, textBuckets, textWidth, conceptLogitHead
    }

    /// Decodes a configuration; files written before `convNorm` existed have no stem norm, files
    /// written before `fusion` existed use `.leadTokens`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        fusion = try c.decodeIfPresent(Fusion.self, forKey: .fusion) ?? .leadTokens
        sampleRate = try c.decode(Double.self, forKey: .sampleRate)
        length = try c.decode(Int.self, forKey: .length)
        convChannels = try c.decode([Int].self, forKey: .convChannels)
        convKernels = try c.decode([Int].self, forKey: .convKernels)
        convStrides = try c.decode([Int].self, forKey: .convStrides)
        convPaddings = try c.decode([Int].self, forKey: .convPaddings)
        convNorm = try c.decodeIfPresent(Bool.self, forKey: .convNorm) ?? false
        width = try c.decode(Int.self, forKey: .width)
        heads = try c.decode(Int.self, forKey: .heads)
        layers = try c.decode(Int.self, forKey: .layers)
        mlpWidth = try c.decode(Int.self, forKey: .mlpWidth)
        embeddingWidth = try c.decode(Int.self, forKey: .embeddingWidth)
        textBuckets = try c.decode(Int.self, forKey: .textBuckets)
        textWidth = try c.decode(Int.self, forKey: .textWidth)
        conceptLogitHead = try c.decodeIfPresent(Bool.self, forKey: .conceptLogitHead) ?? false
    }

    /// Token count per lead after the stem.
    public var tokensPerLead: Int {
        var len = length
        for i in 0..<convChannels.count {
            len = Ops.convOutputLength(len, kernel: convKernels[i], stride: convStrides[i], padding: convPaddings[i])
        }
        return len
    }

    /// Throws when the numbers cannot describe a working network.
    public func validate() throws {
        let n = convChannels.count
        guard n > 0, convKernels.count == n, convStrides.count == n, convPaddings.count == n,
            width > 0, heads > 0, width % heads == 0, layers >= 0, mlpWidth > 0, embeddingWidth > 0,
            textBuckets > 0, textWidth > 0, length > 0, sampleRate > 0, tokensPerLead > 0,
            convChannels.allSatisfy({ $0 > 0 }), convKernels.allSatisfy({ $0 > 0 }), convStrides.allSatisfy({ $0 > 0 })
        else { throw ModelError.architecture("inconsistent encoder configuration \(self)") }
    }
}

/// The network: parameter layout plus forward and backward passes for the ECG encoder and the
/// text encoder. Parameters live in one flat `[Float]`; this type only knows where.
struct Network: Sendable {
    let config: EncoderConfiguration
    let layout: ParameterLayout

    // Offsets of the tensors.
    let convW: [Int], convB: [Int]
    /// Offsets of the per-layer channel norms (weight, bias); empty without `convNorm`.
    let convNormG: [Int], convNormB: [Int]
    let stemLead: Int
    let tokenW: Int, tokenB: Int, leadEmbedding: Int
    /// Offset of the time-position embedding (`timeAligned` only; -1 otherwise).
    let timeEmbedding: Int
    struct Block: Sendable {
        var ln1g: Int, ln1b: Int, qkvW: Int, qkvB: Int, outW: Int, outB: Int
        var ln2g: Int, ln2b: Int, fc1W: Int, fc1B: Int, fc2W: Int, fc2B: Int
    }
    let blocks: [Block]
    let lnfG: Int, lnfB: Int, projW: Int, projB: Int
    let textTable: Int, textW1: Int, textB1: Int, textW2: Int, textB2: Int
    /// [log scale, bias] of entity logits; [log scale] of report (contrastive) logits.
    let entityLogit: Int, reportLogit: Int
    /// Offset of `logit.concept` ([2, e]: row 0 maps a concept-text embedding to a logit bias, row 1
    /// to a log-temperature offset); -1 without `conceptLogitHead`.
    let conceptLogit: Int

    init(config: EncoderConfiguration) {
        self.config = config
        var l = ParameterLayout()
        var cin = 1
        var cw: [Int] = []
        var cb: [Int] = []
        var ng: [Int] = []
        var nb: [Int] = []
        for (i, c) in config.convChannels.enumerated() {
            cw.append(l.add("ecg.conv\(i + 1).weight", [config.convKernels[i] * cin, c], decays: true))
            cb.append(l.add("ecg.conv\(i + 1).bias", [c], decays: false))
            if config.convNorm {
                ng.append(l.add("ecg.conv\(i + 1).norm.weight", [c], decays: false))
                nb.append(l.add("ecg.conv\(i + 1).norm.bias", [c], decays: false))
            }
            cin = c
        }
        convW = cw
        convB = cb
        convNormG = ng
        convNormB = nb
        stemLead = l.add("ecg.stem_lead_embedding", [12, config.convChannels[0]], decays: false)
        let d = config.width
        switch config.fusion {
        case .leadTokens:
            tokenW = l.add("ecg.token.weight", [2 * cin, d], decays: true)
            tokenB = l.add("ecg.token.bias", [d], decays: false)
            leadEmbedding = l.add("ecg.lead_embedding", [12, d], decays: false)
            timeEmbedding = -1
        case .timeAligned:
            // One projection per lead: fusing leads is then Σ W_lead·x_lead / count, which is what
            // a CNN's first layer with leads as channels computes, for any subset of leads.
            tokenW = l.add("ecg.token.weight", [12, cin, d], decays: true)
            tokenB = l.add("ecg.token.bias", [d], decays: false)
            leadEmbedding = l.add("ecg.lead_embedding", [12, d], decays: false)
            timeEmbedding = l.add("ecg.time_embedding", [config.tokensPerLead, d], decays: false)
        }
        var bs: [Block] = []
        for i in 0..<config.layers {
            let p = "ecg.block\(i + 1)."
            bs.append(
                Block(
                    ln1g: l.add(p + "ln1.weight", [d], decays: false), ln1b: l.add(p + "ln1.bias", [d], decays: false),
                    qkvW: l.add(p + "attn.qkv.weight", [d, 3 * d], decays: true), qkvB: l.add(p + "attn.qkv.bias", [3 * d], decays: false),
                    outW: l.add(p + "attn.out.weight", [d, d], decays: true), outB: l.add(p + "attn.out.bias", [d], decays: false),
                    ln2g: l.add(p + "ln2.weight", [d], decays: false), ln2b: l.add(p + "ln2.bias", [d], decays: false),
                    fc1W: l.add(p + "mlp.fc1.weight", [d, config.mlpWidth], decays: true),
                    fc1B: l.add(p + "mlp.fc1.bias", [config.mlpWidth], decays: false),
                    fc2W: l.add(p + "mlp.fc2.weight", [config.mlpWidth, d], decays: true), fc2B: l.add(p + "mlp.fc2.bias", [d], decays: false)
                ))
        }
        blocks = bs
        lnfG = l.add("ecg.final_ln.weight", [d], decays: false)
        lnfB = l.add("ecg.final_ln.bias", [d], decays: false)
        let e = config.embeddingWidth
        projW = l.add("ecg.proj.weight", [d, e], decays: true)
        projB = l.add("ecg.proj.bias", [e], decays: false)
        textTable = l.add("text.subword_embedding", [config.textBuckets, config.textWidth], decays: false)
        textW1 = l.add("text.fc1.weight", [config.textWidth, config.textWidth], decays: true)
        textB1 = l.add("text.fc1.bias", [config.textWidth], decays: false)
        textW2 = l.add("text.fc2.weight", [config.textWidth, e], decays: true)
        textB2 = l.add("text.fc2.bias", [e], decays: false)
        entityLogit = l.add("logit.entity", [2], decays: false)
        reportLogit = l.add("logit.report", [1], decays: false)
        conceptLogit = config.conceptLogitHead ? l.add("logit.concept", [2, e], decays: true) : -1
        layout = l
    }

    /// Fresh parameters: He/Xavier-style normal initialisation, LN weights 1, deterministic in `seed`.
    func initialParameters(seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        var p = [Float](repeating: 0, count: layout.totalCount)
        for t in layout.tensors {
            let name = t.name
            if name.hasSuffix("ln1.weight") || name.hasSuffix("ln2.weight") || name.hasSuffix("final_ln.weight") || name.hasSuffix("norm.weight") {
                for i in 0..<t.count { p[t.offset + i] = 1 }
            } else if name.hasSuffix(".bias") {
                continue
            } else if name == "logit.entity" {
                p[t.offset] = log(10)
                p[t.offset + 1] = -2
            } else if name == "logit.report" {
                p[t.offset] = log(14)
            } else if name == "logit.concept" {
                continue  // starts as the global scale and bias
            } else if name.hasSuffix("embedding") {
                for i in 0..<t.count { p[t.offset + i] = 0.1 * rng.nextGaussian() }
            } else {
                let fanIn = Float(t.shape.count == 3 ? t.shape[1] : t.shape[0])
                let gain: Float = name.contains("conv") ? 2 : 1
                let std = (gain / fanIn).squareRoot()
                for i in 0..<t.count { p[t.offset + i] = std * rng.nextGaussian() }
            }
        }
        return p
    }
}

// MARK: - ECG encoder forward/backward

/// Everything the ECG forward pass keeps for the backward pass.
final class ECGActivations {
    /// Number of lead sequences (rows of the stem).
    let n: Int
    /// Lead index (0–11) of each sequence.
    let leads: [Int]
    /// Groups of transformer input rows forming one embedding each (one sample's leads).
    let groups: [Range<Int>]
    var lengths: [Int] = []
    var inputs: [Buffer] = []
    var cols: [Buffer] = []
    var outputs: [Buffer] = []
    var preNorm: [Buffer] = []
    var normMean: [Buffer] = []
    var normRstd: [Buffer] = []
    var pooled = Buffer(0)
    var argmax: [Int32] = []
    var tokens = Buffer(0)
    struct BlockCache {
        var input: Buffer
        var ln1: Buffer, ln1Mean: Buffer, ln1Rstd: Buffer
        var qkv: Buffer, probs: Buffer, att: Buffer
        var mid: Buffer
        var ln2: Buffer, ln2Mean: Buffer, ln2Rstd: Buffer
        var fc1: Buffer, act: Buffer
    }
    var blocks: [BlockCache] = []
    /// Row ranges of the transformer that attend to each other and are pooled into one embedding
    /// (lead tokens of a group for `leadTokens`, the fused time tokens of a group for `timeAligned`).
    var sequences: [Range<Int>] = []
    var finalInput = Buffer(0)
    var lnf = Buffer(0), lnfMean = Buffer(0), lnfRstd = Buffer(0)
    var pooledRecord = Buffer(0)
    var z = Buffer(0)
    /// Unit-length embeddings, one row per group.
    var embedding = Buffer(0)
    var norms = Buffer(0)
    var probOffsets: [Int] = []
    var tokenRowsMap: [Int] = []

    init(leads: [Int], groups: [Range<Int>]) {
        n = leads.count
        self.leads = leads
        self.groups = groups
    }
}

extension Network {
    /// Runs the per-lead stem on `signals[n × length]` (one row per lead sequence), combines the
    /// leads of each of the `groups` (see `EncoderConfiguration.Fusion`) and runs the transformer.
    /// `tokenRows` maps each group member to a stem row (so that one stem pass can serve several
    /// groupings, e.g. all leads and each lead alone).
    func forwardECG(
        parameters: UnsafePointer<Float>, signals: UnsafePointer<Float>, leads: [Int], tokenRows: [Int]? = nil, groups: [Range<Int>]
    ) -> ECGActivations {
        let acts = ECGActivations(leads: leads, groups: groups)
        let rowsMap = tokenRows ?? Array(0..<leads.count)
        acts.tokenRowsMap = rowsMap
        let x = forwardStem(parameters: parameters, signals: signals, acts: acts)
        switch config.fusion {
        case .leadTokens: forwardLeadTokens(parameters: parameters, stem: x, acts: acts)
        case .timeAligned: forwardTimeAligned(parameters: parameters, stem: x, acts: acts)
        }
        return acts
    }

    /// The strided convolution stem over every lead sequence alone; returns `[n × T × C]`.
    private func forwardStem(parameters: UnsafePointer<Float>, signals: UnsafePointer<Float>, acts: ECGActivations) -> Buffer {
        let cfg = config
        let stemRows = acts.n
        var length = cfg.length
        var cin = 1
        var x = Buffer(stemRows * length)
        x.p.update(from: signals, count: stemRows * length)
        for (i, c) in cfg.convChannels.enumerated() {
            let k = cfg.convKernels[i]
            let lout = Ops.convOutputLength(length, kernel: k, stride: cfg.convStrides[i], padding: cfg.convPaddings[i])
            let cols = Buffer(uninitialized: stemRows * lout * k * cin)
            Ops.im2col(x.p, n: stemRows, length: length, cin: cin, kernel: k, stride: cfg.convStrides[i], padding: cfg.convPaddings[i], cols: cols.p)
            var y = Buffer(uninitialized: stemRows * lout * c)
            Ops.linear(cols.p, rows: stemRows * lout, inputs: k * cin, outputs: c, w: parameters + convW[i], b: parameters + convB[i], y: y.p)
            if cfg.convNorm {
                let normed = Buffer(stemRows * lout * c), mean = Buffer(stemRows * lout), rstd = Buffer(stemRows * lout)
                Ops.layerNorm(y.p, rows: stemRows * lout, dim: c, gamma: parameters + convNormG[i], beta: parameters + convNormB[i], y: normed.p, mean: mean.p, rstd: rstd.p)
                acts.preNorm.append(y)
                acts.normMean.append(mean)
                acts.normRstd.append(rstd)
                y = normed
            }
            if i == 0 {
                for s in 0..<stemRows {
                    let lb = parameters + stemLead + acts.leads[s] * c
                    for t in 0..<lout {
                        let row = y.p + (s * lout + t) * c
                        for j in 0..<c { row[j] += lb[j] }
                    }
                }
            }
            Ops.relu(y.p, count: y.count)
            acts.lengths.append(length)
            acts.inputs.append(x)
            acts.cols.append(cols)
            acts.outputs.append(y)
            x = y
            length = lout
            cin = c
        }
        return x
    }

    /// `leadTokens`: mean and max over time → one token per lead (+ lead embedding) → transformer over lead tokens.
    private func forwardLeadTokens(parameters: UnsafePointer<Float>, stem x: Buffer, acts: ECGActivations) {
        let cfg = config
        let stemRows = acts.n
        let length = cfg.tokensPerLead
        let cin = cfg.convChannels.last ?? 1
        let pooled = Buffer(stemRows * 2 * cin)
        var argmax = [Int32](repeating: 0, count: stemRows * cin)
        for s in 0..<stemRows {
            let base = x.p + s * length * cin
            let out = pooled.p + s * 2 * cin
            for j in 0..<cin {
                var sum: Float = 0
                var best = -Float.greatestFiniteMagnitude
                var bi: Int32 = 0
                for t in 0..<length {
                    let v = base[t * cin + j]
                    sum += v
                    if v > best {
                        best = v
                        bi = Int32(t)
                    }
                }
                out[j] = sum / Float(length)
                out[cin + j] = best
                argmax[s * cin + j] = bi
            }
        }
        acts.pooled = pooled
        acts.argmax = argmax
        let d = cfg.width
        let stemTokens = Buffer(stemRows * d)
        Ops.linear(pooled.p, rows: stemRows, inputs: 2 * cin, outputs: d, w: parameters + tokenW, b: parameters + tokenB, y: stemTokens.p)
        for s in 0..<stemRows {
            let le = parameters + leadEmbedding + acts.leads[s] * d
            for j in 0..<d { stemTokens.p[s * d + j] += le[j] }
        }
        acts.tokens = stemTokens
        let rowsMap = acts.tokenRowsMap
        let h = Buffer(rowsMap.count * d)
        for (r, s) in rowsMap.enumerated() { (h.p + r * d).update(from: stemTokens.p + s * d, count: d) }
        forwardHead(parameters: parameters, input: h, sequences: acts.groups, acts: acts)
    }

    /// `timeAligned`: lead-specific projection of every time token (+ lead embedding), mean over
    /// the group's leads per time step, + time-position embedding → transformer over time tokens.
    private func forwardTimeAligned(parameters: UnsafePointer<Float>, stem x: Buffer, acts: ECGActivations) {
        let cfg = config
        let stemRows = acts.n
        let t = cfg.tokensPerLead
        let cin = cfg.convChannels.last ?? 1
        let d = cfg.width
        let tokens = Buffer(uninitialized: stemRows * t * d)
        for s in 0..<stemRows {
            let lead = acts.leads[s]
            let y = tokens.p + s * t * d
            Ops.linear(x.p + s * t * cin, rows: t, inputs: cin, outputs: d, w: parameters + tokenW + lead * cin * d, b: parameters + tokenB, y: y)
            let le = parameters + leadEmbedding + lead * d
            for r in 0..<t {
                for j in 0..<d { y[r * d + j] += le[j] }
            }
        }
        acts.tokens = tokens
        let groups = acts.groups
        let h = Buffer(groups.count * t * d)
        let te = parameters + timeEmbedding
        for (gi, g) in groups.enumerated() {
            let out = h.p + gi * t * d
            let inv = 1 / Float(max(g.count, 1))
            for r in g {
                let src = tokens.p + acts.tokenRowsMap[r] * t * d
                for i in 0..<(t * d) { out[i] += src[i] * inv }
            }
            for i in 0..<(t * d) { out[i] += te[i] }
        }
        let sequences = (0..<groups.count).map { ($0 * t)..<(($0 + 1) * t) }
        forwardHead(parameters: parameters, input: h, sequences: sequences, acts: acts)
    }

    /// Transformer blocks over `sequences` of rows of `input`, final layer norm, mean over each
    /// sequence, projection and L2 normalisation (one embedding per sequence).
    private func forwardHead(parameters: UnsafePointer<Float>, input: Buffer, sequences: [Range<Int>], acts: ECGActivations) {
        let cfg = config
        let d = cfg.width
        let n = input.count / d
        var h = input
        acts.sequences = sequences
        var probOffsets: [Int] = []
        var total = 0
        for g in sequences {
            probOffsets.append(total)
            total += cfg.heads * g.count * g.count
        }
        acts.probOffsets = probOffsets
        for b in blocks {
            let ln1 = Buffer(uninitialized: n * d), m1 = Buffer(uninitialized: n), r1 = Buffer(uninitialized: n)
            Ops.layerNorm(h.p, rows: n, dim: d, gamma: parameters + b.ln1g, beta: parameters + b.ln1b, y: ln1.p, mean: m1.p, rstd: r1.p)
            let qkv = Buffer(uninitialized: n * 3 * d)
            Ops.linear(ln1.p, rows: n, inputs: d, outputs: 3 * d, w: parameters + b.qkvW, b: parameters + b.qkvB, y: qkv.p)
            let probs = Buffer(max(total, 1))
            let att = Buffer(n * d)
            for (gi, g) in sequences.enumerated() {
                Ops.attention(qkv.p + g.lowerBound * 3 * d, n: g.count, dim: d, heads: cfg.heads, out: att.p + g.lowerBound * d, probs: probs.p + probOffsets[gi])
            }
            let mid = Buffer(uninitialized: n * d)
            Ops.linear(att.p, rows: n, inputs: d, outputs: d, w: parameters + b.outW, b: parameters + b.outB, y: mid.p)
            for i in 0..<(n * d) { mid.p[i] += h.p[i] }
            let ln2 = Buffer(uninitialized: n * d), m2 = Buffer(uninitialized: n), r2 = Buffer(uninitialized: n)
            Ops.layerNorm(mid.p, rows: n, dim: d, gamma: parameters + b.ln2g, beta: parameters + b.ln2b, y: ln2.p, mean: m2.p, rstd: r2.p)
            let hw = cfg.mlpWidth
            let fc1 = Buffer(uninitialized: n * hw)
            Ops.linear(ln2.p, rows: n, inputs: d, outputs: hw, w: parameters + b.fc1W, b: parameters + b.fc1B, y: fc1.p)
            let act = Buffer(uninitialized: n * hw)
            Ops.gelu(fc1.p, act.p, count: n * hw)
            let out = Buffer(uninitialized: n * d)
            Ops.linear(act.p, rows: n, inputs: hw, outputs: d, w: parameters + b.fc2W, b: parameters + b.fc2B, y: out.p)
            for i in 0..<(n * d) { out.p[i] += mid.p[i] }
            acts.blocks.append(
                .init(input: h, ln1: ln1, ln1Mean: m1, ln1Rstd: r1, qkv: qkv, probs: probs, att: att, mid: mid, ln2: ln2, ln2Mean: m2, ln2Rstd: r2, fc1: fc1, act: act))
            h = out
        }
        acts.finalInput = h
        let lnf = Buffer(n * d), mf = Buffer(n), rf = Buffer(n)
        Ops.layerNorm(h.p, rows: n, dim: d, gamma: parameters + lnfG, beta: parameters + lnfB, y: lnf.p, mean: mf.p, rstd: rf.p)
        acts.lnf = lnf
        acts.lnfMean = mf
        acts.lnfRstd = rf
        let gcount = sequences.count
        let rec = Buffer(gcount * d)
        for (gi, g) in sequences.enumerated() {
            let inv = 1 / Float(g.count)
            for r in g {
                for j in 0..<d { rec.p[gi * d + j] += lnf.p[r * d + j] * inv }
            }
        }
        acts.pooledRecord = rec
        let e = cfg.embeddingWidth
        let z = Buffer(gcount * e)
        Ops.linear(rec.p, rows: gcount, inputs: d, outputs: e, w: parameters + projW, b: parameters + projB, y: z.p)
        acts.z = z
        let emb = Buffer(gcount * e), norms = Buffer(gcount)
        Ops.normalize(z.p, rows: gcount, dim: e, y: emb.p, norms: norms.p)
        acts.embedding = emb
        acts.norms = norms
    }

    /// Backward of `forwardECG` from the gradient of the unit embeddings `dEmbedding[groups × e]`;
    /// accumulates into `gradients`.
    func backwardECG(parameters: UnsafePointer<Float>, acts: ECGActivations, dEmbedding: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
        let dh = backwardHead(parameters: parameters, acts: acts, dEmbedding: dEmbedding, gradients: gradients)
        let dy: Buffer
        switch config.fusion {
        case .leadTokens: dy = backwardLeadTokens(parameters: parameters, acts: acts, dh: dh, gradients: gradients)
        case .timeAligned: dy = backwardTimeAligned(parameters: parameters, acts: acts, dh: dh, gradients: gradients)
        }
        backwardStem(parameters: parameters, acts: acts, dy: dy, gradients: gradients)
    }

    /// Backward of `forwardHead`: returns the gradient of the transformer input.
    private func backwardHead(parameters: UnsafePointer<Float>, acts: ECGActivations, dEmbedding: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>) -> Buffer {
        let cfg = config
        let d = cfg.width
        let e = cfg.embeddingWidth
        let sequences = acts.sequences
        let gcount = sequences.count
        let n = acts.finalInput.count / d
        let dz = Buffer(gcount * e)
        Ops.normalizeBackward(acts.embedding.p, dy: dEmbedding, norms: acts.norms.p, rows: gcount, dim: e, dx: dz.p)
        let drec = Buffer(gcount * d)
        Ops.linearBackward(acts.pooledRecord.p, dy: dz.p, rows: gcount, inputs: d, outputs: e, w: parameters + projW, dw: gradients + projW, db: gradients + projB, dx: drec.p)
        let dlnf = Buffer(n * d)
        for (gi, g) in sequences.enumerated() {
            let inv = 1 / Float(g.count)
            for r in g {
                for j in 0..<d { dlnf.p[r * d + j] = drec.p[gi * d + j] * inv }
            }
        }
        var dh = Buffer(n * d)
        Ops.layerNormBackward(
            acts.finalInput.p, dy: dlnf.p, rows: n, dim: d, gamma: parameters + lnfG, mean: acts.lnfMean.p, rstd: acts.lnfRstd.p,
            dgamma: gradients + lnfG, dbeta: gradients + lnfB, dx: dh.p)
        for (bi, b) in blocks.enumerated().reversed() {
            let c = acts.blocks[bi]
            let hw = cfg.mlpWidth
            // MLP branch.
            let dact = Buffer(n * hw)
            Ops.linearBackward(c.act.p, dy: dh.p, rows: n, inputs: hw, outputs: d, w: parameters + b.fc2W, dw: gradients + b.fc2W, db: gradients + b.fc2B, dx: dact.p)
            for i in 0..<(n * hw) { dact.p[i] *= Ops.geluDerivative(c.fc1.p[i]) }
            let dln2 = Buffer(n * d)
            Ops.linearBackward(c.ln2.p, dy: dact.p, rows: n, inputs: d, outputs: hw, w: parameters + b.fc1W, dw: gradients + b.fc1W, db: gradients + b.fc1B, dx: dln2.p)
            let dmid = Buffer(n * d)
            dmid.p.update(from: dh.p, count: n * d)
            Ops.layerNormBackward(
                c.mid.p, dy: dln2.p, rows: n, dim: d, gamma: parameters + b.ln2g, mean: c.ln2Mean.p, rstd: c.ln2Rstd.p,
                dgamma: gradients + b.ln2g, dbeta: gradients + b.ln2b, dx: dmid.p)
            // Attention branch.
            let datt = Buffer(n * d)
            Ops.linearBackward(c.att.p, dy: dmid.p, rows: n, inputs: d, outputs: d, w: parameters + b.outW, dw: gradients + b.outW, db: gradients + b.outB, dx: datt.p)
            let dqkv = Buffer(n * 3 * d)
            for (gi, g) in sequences.enumerated() {
                Ops.attentionBackward(
                    c.qkv.p + g.lowerBound * 3 * d, probs: c.probs.p + acts.probOffsets[gi], dout: datt.p + g.lowerBound * d,
                    n: g.count, dim: d, heads: cfg.heads, dqkv: dqkv.p + g.lowerBound * 3 * d)
            }
            let dln1 = Buffer(n * d)
            Ops.linearBackward(c.ln1.p, dy: dqkv.p, rows: n, inputs: d, outputs: 3 * d, w: parameters + b.qkvW, dw: gradients + b.qkvW, db: gradients + b.qkvB, dx: dln1.p)
            let dinput = Buffer(n * d)
            dinput.p.update(from: dmid.p, count: n * d)
            Ops.layerNormBackward(
                c.input.p, dy: dln1.p, rows: n, dim: d, gamma: parameters + b.ln1g, mean: c.ln1Mean.p, rstd: c.ln1Rstd.p,
                dgamma: gradients + b.ln1g, dbeta: gradients + b.ln1b, dx: dinput.p)
            dh = dinput
        }
        return dh
    }

    /// Backward of `forwardLeadTokens`: returns the gradient of the stem output.
    private func backwardLeadTokens(parameters: UnsafePointer<Float>, acts: ECGActivations, dh: Buffer, gradients: UnsafeMutablePointer<Float>) -> Buffer {
        let cfg = config
        let d = cfg.width
        let stemRows = acts.n
        let dtok = Buffer(stemRows * d)
        for (r, s) in acts.tokenRowsMap.enumerated() {
            for j in 0..<d { dtok.p[s * d + j] += dh.p[r * d + j] }
        }
        for s in 0..<stemRows {
            let g = gradients + leadEmbedding + acts.leads[s] * d
            for j in 0..<d { g[j] += dtok.p[s * d + j] }
        }
        let cin = cfg.convChannels.last ?? 1
        let dpooled = Buffer(stemRows * 2 * cin)
        Ops.linearBackward(acts.pooled.p, dy: dtok.p, rows: stemRows, inputs: 2 * cin, outputs: d, w: parameters + tokenW, dw: gradients + tokenW, db: gradients + tokenB, dx: dpooled.p)
        let lastLength = cfg.tokensPerLead
        let dy = Buffer(stemRows * lastLength * cin)
        for s in 0..<stemRows {
            let src = dpooled.p + s * 2 * cin
            let dst = dy.p + s * lastLength * cin
            let inv = 1 / Float(lastLength)
            for t in 0..<lastLength {
                for j in 0..<cin { dst[t * cin + j] = src[j] * inv }
            }
            for j in 0..<cin {
                let t = Int(acts.argmax[s * cin + j])
                dst[t * cin + j] += src[cin + j]
            }
        }
        return dy
    }

    /// Backward of `forwardTimeAligned`: returns the gradient of the stem output.
    private func backwardTimeAligned(parameters: UnsafePointer<Float>, acts: ECGActivations, dh: Buffer, gradients: UnsafeMutablePointer<Float>) -> Buffer {
        let cfg = config
        let d = cfg.width
        let t = cfg.tokensPerLead
        let cin = cfg.convChannels.last ?? 1
        let stemRows = acts.n
        let dtok = Buffer(stemRows * t * d)
        let dte = gradients + timeEmbedding
        for (gi, g) in acts.groups.enumerated() {
            let src = dh.p + gi * t * d
            for i in 0..<(t * d) { dte[i] += src[i] }
            let inv = 1 / Float(max(g.count, 1))
            for r in g {
                let dst = dtok.p + acts.tokenRowsMap[r] * t * d
                for i in 0..<(t * d) { dst[i] += src[i] * inv }
            }
        }
        let stem = acts.outputs[acts.outputs.count - 1]
        let dy = Buffer(stemRows * t * cin)
        for s in 0..<stemRows {
            let lead = acts.leads[s]
            let ds = dtok.p + s * t * d
            let dle = gradients + leadEmbedding + lead * d
            for r in 0..<t {
                for j in 0..<d { dle[j] += ds[r * d + j] }
            }
            Ops.linearBackward(
                stem.p + s * t * cin, dy: ds, rows: t, inputs: cin, outputs: d, w: parameters + tokenW + lead * cin * d,
                dw: gradients + tokenW + lead * cin * d, db: gradients + tokenB, dx: dy.p + s * t * cin)
        }
        return dy
    }

    /// Backward of `forwardStem` from the gradient of its output `dy[n × T × C]`.
    private func backwardStem(parameters: UnsafePointer<Float>, acts: ECGActivations, dy start: Buffer, gradients: UnsafeMutablePointer<Float>) {
        let cfg = config
        let stemRows = acts.n
        let layers = cfg.convChannels.count
        var dy = start
        for i in stride(from: layers - 1, through: 0, by: -1) {
            let c = cfg.convChannels[i]
            let k = cfg.convKernels[i]
            let lin = acts.lengths[i]
            let cinI = i == 0 ? 1 : cfg.convChannels[i - 1]
            let lout = Ops.convOutputLength(lin, kernel: k, stride: cfg.convStrides[i], padding: cfg.convPaddings[i])
            Ops.reluBackward(acts.outputs[i].p, dy: dy.p, count: dy.count)
            if i == 0 {
                for s in 0..<stemRows {
                    let g = gradients + stemLead + acts.leads[s] * c
                    for t in 0..<lout {
                        let row = dy.p + (s * lout + t) * c
                        for j in 0..<c { g[j] += row[j] }
                    }
                }
            }
            if cfg.convNorm {
                let dpre = Buffer(stemRows * lout * c)
                Ops.layerNormBackward(
                    acts.preNorm[i].p, dy: dy.p, rows: stemRows * lout, dim: c, gamma: parameters + convNormG[i], mean: acts.normMean[i].p,
                    rstd: acts.normRstd[i].p, dgamma: gradients + convNormG[i], dbeta: gradients + convNormB[i], dx: dpre.p)
                dy = dpre
            }
            let needDx = i > 0
            let dcols = needDx ? Buffer(stemRows * lout * k * cinI) : nil
            Ops.linearBackward(
                acts.cols[i].p, dy: dy.p, rows: stemRows * lout, inputs: k * cinI, outputs: c, w: parameters + convW[i],
                dw: gradients + convW[i], db: gradients + convB[i], dx: dcols?.p)
            if let dcols {
                let dx = Buffer(stemRows * lin * cinI)
                Ops.col2im(dcols.p, n: stemRows, length: lin, cin: cinI, kernel: k, stride: cfg.convStrides[i], padding: cfg.convPaddings[i], dx: dx.p)
                dy = dx
            }
        }
    }
}

// MARK: - Inference (nothing kept for a backward pass)

/// Scratch memory of `Network.embedECG`, allocated once per call and reused for every record.
private final class InferenceWorkspace {
    /// Zero-padded input of every stem layer (pad rows stay zero; the data rows are overwritten per lead).
    let stemInputs: [Buffer]
    let stemOut: Buffer
    let tokens: Buffer
    let h: Buffer, ln: Buffer, qkv: Buffer, att: Buffer, mid: Buffer, fc1: Buffer, act: Buffer, out: Buffer
    let probs: Buffer
    let pooled: Buffer, projected: Buffer, z: Buffer, norms: Buffer

    init(config cfg: EncoderConfiguration, maxLeads: Int, perLead: Bool) {
        var inputs: [Buffer] = []
        var length = cfg.length
        var cin = 1
        for i in 0..<cfg.convChannels.count {
            inputs.append(Buffer((length + 2 * cfg.convPaddings[i] + cfg.convKernels[i]) * cin))
            length = Ops.convOutputLength(length, kernel: cfg.convKernels[i], stride: cfg.convStrides[i], padding: cfg.convPaddings[i])
            cin = cfg.convChannels[i]
        }
        stemInputs = inputs
        let t = cfg.tokensPerLead
        let d = cfg.width
        stemOut = Buffer(uninitialized: t * cin)
        tokens = Buffer(uninitialized: maxLeads * t * d)
        let rows = t * (1 + (perLead ? maxLeads : 0))
        h = Buffer(uninitialized: rows * d)
        ln = Buffer(uninitialized: rows * d)
        qkv = Buffer(uninitialized: rows * 3 * d)
        att = Buffer(uninitialized: rows * d)
        mid = Buffer(uninitialized: rows * d)
        fc1 = Buffer(uninitialized: rows * cfg.mlpWidth)
        act = Buffer(uninitialized: rows * cfg.mlpWidth)
        out = Buffer(uninitialized: rows * d)
        probs = Buffer(uninitialized: cfg.heads * t * t)
        let sequences = rows / t
        pooled = Buffer(uninitialized: sequences * d)
        projected = Buffer(uninitialized: sequences * cfg.embeddingWidth)
        z = Buffer(uninitialized: sequences * cfg.embeddingWidth)
        norms = Buffer(uninitialized: sequences)
    }
}

extension Network {
    /// Whether `embedECG` can run this architecture (the `timeAligned` encoder; older
    /// `leadTokens` files go through `forwardECG`).
    var hasInferencePath: Bool { config.fusion == .timeAligned }

    /// Inference embeddings of records, the same arithmetic as `forwardECG` (operation for
    /// operation, so bit for bit) without keeping activations: one record at a time so that every
    /// intermediate stays in the core's cache, and each strided stem convolution reads its
    /// zero-padded input in place (a GEMM whose A rows overlap) instead of an im2col copy.
    /// `records[r]` are the rows of `signals[n × length]` (one per lead, `leads[row]` its lead
    /// index) that form record r (non-empty). Writes the unit record embeddings to
    /// `recordOut[records.count × e]` and, when `leadOut` is given, each lead alone to `leadOut[n × e]`.
    func embedECG(
        parameters: UnsafePointer<Float>, signals: UnsafePointer<Float>, leads: [Int], records: [Range<Int>],
        recordOut: UnsafeMutablePointer<Float>, leadOut: UnsafeMutablePointer<Float>?
    ) {
        precondition(hasInferencePath, "embedECG needs the timeAligned encoder")
        let cfg = config
        let maxLeads = records.map(\.count).max() ?? 0
        guard maxLeads > 0 else { return }
        let ws = InferenceWorkspace(config: cfg, maxLeads: maxLeads, perLead: leadOut != nil)
        let t = cfg.tokensPerLead
        let d = cfg.width
        let e = cfg.embeddingWidth
        let cLast = cfg.convChannels.last ?? 1
        let te = parameters + timeEmbedding
        for (ri, record) in records.enumerated() {
            // Stem and lead-specific token projection of each lead.
            for (li, s) in record.enumerated() {
                stemLead(parameters: parameters, signal: signals + s * cfg.length, lead: leads[s], ws: ws)
                let y = ws.tokens.p + li * t * d
                let lead = leads[s]
                Ops.linear(ws.stemOut.p, rows: t, inputs: cLast, outputs: d, w: parameters + tokenW + lead * cLast * d, b: parameters + tokenB, y: y)
                let le = parameters + leadEmbedding + lead * d
                for r in 0..<t {
                    for j in 0..<d { y[r * d + j] += le[j] }
                }
            }
            // Transformer input: the record (mean over its leads) and, optionally, each lead alone.
            let inv = 1 / Float(record.count)
            let h = ws.h.p
            h.update(repeating: 0, count: t * d)
            for li in 0..<record.count {
                let src = ws.tokens.p + li * t * d
                for i in 0..<(t * d) { h[i] += src[i] * inv }
            }
            for i in 0..<(t * d) { h[i] += te[i] }
            var sequences = 1
            if leadOut != nil {
                for li in 0..<record.count {
                    let src = ws.tokens.p + li * t * d
                    let dst = h + (1 + li) * t * d
                    for i in 0..<(t * d) { dst[i] = src[i] + te[i] }
                }
                sequences += record.count
            }
            headInference(parameters: parameters, sequences: sequences, ws: ws)
            (recordOut + ri * e).update(from: ws.z.p, count: e)
            if let leadOut {
                for li in 0..<record.count { (leadOut + (record.lowerBound + li) * e).update(from: ws.z.p + (1 + li) * e, count: e) }
            }
        }
    }

    /// The convolution stem over one lead's `signal[length]`; leaves `[T × C]` in `ws.stemOut`.
    private func stemLead(parameters: UnsafePointer<Float>, signal: UnsafePointer<Float>, lead: Int, ws: InferenceWorkspace) {
        let cfg = config
        let layers = cfg.convChannels.count
        var length = cfg.length
        var cin = 1
        (ws.stemInputs[0].p + cfg.convPaddings[0]).update(from: signal, count: length)
        for i in 0..<layers {
            let c = cfg.convChannels[i]
            let k = cfg.convKernels[i]
            let st = cfg.convStrides[i]
            let lout = Ops.convOutputLength(length, kernel: k, stride: st, padding: cfg.convPaddings[i])
            let y = i + 1 < layers ? ws.stemInputs[i + 1].p + cfg.convPaddings[i + 1] * c : ws.stemOut.p
            Matmul.gemm(m: lout, n: c, k: k * cin, a: ws.stemInputs[i].p, lda: st * cin, b: parameters + convW[i], ldb: c, c: y, ldc: c, accumulate: false)
            let bias = parameters + convB[i]
            for r in 0..<lout {
                let yr = y + r * c
                for j in 0..<c { yr[j] += bias[j] }
            }
            if cfg.convNorm {
                Ops.layerNorm(y, rows: lout, dim: c, gamma: parameters + convNormG[i], beta: parameters + convNormB[i], y: y, mean: nil, rstd: nil)
            }
            if i == 0 {
                let lb = parameters + stemLead + lead * c
                for r in 0..<lout {
                    let yr = y + r * c
                    for j in 0..<c { yr[j] += lb[j] }
                }
            }
            Ops.relu(y, count: lout * c)
            length = lout
            cin = c
        }
    }

    /// `forwardHead` for inference over `sequences` consecutive sequences of T rows in `ws.h`;
    /// leaves the unit embeddings in `ws.z`.
    private func headInference(parameters: UnsafePointer<Float>, sequences: Int, ws: InferenceWorkspace) {
        let cfg = config
        let d = cfg.width
        let t = cfg.tokensPerLead
        let n = sequences * t
        let hw = cfg.mlpWidth
        var h = ws.h
        var spare = ws.out
        for b in blocks {
            Ops.layerNorm(h.p, rows: n, dim: d, gamma: parameters + b.ln1g, beta: parameters + b.ln1b, y: ws.ln.p, mean: nil, rstd: nil)
            Ops.linear(ws.ln.p, rows: n, inputs: d, outputs: 3 * d, w: parameters + b.qkvW, b: parameters + b.qkvB, y: ws.qkv.p)
            for sq in 0..<sequences {
                Ops.attention(ws.qkv.p + sq * t * 3 * d, n: t, dim: d, heads: cfg.heads, out: ws.att.p + sq * t * d, probs: ws.probs.p)
            }
            let mid = ws.mid.p
            Ops.linear(ws.att.p, rows: n, inputs: d, outputs: d, w: parameters + b.outW, b: parameters + b.outB, y: mid)
            for i in 0..<(n * d) { mid[i] += h.p[i] }
            Ops.layerNorm(mid, rows: n, dim: d, gamma: parameters + b.ln2g, beta: parameters + b.ln2b, y: ws.ln.p, mean: nil, rstd: nil)
            Ops.linear(ws.ln.p, rows: n, inputs: d, outputs: hw, w: parameters + b.fc1W, b: parameters + b.fc1B, y: ws.fc1.p)
            Ops.gelu(ws.fc1.p, ws.act.p, count: n * hw)
            let out = spare
            Ops.linear(ws.act.p, rows: n, inputs: hw, outputs: d, w: parameters + b.fc2W, b: parameters + b.fc2B, y: out.p)
            for i in 0..<(n * d) { out.p[i] += mid[i] }
            spare = h
            h = out
        }
        Ops.layerNorm(h.p, rows: n, dim: d, gamma: parameters + lnfG, beta: parameters + lnfB, y: ws.ln.p, mean: nil, rstd: nil)
        let pooled = ws.pooled.p
        pooled.update(repeating: 0, count: sequences * d)
        let inv = 1 / Float(t)
        for sq in 0..<sequences {
            for r in (sq * t)..<((sq + 1) * t) {
                for j in 0..<d { pooled[sq * d + j] += ws.ln.p[r * d + j] * inv }
            }
        }
        let e = cfg.embeddingWidth
        Ops.linear(pooled, rows: sequences, inputs: d, outputs: e, w: parameters + projW, b: parameters + projB, y: ws.projected.p)
        Ops.normalize(ws.projected.p, rows: sequences, dim: e, y: ws.z.p, norms: ws.norms.p)
    }
}

import ECGCore
import Foundation
import Synchronization

/// The embeddings of one record: the whole record (all present leads together) and each present
/// lead alone through the encoder. All vectors are unit length in the joint ECG–text space.
public struct RecordEmbedding: Sendable, Hashable {
    /// Embedding of all present standard leads together; empty when the record has no standard lead.
    public var record: [Float]
    /// Embedding of each present standard lead passed through the encoder on its own.
    public var perLead: [StandardLead: [Float]]

    /// An embedding.
    public init(record: [Float], perLead: [StandardLead: [Float]]) {
        self.record = record
        self.perLead = perLead
    }
}

/// A concept to score: its id (e.g. `MI`, `IMI`) and the text that describes it
/// (label, synonyms, attribute words).
public struct ConceptQuery: Sendable, Hashable {
    /// The concept id; calibration is looked up by it.
    public var id: String
    /// The concept's descriptive text.
    public var text: String

    /// A query.
    public init(id: String, text: String) {
        self.id = id
        self.text = text
    }
}

/// The score of one concept for one record.
public struct ConceptScore: Sendable, Hashable {
    /// The concept id.
    public var id: String
    /// Calibrated probability (per-concept Platt scaling fitted on the validation fold, or the
    /// global calibration for a concept without its own).
    public var probability: Double
    /// Cosine similarity between the record embedding and the concept-text embedding.
    public var similarity: Double
    /// `true` when the concept has its own calibration; `false` when the global one was used.
    public var hasConceptCalibration: Bool
    /// Calibrated probability from each present lead alone.
    public var perLead: [StandardLead: Double]

    /// A score.
    public init(id: String, probability: Double, similarity: Double, hasConceptCalibration: Bool, perLead: [StandardLead: Double]) {
        self.id = id
        self.probability = probability
        self.similarity = similarity
        self.hasConceptCalibration = hasConceptCalibration
        self.perLead = perLead
    }
}

/// Platt scaling of a model logit: `p = σ(a · logit + b)`.
public struct PlattCalibration: Codable, Sendable, Hashable {
    /// Slope.
    public var a: Double
    /// Intercept.
    public var b: Double

    /// A calibration.
    public init(a: Double, b: Double) {
        self.a = a
        self.b = b
    }

    /// The identity (uncalibrated sigmoid).
    public static let identity = PlattCalibration(a: 1, b: 0)

    /// The calibrated probability of `logit`.
    public func probability(_ logit: Double) -> Double { 1 / (1 + exp(-(a * logit + b))) }
}

/// What a model file says about how it was trained, besides its weights.
public struct ModelCard: Codable, Sendable, Hashable {
    /// Concept ids trained with the entity loss.
    public var trainedConcepts: [String] = []
    /// Concept ids deliberately held out of training (zero-shot evaluation).
    public var heldOutConcepts: [String] = []
    /// The command that produced the model.
    public var command: String = ""
    /// Seed used.
    public var seed: UInt64 = 0
    /// Epochs trained.
    public var epochs: Int = 0
    /// Free-form notes (data, validation results).
    public var notes: [String: String] = [:]
    /// The text each trained concept was trained (and calibrated) with, by concept id. A scorer
    /// should query a trained concept with this text: its calibration belongs to it, and another
    /// description of the same concept lands elsewhere in the joint space (scoring PTB-XL's STTC
    /// by the ontology's description instead of its training text dropped its fold-9 AUROC from
    /// 0.96 to 0.75). Empty in files written before session 3.
    public var conceptTexts: [String: String] = [:]

    /// An empty card.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case trainedConcepts, heldOutConcepts, command, seed, epochs, notes, conceptTexts
    }

    /// Decodes a card; fields missing in older files keep their defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        trainedConcepts = try c.decodeIfPresent([String].self, forKey: .trainedConcepts) ?? []
        heldOutConcepts = try c.decodeIfPresent([String].self, forKey: .heldOutConcepts) ?? []
        command = try c.decodeIfPresent(String.self, forKey: .command) ?? ""
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? 0
        notes = try c.decodeIfPresent([String: String].self, forKey: .notes) ?? [:]
        conceptTexts = try c.decodeIfPresent([String: String].self, forKey: .conceptTexts) ?? [:]
    }
}

/// The K-MERL lead-aware ECG encoder with its knowledge text encoder, ready for scoring.
///
/// Architecture (see `EncoderConfiguration`): each present lead alone is prepared
/// (`LeadPreprocessor`), cut into overlapping 0.1 s patches by a strided convolution with a
/// learned lead-identity bias and refined by three more strided convolutions (0.25 s → 25 time
/// tokens per lead). With `timeAligned` fusion (the shipped model) every time token goes through a
/// lead-specific projection plus a lead embedding, the tokens are averaged over the present leads
/// per time step (absent leads contribute nothing, nothing is zero-filled), a time-position
/// embedding is added and a transformer runs over the 25 fused time tokens; with `leadTokens`
/// (older files) each lead's tokens are pooled into one token and the transformer runs over the
/// lead tokens. The mean of the transformer outputs is projected into the joint space; a per-lead
/// embedding is the same encoder run on that lead alone. Concept texts go through a subword
/// (hashed word and character n-gram) encoder into the same space; the score is the scaled
/// cosine similarity, calibrated.
///
/// Immutable and thread-safe; load with `load(safetensors:)`.
public final class KMERLEncoderModel: Sendable {
    /// The architecture.
    public let configuration: EncoderConfiguration
    /// Per-concept calibrations fitted on the validation fold.
    public let calibrations: [String: PlattCalibration]
    /// The calibration for concepts without their own.
    public let globalCalibration: PlattCalibration
    /// Training facts.
    public let card: ModelCard
    /// How much a record's concept logit leans on its leads' own views: the score is
    /// `(1 − w)·(record logit) + w·(mean of the present leads' logits, each lead alone through the
    /// encoder)`, calibrated. The per-lead embeddings are computed for per-lead confidence anyway,
    /// so the mixture costs nothing at inference; for a one-lead record both terms are the same
    /// view. 0 (the record embedding alone) in files without `lead_view_weight`.
    public let leadViewWeight: Double
    /// `kmerl-encoder/<architecture>/<weights hash>`: changes whenever architecture, weights or
    /// `leadViewWeight` (which changes the ranking of records) change.
    public let version: String
    let network: Network
    let parameters: [Float]
    private let preprocessor: LeadPreprocessor
    private let textCache = Mutex<[String: [Float]]>([:])

    /// Builds a model from parameters (used by training and tests).
    init(
        configuration: EncoderConfiguration, parameters: [Float], calibrations: [String: PlattCalibration], globalCalibration: PlattCalibration, card: ModelCard,
        leadViewWeight: Double = 0
    ) {
        self.configuration = configuration
        self.leadViewWeight = leadViewWeight
        network = Network(config: configuration)
        // The subword table is stored in half precision: round it now so that a saved and
        // reloaded model is bit-identical (same version hash, same scores).
        var rounded = parameters
        if let table = network.layout.info("text.subword_embedding") {
            for i in table.offset..<min(rounded.count, table.offset + table.count) { rounded[i] = Float(Float16(rounded[i])) }
        }
        self.parameters = rounded
        self.calibrations = calibrations
        self.globalCalibration = globalCalibration
        self.card = card
        preprocessor = LeadPreprocessor(sampleRate: configuration.sampleRate, length: configuration.length)
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for v in rounded {
            h ^= UInt64(v.bitPattern)
            h = h &* 0x0000_0100_0000_01B3
        }
        let arch = "c\(configuration.convChannels.map(String.init).joined(separator: "-"))-d\(configuration.width)-l\(configuration.layers)-e\(configuration.embeddingWidth)"
            + (configuration.fusion == .timeAligned ? "-time" : "") + (configuration.conceptLogitHead ? "-ch" : "")
            + (leadViewWeight > 0 ? "-lv\(leadViewWeight)" : "") + Self.geometryLabel(configuration)
        version = "kmerl-encoder/\(arch)/\(String(h, radix: 16))"
    }

    /// `-k…-s…-p…` when the stem's kernels, strides or paddings differ from the shipped ones
    /// (empty otherwise, so the shipped model's version is unchanged).
    static func geometryLabel(_ c: EncoderConfiguration) -> String {
        let shipped = EncoderConfiguration()
        guard c.convKernels != shipped.convKernels || c.convStrides != shipped.convStrides || c.convPaddings != shipped.convPaddings else { return "" }
        func j(_ v: [Int]) -> String { v.map(String.init).joined(separator: ".") }
        return "-k\(j(c.convKernels))-s\(j(c.convStrides))-p\(j(c.convPaddings))"
    }

    /// A freshly initialised (untrained) model; deterministic in `seed`.
    public static func untrained(configuration: EncoderConfiguration = .init(), seed: UInt64 = 0) throws -> KMERLEncoderModel {
        try configuration.validate()
        let network = Network(config: configuration)
        return KMERLEncoderModel(
            configuration: configuration, parameters: network.initialParameters(seed: seed), calibrations: [:], globalCalibration: .identity, card: ModelCard())
    }

    /// Number of trainable parameters.
    public var parameterCount: Int { parameters.count }

    // MARK: Loading and saving

    /// Reads a model from safetensors bytes. Throws `ModelError` for a truncated or malformed
    /// file, a file of another architecture (missing, extra or mis-shaped tensors), or weights
    /// that are NaN or infinite — before anything is scored.
    public static func load(safetensors data: Data) throws -> KMERLEncoderModel {
        let (tensors, metadata) = try Safetensors.read(data)
        guard metadata["format"] == "kmerl-encoder" else {
            throw ModelError.architecture("metadata format is \(metadata["format"].map { "'\($0)'" } ?? "missing"), expected 'kmerl-encoder'")
        }
        guard let configText = metadata["config"],
            let config = try? JSONDecoder().decode(EncoderConfiguration.self, from: Data(configText.utf8))
        else { throw ModelError.architecture("metadata 'config' is missing or not an encoder configuration") }
        try config.validate()
        let network = Network(config: config)
        var parameters = [Float](repeating: 0, count: network.layout.totalCount)
        for info in network.layout.tensors {
            guard let t = tensors[info.name] else { throw ModelError.architecture("tensor \(info.name) is missing") }
            guard t.shape == info.shape else { throw ModelError.architecture("tensor \(info.name) has shape \(t.shape), expected \(info.shape)") }
            if let bad = t.values.firstIndex(where: { !$0.isFinite }) {
                throw ModelError.nonFinite("tensor \(info.name) element \(bad) is \(t.values[bad])")
            }
            for i in 0..<info.count { parameters[info.offset + i] = t.values[i] }
        }
        let extra = Set(tensors.keys).subtracting(network.layout.tensors.map(\.name))
        if let first = extra.sorted().first { throw ModelError.architecture("unexpected tensor \(first) (\(extra.count) extra)") }
        let calibrations = (metadata["calibration"].flatMap { try? JSONDecoder().decode([String: PlattCalibration].self, from: Data($0.utf8)) }) ?? [:]
        let global = (metadata["global_calibration"].flatMap { try? JSONDecoder().decode(PlattCalibration.self, from: Data($0.utf8)) }) ?? .identity
        for (id, c) in calibrations where !(c.a.isFinite && c.b.isFinite) { throw ModelError.nonFinite("calibration of \(id)") }
        guard global.a.isFinite, global.b.isFinite else { throw ModelError.nonFinite("global calibration") }
        let card = (metadata["card"].flatMap { try? JSONDecoder().decode(ModelCard.self, from: Data($0.utf8)) }) ?? ModelCard()
        var leadViewWeight = 0.0
        if let text = metadata["lead_view_weight"] {
            guard let w = Double(text), w >= 0, w <= 1 else { throw ModelError.format("metadata 'lead_view_weight' is '\(text)', expected a number from 0 to 1") }
            leadViewWeight = w
        }
        return KMERLEncoderModel(
            configuration: config, parameters: parameters, calibrations: calibrations, globalCalibration: global, card: card, leadViewWeight: leadViewWeight)
    }

    /// Reads a model file.
    public static func load(contentsOf url: URL) throws -> KMERLEncoderModel {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw ModelError.io("cannot read model \(url.path): \(error.localizedDescription)") }
        do { return try load(safetensors: data) } catch let e as ModelError {
            throw ModelError.io("\(url.path): \(e.description)")
        }
    }

    /// The model as safetensors bytes (subword table in F16, everything else F32).
    public func safetensorsData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ v: T) throws -> String { String(decoding: try encoder.encode(v), as: UTF8.self) }
        var metadata: [String: String] = [
            "format": "kmerl-encoder",
            "config": try json(configuration),
            "calibration": try json(calibrations),
            "global_calibration": try json(globalCalibration),
            "card": try json(card),
            "version": version,
        ]
        if leadViewWeight > 0 { metadata["lead_view_weight"] = String(leadViewWeight) }
        let tensors = network.layout.tensors.map { info in
            (info.name, SafetensorsTensor(shape: info.shape, values: Array(parameters[info.offset..<(info.offset + info.count)])))
        }
        return try Safetensors.write(tensors: tensors, metadata: metadata, halfPrecision: ["text.subword_embedding"])
    }

    /// Writes the model atomically to `url`.
    public func write(to url: URL) throws {
        let data = try safetensorsData()
        do { try data.write(to: url, options: .atomic) } catch { throw ModelError.io("cannot write model \(url.path): \(error.localizedDescription)") }
    }

    /// A copy with other calibrations and card (and, if given, another `leadViewWeight`; the
    /// calibrations must then have been fitted with it).
    public func with(calibrations: [String: PlattCalibration], global: PlattCalibration, card: ModelCard? = nil, leadViewWeight: Double? = nil) -> KMERLEncoderModel {
        KMERLEncoderModel(
            configuration: configuration, parameters: parameters, calibrations: calibrations, globalCalibration: global, card: card ?? self.card,
            leadViewWeight: leadViewWeight ?? self.leadViewWeight)
    }

    /// A copy that scores with `weight` as `leadViewWeight` and no calibrations (raw logits), e.g.
    /// to fit the calibrations that belong to it.
    public func uncalibrated(leadViewWeight weight: Double) -> KMERLEncoderModel {
        with(calibrations: [:], global: .identity, leadViewWeight: weight)
    }

    /// A record's raw logit of a concept from its record-embedding logit and the sum and count of
    /// its present leads' own logits (see `leadViewWeight`).
    @inline(__always)
    func mixedLogit(record: Double, leadSum: Double, leadCount: Int) -> Double {
        guard leadViewWeight > 0, leadCount > 0 else { return record }
        return (1 - leadViewWeight) * record + leadViewWeight * (leadSum / Double(leadCount))
    }

    // MARK: Embedding

    /// The prepared signals of the record's standard leads (first signal of each lead), in lead order.
    public func preparedLeads(_ record: ECGRecord) -> [(StandardLead, [Float])] {
        var out: [(StandardLead, [Float])] = []
        for lead in StandardLead.allCases {
            guard let signal = record.signal(for: lead) else { continue }
            out.append((lead, preprocessor.prepare(signal, samplingRate: record.samplingRate)))
        }
        return out
    }

    /// Embeds one record: all present standard leads together, and each alone.
    public func embed(_ record: ECGRecord) -> RecordEmbedding {
        embed(prepared: [preparedLeads(record)])[0]
    }

    /// Embeds many records in parallel (structured concurrency, bounded to the core count).
    public func embed(_ records: [ECGRecord]) async -> [RecordEmbedding] {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, records.count))
        let chunk = max(1, min(64, (records.count + workers - 1) / workers))
        return await withTaskGroup(of: (Int, [RecordEmbedding]).self) { group in
            var results = [RecordEmbedding?](repeating: nil, count: records.count)
            var next = 0
            var running = 0
            func launch() {
                let start = next
                let end = min(records.count, start + chunk)
                next = end
                running += 1
                group.addTask { (start, self.embed(prepared: records[start..<end].map(self.preparedLeads))) }
            }
            while next < records.count && running < workers { launch() }
            while let (start, part) = await group.next() {
                running -= 1
                for (i, e) in part.enumerated() { results[start + i] = e }
                if next < records.count { launch() }
            }
            return results.map { $0 ?? RecordEmbedding(record: [], perLead: [:]) }
        }
    }

    /// Embeds already prepared records (each a list of lead and 100 Hz normalized samples).
    public func embed(prepared records: [[(StandardLead, [Float])]], perLead: Bool = true) -> [RecordEmbedding] {
        embed(prepared: records, perLead: perLead, inferencePath: true)
    }

    /// `embed(prepared:perLead:)`; `inferencePath: false` runs the training forward pass
    /// (`forwardECG`) instead of `Network.embedECG`, for tests that compare the two.
    func embed(prepared records: [[(StandardLead, [Float])]], perLead: Bool, inferencePath: Bool) -> [RecordEmbedding] {
        let length = configuration.length
        var leads: [Int] = []
        var signals: [Float] = []
        var recordStarts: [Int] = []
        for r in records {
            recordStarts.append(leads.count)
            for (lead, s) in r {
                leads.append(lead.rawValue)
                if s.count >= length { signals.append(contentsOf: s[0..<length]) } else {
                    signals.append(contentsOf: s)
                    signals.append(contentsOf: [Float](repeating: 0, count: length - s.count))
                }
            }
        }
        guard !leads.isEmpty else { return records.map { _ in RecordEmbedding(record: [], perLead: [:]) } }
        if inferencePath && network.hasInferencePath {
            return embedInference(records: records, leads: leads, signals: signals, recordStarts: recordStarts, perLead: perLead)
        }
        // Transformer rows: every record's leads together, then (optionally) each lead alone.
        var rows: [Int] = []
        var groups: [Range<Int>] = []
        var recordGroup: [Int?] = []
        for (ri, r) in records.enumerated() {
            if r.isEmpty {
                recordGroup.append(nil)
                continue
            }
            recordGroup.append(groups.count)
            let start = rows.count
            rows.append(contentsOf: recordStarts[ri]..<(recordStarts[ri] + r.count))
            groups.append(start..<rows.count)
        }
        var singleStart = groups.count
        if perLead {
            for s in 0..<leads.count {
                rows.append(s)
                groups.append((rows.count - 1)..<rows.count)
            }
        } else {
            singleStart = -1
        }
        let e = configuration.embeddingWidth
        let acts = parameters.withUnsafeBufferPointer { p in
            signals.withUnsafeBufferPointer { s in
                network.forwardECG(parameters: p.baseAddress.unsafelyUnwrapped, signals: s.baseAddress.unsafelyUnwrapped, leads: leads, tokenRows: rows, groups: groups)
            }
        }
        let emb = acts.embedding.array
        var out: [RecordEmbedding] = []
        for (ri, r) in records.enumerated() {
            guard let g = recordGroup[ri] else {
                out.append(RecordEmbedding(record: [], perLead: [:]))
                continue
            }
            var per: [StandardLead: [Float]] = [:]
            if singleStart >= 0 {
                for (k, (lead, _)) in r.enumerated() {
                    let gi = singleStart + recordStarts[ri] + k
                    per[lead] = Array(emb[(gi * e)..<((gi + 1) * e)])
                }
            }
            out.append(RecordEmbedding(record: Array(emb[(g * e)..<((g + 1) * e)]), perLead: per))
        }
        return out
    }

    /// `embed(prepared:perLead:)` through `Network.embedECG` (the same numbers as `forwardECG`,
    /// computed record by record without keeping activations).
    private func embedInference(
        records: [[(StandardLead, [Float])]], leads: [Int], signals: [Float], recordStarts: [Int], perLead: Bool
    ) -> [RecordEmbedding] {
        let e = configuration.embeddingWidth
        let present = records.indices.filter { !records[$0].isEmpty }
        let ranges = present.map { recordStarts[$0]..<(recordStarts[$0] + records[$0].count) }
        var recordOut = [Float](repeating: 0, count: present.count * e)
        var leadOut = [Float](repeating: 0, count: perLead ? leads.count * e : 0)
        parameters.withUnsafeBufferPointer { p in
            signals.withUnsafeBufferPointer { s in
                recordOut.withUnsafeMutableBufferPointer { ro in
                    leadOut.withUnsafeMutableBufferPointer { lo in
                        network.embedECG(
                            parameters: p.baseAddress.unsafelyUnwrapped, signals: s.baseAddress.unsafelyUnwrapped, leads: leads, records: ranges,
                            recordOut: ro.baseAddress.unsafelyUnwrapped, leadOut: perLead ? lo.baseAddress : nil)
                    }
                }
            }
        }
        var out = [RecordEmbedding](repeating: RecordEmbedding(record: [], perLead: [:]), count: records.count)
        for (k, ri) in present.enumerated() {
            var per: [StandardLead: [Float]] = [:]
            if perLead {
                per.reserveCapacity(records[ri].count)
                for (li, (lead, _)) in records[ri].enumerated() {
                    let row = recordStarts[ri] + li
                    per[lead] = Array(leadOut[(row * e)..<((row + 1) * e)])
                }
            }
            out[ri] = RecordEmbedding(record: Array(recordOut[(k * e)..<((k + 1) * e)]), perLead: per)
        }
        return out
    }

    /// Embeds a concept or report text into the joint space (unit length). Cached per text.
    public func embedText(_ text: String) -> [Float] {
        if let hit = textCache.withLock({ $0[text] }) { return hit }
        let e = embedTexts([text])[0]
        textCache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[text] = e
        }
        return e
    }

    /// Embeds several texts at once (not cached).
    public func embedTexts(_ texts: [String]) -> [[Float]] {
        let tokenizer = SubwordTokenizer(buckets: configuration.textBuckets)
        let features = texts.map(tokenizer.features)
        let acts = parameters.withUnsafeBufferPointer { p in network.forwardText(parameters: p.baseAddress.unsafelyUnwrapped, features: features) }
        let e = configuration.embeddingWidth
        let all = acts.embedding.array
        return (0..<texts.count).map { Array(all[($0 * e)..<(($0 + 1) * e)]) }
    }

    // MARK: Scoring

    /// The raw (uncalibrated) logit for a cosine similarity: `exp(logScale) · cos + bias` (the
    /// global scale and bias, without a concept's own).
    public func logit(similarity: Double) -> Double {
        let scale = Double(exp(parameters[network.entityLogit]))
        return scale * similarity + Double(parameters[network.entityLogit + 1])
    }

    /// The raw logit of a concept whose text embedding is `text`: with the concept logit head
    /// (`EncoderConfiguration.conceptLogitHead`) the concept's own scale and bias, computed from
    /// its text, so an unseen concept gets them too; otherwise `logit(similarity:)`.
    public func logit(similarity: Double, text: [Float]) -> Double {
        let (scale, bias) = conceptLogitParameters(text: text)
        return scale * similarity + bias
    }

    /// The scale and bias of the concept with text embedding `text` (the global ones without the
    /// concept head; computed exactly as `logit(similarity:)` does then).
    func conceptLogitParameters(text: [Float]) -> (scale: Double, bias: Double) {
        var logScale = parameters[network.entityLogit]
        var bias = parameters[network.entityLogit + 1]
        let head = network.conceptLogit
        let e = configuration.embeddingWidth
        if head >= 0 && text.count == e {
            for j in 0..<e {
                bias += parameters[head + j] * text[j]
                logScale += parameters[head + e + j] * text[j]
            }
        }
        return (Double(exp(logScale)), Double(bias))
    }

    /// Scores concepts against an embedding: similarity, calibrated probability, and per-lead
    /// probabilities from each lead alone. Returns no scores for an embedding without leads.
    /// (To score many records against the same concepts, `prepare` them once and use `scoreTable`.)
    public func score(_ embedding: RecordEmbedding, concepts: [ConceptQuery]) -> [ConceptScore] {
        let prepared = prepare(concepts)
        guard let table = scoreTable(embedding, prepared: prepared) else { return [] }
        return concepts.indices.map { k in
            var per: [StandardLead: Double] = [:]
            for (slot, p) in zip(StandardLead.allCases, table.leadProbabilities(of: k)) where !p.isNaN { per[slot] = p }
            return ConceptScore(
                id: prepared.ids[k], probability: table.probability[k], similarity: table.similarity[k],
                hasConceptCalibration: prepared.hasOwnCalibration[k], perLead: per)
        }
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        guard !a.isEmpty, !b.isEmpty else { return 0 }
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                Double(dot(x.baseAddress.unsafelyUnwrapped, y.baseAddress.unsafelyUnwrapped, min(a.count, b.count)))
            }
        }
    }
}

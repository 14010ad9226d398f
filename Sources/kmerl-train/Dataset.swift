import ECGCore
import ECGFormats
import Foundation
import KMERLModel
import Knowledge

/// The paired corpus: PTB-XL records joined with their labels and reports by `ecg_id`.
struct PairedCorpus {
    var entities: [EntitySpec]
    var superclasses: Set<String>
    var subclasses: Set<String>
    var samples: [TrainingSample]
    var folds: [Int]
    /// Binary evaluation labels (present at any likelihood) per sample and entity.
    var labels: [[Bool]]

    /// Soft target for an uncertain mention (PTB-XL diagnostic likelihood 15–50).
    static let uncertainTarget: Float = 0.7

    /// The entities of the PTB-XL corpus with their texts: the five superclasses, the subclasses
    /// and every SCP statement (the first of each id).
    static func ptbxlEntities(_ labels: PTBXLLabels) -> [EntitySpec] {
        var entities: [EntitySpec] = []
        var seen = Set<String>()
        for e in PTBXLLabels.superclasses + labels.subclasses + labels.statements where seen.insert(e.id).inserted {
            entities.append(e)
        }
        return entities
    }

    static func load(records: URL, ptbxl: URL, configuration: EncoderConfiguration, log: (String) -> Void) async throws -> PairedCorpus {
        let labelsDB = try PTBXLLabels(folder: ptbxl)
        let entities = ptbxlEntities(labelsDB)
        let index = Dictionary(uniqueKeysWithValues: entities.enumerated().map { ($1.id, $0) })
        let collected = try collect(
            records: records, configuration: configuration, skipped: "without a readable header or a database row", log: log
        ) { id in
            guard let row = labelsDB.rows[id] else { return nil }
            let (certain, uncertain) = labelsDB.concepts(of: row)
            var t = [Float?](repeating: 0, count: entities.count)
            var y = [Bool](repeating: false, count: entities.count)
            for c in certain { if let k = index[c] { t[k] = 1; y[k] = true } }
            for c in uncertain { if let k = index[c] { t[k] = uncertainTarget; y[k] = true } }
            return (t, y, row.report, row.fold)
        }
        return PairedCorpus(
            entities: entities, superclasses: Set(PTBXLLabels.superclasses.map(\.id)), subclasses: Set(labelsDB.subclasses.map(\.id)),
            samples: collected.samples, folds: collected.folds, labels: collected.labels)
    }

    /// The corpus from a knowledge base: entities are its concepts (text `descriptionText`) that
    /// reports mention, plus every PTB-XL superclass and subclass; targets come from the extracted
    /// mentions (present or historical → 1, uncertain → `uncertainTarget`, negated or not mentioned
    /// → 0), propagated to all ancestor concepts. Folds and evaluation labels (ground truth) come
    /// from PTB-XL's database in `ptbxl`, which must be readable.
    static func load(records: URL, db: URL, ptbxl: URL, configuration: EncoderConfiguration, log: (String) -> Void) async throws -> PairedCorpus {
        let store = try KnowledgeStore(path: db.path)
        let concepts = try store.concepts()
        let pairs = try store.trainingPairs()
        guard !pairs.isEmpty else { throw RecordFiles.Failure(description: "\(db.path): no reports imported (kmerl-kb import first)") }
        let byID = Dictionary(concepts.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func ancestors(_ id: String) -> Set<String> {
            var out = Set<String>()
            var stack = byID[id]?.parents ?? []
            while let p = stack.popLast() {
                guard out.insert(p).inserted else { continue }
                stack.append(contentsOf: byID[p]?.parents ?? [])
            }
            return out
        }
        var mentionCounts: [String: Int] = [:]
        var pairTargets: [String: (text: String, targets: [String: Float])] = [:]
        for pair in pairs {
            var t: [String: Float] = [:]
            for m in pair.mentions {
                let v: Float
                switch m.assertion {
                case .present, .historical: v = 1
                case .uncertain: v = uncertainTarget
                case .negated: continue
                }
                for id in [m.conceptID] + ancestors(m.conceptID) { t[id] = max(t[id] ?? 0, v) }
            }
            for id in t.keys { mentionCounts[id, default: 0] += 1 }
            pairTargets[pair.externalID] = (pair.text, t)
        }
        let classCodes: Set<CodeSystem> = [.ptbxlClass, .ptbxlSubclass]
        let superIDs = Set(concepts.filter { $0.codes.contains { $0.system == .ptbxlClass } }.map(\.id))
        let subIDs = Set(concepts.filter { $0.codes.contains { $0.system == .ptbxlSubclass } }.map(\.id))
        let entities = concepts.filter { c in (mentionCounts[c.id] ?? 0) > 0 || c.codes.contains { classCodes.contains($0.system) } }
            .map { EntitySpec(id: $0.id, text: $0.descriptionText) }
        let index = Dictionary(uniqueKeysWithValues: entities.enumerated().map { ($1.id, $0) })
        let truth = try PTBXLLabels(folder: ptbxl)
        let collected = try collect(
            records: records, configuration: configuration,
            skipped: "without a report in the knowledge base, a PTB-XL fold or a readable header", log: log
        ) { id in
            guard let pair = pairTargets[String(id)], let row = truth.rows[id] else { return nil }
            var t = [Float?](repeating: 0, count: entities.count)
            for (cid, v) in pair.targets { if let k = index[cid] { t[k] = v } }
            var y = [Bool](repeating: false, count: entities.count)
            let (certain, uncertain) = truth.concepts(of: row)
            for c in certain.union(uncertain) { if let k = index[c] { y[k] = true } }
            return (t, y, pair.text, row.fold)
        }
        return PairedCorpus(
            entities: entities, superclasses: superIDs, subclasses: subIDs, samples: collected.samples, folds: collected.folds,
            labels: collected.labels)
    }

    /// Every record under `records` whose `ecg_id` `pair` accepts (targets, evaluation labels,
    /// report, fold), with its leads prepared for the encoder; the others are counted and logged
    /// as skipped for `reason`.
    private static func collect(
        records: URL, configuration: EncoderConfiguration, skipped reason: String, log: (String) -> Void,
        pair: (Int) -> (targets: [Float?], labels: [Bool], report: String, fold: Int)?
    ) throws -> (samples: [TrainingSample], folds: [Int], labels: [[Bool]]) {
        let headers = RecordFiles.headers(in: records)
        guard !headers.isEmpty else { throw RecordFiles.Failure(description: "\(records.path): no WFDB headers (*.hea) found") }
        let pre = LeadPreprocessor(sampleRate: configuration.sampleRate, length: configuration.length)
        var samples: [TrainingSample] = []
        var folds: [Int] = []
        var labels: [[Bool]] = []
        var skipped = 0
        for h in headers {
            guard let id = ecgID(h), let p = pair(id), let leads = preparedLeads(h, pre, log: log) else {
                skipped += 1
                continue
            }
            samples.append(TrainingSample(id: String(id), leads: leads, targets: p.targets, report: p.report))
            folds.append(p.fold)
            labels.append(p.labels)
        }
        if skipped > 0 { log("skipped \(skipped) records \(reason)") }
        return (samples, folds, labels)
    }

    /// The PTB-XL `ecg_id` a record header stands for (`00042_lr.hea` → 42).
    static func ecgID(_ header: URL) -> Int? {
        header.deletingPathExtension().lastPathComponent.split(separator: "_").first.flatMap { Int($0) }
    }

    /// The record's standard leads prepared for the encoder, or `nil` (the reason logged) when it
    /// cannot be read.
    static func preparedLeads(_ header: URL, _ pre: LeadPreprocessor, log: (String) -> Void) -> [StandardLead: [Float]]? {
        let record: ECGRecord
        do { record = try ECGReader.read(header) } catch {
            log("warning: \(error)")
            return nil
        }
        var leads: [StandardLead: [Float]] = [:]
        for lead in StandardLead.allCases {
            if let s = record.signal(for: lead) { leads[lead] = pre.prepare(s, samplingRate: record.samplingRate) }
        }
        return leads
    }

    /// Training samples (every fold except the validation fold, `excluded` folds and fold 10),
    /// and the validation fold with its labels.
    func split(validationFold: Int, excluded: Set<Int> = []) -> (train: [TrainingSample], validation: [TrainingSample], validationLabels: [[Bool]]) {
        var train: [TrainingSample] = []
        var val: [TrainingSample] = []
        var valLabels: [[Bool]] = []
        for (i, s) in samples.enumerated() {
            if folds[i] == validationFold {
                val.append(s)
                valLabels.append(labels[i])
            } else if folds[i] != 10 && !excluded.contains(folds[i]) {
                train.append(s)
            }
        }
        return (train, val, valLabels)
    }
}

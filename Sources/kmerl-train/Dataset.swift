import ECGCore
import ECGFormats
import Foundation
import KMERLModel

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

    static func load(records: URL, ptbxl: URL, configuration: EncoderConfiguration, log: (String) -> Void) async throws -> PairedCorpus {
        let labelsDB = try PTBXLLabels(
            database: ptbxl.appendingPathComponent("ptbxl_database.csv"), statements: ptbxl.appendingPathComponent("scp_statements.csv"))
        var entities: [EntitySpec] = []
        var seen = Set<String>()
        for e in PTBXLLabels.superclasses + labelsDB.subclasses + labelsDB.statements where !seen.contains(e.id) {
            seen.insert(e.id)
            entities.append(e)
        }
        let index = Dictionary(uniqueKeysWithValues: entities.enumerated().map { ($1.id, $0) })
        let headers = RecordFiles.headers(in: records)
        guard !headers.isEmpty else { throw RecordFiles.Failure(description: "\(records.path): no WFDB headers (*.hea) found") }
        let pre = LeadPreprocessor(sampleRate: configuration.sampleRate, length: configuration.length)
        var samples: [TrainingSample] = []
        var folds: [Int] = []
        var labels: [[Bool]] = []
        var skipped = 0
        for h in headers {
            let stem = h.deletingPathExtension().lastPathComponent
            guard let id = Int(stem.split(separator: "_")[0]), let row = labelsDB.rows[id] else {
                skipped += 1
                continue
            }
            let record: ECGRecord
            do { record = try ECGReader.read(h) } catch {
                log("warning: \(error)")
                skipped += 1
                continue
            }
            var leads: [StandardLead: [Float]] = [:]
            for lead in StandardLead.allCases {
                if let s = record.signal(for: lead) { leads[lead] = pre.prepare(s, samplingRate: record.samplingRate) }
            }
            let (certain, uncertain) = labelsDB.concepts(of: row)
            var t = [Float?](repeating: 0, count: entities.count)
            var y = [Bool](repeating: false, count: entities.count)
            for c in certain { if let k = index[c] { t[k] = 1; y[k] = true } }
            for c in uncertain { if let k = index[c] { t[k] = uncertainTarget; y[k] = true } }
            samples.append(TrainingSample(id: String(id), leads: leads, targets: t, report: row.report))
            folds.append(row.fold)
            labels.append(y)
        }
        if skipped > 0 { log("skipped \(skipped) records without a readable header or a database row") }
        return PairedCorpus(
            entities: entities, superclasses: Set(PTBXLLabels.superclasses.map(\.id)), subclasses: Set(labelsDB.subclasses.map(\.id)),
            samples: samples, folds: folds, labels: labels)
    }

    func split(validationFold: Int) -> (train: [TrainingSample], validation: [TrainingSample], validationLabels: [[Bool]]) {
        var train: [TrainingSample] = []
        var val: [TrainingSample] = []
        var valLabels: [[Bool]] = []
        for (i, s) in samples.enumerated() {
            if folds[i] == validationFold {
                val.append(s)
                valLabels.append(labels[i])
            } else if folds[i] != 10 {
                train.append(s)
            }
        }
        return (train, val, valLabels)
    }
}

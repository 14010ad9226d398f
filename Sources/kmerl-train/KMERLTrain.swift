import ArgumentParser
import ECGCore
import Foundation
import KMERLModel

/// `kmerl-train`: train and evaluate the lead-aware encoder on paired ECGs and reports.
@main
struct KMERLTrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kmerl-train",
        abstract: "Train and evaluate the K-MERL lead-aware encoder on paired ECG records and reports.",
        subcommands: [Fit.self, Evaluate.self, Card.self, Calibrate.self]
    )
}

/// Options shared by `fit` and `evaluate`: where the records and their labels are.
struct CorpusOptions: ParsableArguments {
    @Option(help: "Folder of WFDB records (PTB-XL records100 layout; NNNNN_lr ↔ ecg_id).")
    var records: String

    @Option(help: "Knowledge base (kmerl-kb): concepts and the reports' extracted mentions are the training targets. Without it, PTB-XL's scp_codes are.")
    var db: String?

    @Option(help: "PTB-XL folder with ptbxl_database.csv and scp_statements.csv: folds and ground-truth labels (default: the parent of --records).")
    var ptbxl: String?

    func load(configuration: EncoderConfiguration) async throws -> PairedCorpus {
        if let db {
            return try await PairedCorpus.load(records: recordsURL, db: URL(fileURLWithPath: db), ptbxl: ptbxlURL, configuration: configuration, log: printError)
        }
        return try await PairedCorpus.load(records: recordsURL, ptbxl: ptbxlURL, configuration: configuration, log: printError)
    }

    var recordsURL: URL { URL(fileURLWithPath: records) }
    var ptbxlURL: URL { ptbxl.map { URL(fileURLWithPath: $0) } ?? recordsURL.deletingLastPathComponent() }
}

/// Prints a line to standard output unbuffered (progress must show when stdout is a file).
func say(_ s: String) {
    FileHandle.standardOutput.write(Data((s + "\n").utf8))
}

func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

struct Fit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train the encoder (folds ≠ validation fold) and calibrate it on the validation fold.")

    @OptionGroup var corpus: CorpusOptions

    @Option(help: "Output model file (safetensors).")
    var out: String

    @Option(help: "Epochs (the shipped model: 80).")
    var epochs = 80

    @Option(help: "Seed for initialisation, shuffling and masking.")
    var seed: UInt64 = 7

    @Option(name: .customLong("validation-fold"), help: "Fold used for validation and calibration only.")
    var validationFold = 9

    @Option(name: .customLong("hold-out"), help: "Comma-separated concept ids excluded from the entity loss, to measure zero-shot scoring (e.g. AFIB,CLBBB). None by default: a shipped model must learn every concept it can.")
    var holdOut = ""

    @Option(name: .customLong("batch-size"), help: "Samples per step.")
    var batchSize = TrainingOptions().batchSize

    @Option(name: .customLong("learning-rate"), help: "Peak learning rate.")
    var learningRate = TrainingOptions().learningRate

    @Option(name: .customLong("checkpoint"), help: "Checkpoint file (default: OUT.checkpoint), written after every epoch.")
    var checkpoint: String?

    @Flag(help: "Resume from the checkpoint if it exists.")
    var resume = false

    @Option(name: .customLong("exclude-folds"), help: "Comma-separated folds left out of training entirely (e.g. 9 for development runs that validate on fold 8 and keep fold 9 unseen).")
    var excludeFolds = ""

    @Option(help: "How leads are combined: time-aligned (time tokens fused across present leads) or lead-tokens (one pooled token per lead, the session-1 architecture). Default: the shipped architecture.")
    var fusion: String?

    @Option(name: .customLong("conv-channels"), help: "Output channels of the four stem convolutions, comma-separated (default: the shipped architecture's).")
    var convChannels: String?

    @Option(name: .customLong("conv-geometry"), help: "Kernel, stride and padding of each stem convolution, 'k:s:p,k:s:p,...' (as many as --conv-channels; default: the shipped 10:5:3,5:2:2,5:2:2,3:2:1). The stem must still end in a whole number of time tokens.")
    var convGeometry: String?

    @Option(help: "Transformer layers (default: the shipped architecture's).")
    var layers: Int?

    @Option(help: "Parallel shards per step. The floating-point sum of the shard gradients depends on it, so the same seed and shard count give the same model on any machine (the shipped model: 2).")
    var shards = TrainingOptions().shards

    @Option(name: .customLong("time-shift"), help: "Largest random time shift of a training sample, in samples at 100 Hz (augmentation; 0 = none).")
    var timeShift = TrainingOptions().maxTimeShift

    @Flag(name: .customLong("concept-head"), help: "Give every concept its own logit bias and temperature, computed from its text embedding (unseen concepts get them too).")
    var conceptHead = false

    @Option(name: .customLong("positive-weight-power"), help: "Class balance of the entity loss: positives of a concept weighted by (negatives/positives)^P, capped by --positive-weight-cap (0 = unweighted; the shipped model: 1).")
    var positiveWeightPower = TrainingOptions().positiveWeightPower

    @Option(name: .customLong("positive-weight-cap"), help: "Largest positive weight of the class-balanced entity loss.")
    var positiveWeightCap = TrainingOptions().positiveWeightCap

    @Option(name: .customLong("superclass-weight"), help: "Loss weight of the five PTB-XL diagnostic superclass concepts in the entity loss (the other concepts weigh 1; the shipped model: 3).")
    var superclassWeight: Float = 1

    @Option(name: .customLong("contrastive-weight"), help: "Weight of the CLIP-style ECG-report loss beside the entity loss.")
    var contrastiveWeight = TrainingOptions().contrastiveWeight

    @Option(help: "Decay of an exponential moving average of the weights, updated every step; the saved model is the average (0 = off).")
    var ema = TrainingOptions().emaDecay

    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay.")
    var weightDecay = TrainingOptions().weightDecay

    @Option(name: .customLong("patch-mask"), help: "Probability of zeroing each 0.4 s patch of a kept lead.")
    var patchMask = TrainingOptions().patchMaskProbability

    @Option(name: .customLong("time-stretch"), help: "Largest relative random time stretch of a training sample (0.1: factors 0.9-1.1, heart-rate variation; augmentation, 0 = none).")
    var timeStretch: Float = TrainingOptions().timeStretch

    @Option(help: "Largest standard deviation of additive white noise on the z-scored training leads (each sample draws its level from 0 to this; 0 = none).")
    var noise: Float = TrainingOptions().noiseLevel

    @Option(help: "Probability that a training sample is mixed with another of its batch (signals and targets, own weight 0.5-1; 0 = none).")
    var mixup: Float = TrainingOptions().mixupProbability

    @Option(name: .customLong("lead-set-weights"), help: "Relative weights of the lead-masking draws, 8 comma-separated numbers: all 12, 6 limb, I-II-III-V2, I-II-V2, I-II, I, one random lead, random subset (default 25,10,10,10,10,10,13,12).")
    var leadSetWeights: String?

    @Option(help: "Knowledge distillation: comma-separated teacher model files (trained on the same records with the same loss options, e.g. other seeds). Before training, each training record is scored on all 12 leads by every teacher and the entity targets become (1 − α)·label + α·teacher probability (mean over the teachers). The written model does not need the teachers.")
    var teacher = ""

    @Option(name: .customLong("teacher-weight"), help: "α of --teacher: the teacher's share of the entity targets (0–1).")
    var teacherWeight: Float = 0.5

    @Option(name: .customLong("lead-view-weight"), help: "Scoring, not training: a record's concept logit becomes (1 − w)·record logit + w·mean of the present leads' own logits, and the calibration is fitted on that (0 = the record embedding alone, as in the shipped model; 0.5 was the best weight on the development protocol but gained only +0.001 on fold 9, see README).")
    var leadViewWeight: Double = 0

    func configuration() throws -> EncoderConfiguration {
        var config = EncoderConfiguration()
        if let fusion {
            switch fusion {
            case "time-aligned": config.fusion = .timeAligned
            case "lead-tokens": config.fusion = .leadTokens
            default: throw ValidationError("--fusion must be time-aligned or lead-tokens, not '\(fusion)'")
            }
        }
        if let convChannels {
            let c = convChannels.split(separator: ",").compactMap { Int(String($0).trimmingWhitespace()) }
            guard c.count == config.convChannels.count, c.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--conv-channels needs \(config.convChannels.count) positive integers, got '\(convChannels)'")
            }
            config.convChannels = c
        }
        if let convGeometry {
            let layers = convGeometry.split(separator: ",").map { $0.split(separator: ":").compactMap { Int(String($0).trimmingWhitespace()) } }
            guard layers.count == config.convChannels.count, layers.allSatisfy({ $0.count == 3 && $0[0] > 0 && $0[1] > 0 && $0[2] >= 0 }) else {
                throw ValidationError("--conv-geometry needs \(config.convChannels.count) 'kernel:stride:padding' triples, got '\(convGeometry)'")
            }
            config.convKernels = layers.map { $0[0] }
            config.convStrides = layers.map { $0[1] }
            config.convPaddings = layers.map { $0[2] }
        }
        if let layers { config.layers = layers }
        config.conceptLogitHead = conceptHead
        try config.validate()
        return config
    }

    /// The non-default training options, as command-line flags (for the model card).
    var optionSuffix: String {
        let defaults = TrainingOptions()
        var out = ""
        if conceptHead { out += " --concept-head" }
        if positiveWeightPower != defaults.positiveWeightPower { out += " --positive-weight-power \(positiveWeightPower)" }
        if positiveWeightCap != defaults.positiveWeightCap { out += " --positive-weight-cap \(positiveWeightCap)" }
        if superclassWeight != 1 { out += " --superclass-weight \(superclassWeight)" }
        if contrastiveWeight != defaults.contrastiveWeight { out += " --contrastive-weight \(contrastiveWeight)" }
        if ema != defaults.emaDecay { out += " --ema \(ema)" }
        if weightDecay != defaults.weightDecay { out += " --weight-decay \(weightDecay)" }
        if patchMask != defaults.patchMaskProbability { out += " --patch-mask \(patchMask)" }
        if batchSize != defaults.batchSize { out += " --batch-size \(batchSize)" }
        if learningRate != defaults.learningRate { out += " --learning-rate \(learningRate)" }
        if shards != defaults.shards { out += " --shards \(shards)" }
        if timeStretch != defaults.timeStretch { out += " --time-stretch \(timeStretch)" }
        if noise != defaults.noiseLevel { out += " --noise \(noise)" }
        if mixup != defaults.mixupProbability { out += " --mixup \(mixup)" }
        if let leadSetWeights { out += " --lead-set-weights \(leadSetWeights)" }
        if !teacherPaths.isEmpty { out += " --teacher \(teacher) --teacher-weight \(teacherWeight)" }
        if leadViewWeight != 0 { out += " --lead-view-weight \(leadViewWeight)" }
        return out
    }

    var teacherPaths: [String] { teacher.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty } }

    func run() async throws {
        let config = try configuration()
        guard teacherWeight >= 0 && teacherWeight <= 1 else { throw ValidationError("--teacher-weight must lie in 0…1, not \(teacherWeight)") }
        guard leadViewWeight >= 0 && leadViewWeight <= 1 else { throw ValidationError("--lead-view-weight must lie in 0…1, not \(leadViewWeight)") }
        // Teachers are loaded (and refused if broken) before the corpus.
        let teachers = try teacherPaths.map { try KMERLEncoderModel.load(contentsOf: URL(fileURLWithPath: $0)) }
        for (path, t) in zip(teacherPaths, teachers) where !ModelEnsemble.samePreprocessing(t.configuration, config) {
            throw ValidationError("--teacher \(path): expects \(t.configuration.length) samples at \(t.configuration.sampleRate) Hz, the student \(config.length) at \(config.sampleRate) Hz")
        }
        let excluded = Set(excludeFolds.split(separator: ",").compactMap { Int(String($0).trimmingWhitespace()) })
        guard !excluded.contains(validationFold) else { throw ValidationError("--exclude-folds must not contain the validation fold \(validationFold)") }
        let corpusData = try await corpus.load(configuration: config)
        var (train, val, valLabels) = corpusData.split(validationFold: validationFold, excluded: excluded)
        say("corpus: \(corpusData.samples.count) records, \(train.count) for training, \(val.count) in validation fold \(validationFold), \(corpusData.entities.count) entities; encoder \(config.fusion.rawValue), stem \(config.convChannels) kernels \(config.convKernels) strides \(config.convStrides), \(config.tokensPerLead) tokens per lead, \(config.layers) layer(s)")
        var options = TrainingOptions()
        options.epochs = epochs
        options.seed = seed
        options.batchSize = batchSize
        options.learningRate = learningRate
        options.maxTimeShift = max(0, timeShift)
        options.shards = max(1, shards)
        options.positiveWeightPower = max(0, positiveWeightPower)
        options.positiveWeightCap = positiveWeightCap
        options.contrastiveWeight = max(0, contrastiveWeight)
        if superclassWeight != 1 { options.entityWeights = Dictionary(uniqueKeysWithValues: corpusData.superclasses.map { ($0, max(0, superclassWeight)) }) }
        options.weightDecay = max(0, weightDecay)
        options.emaDecay = min(max(0, ema), 0.9999)
        options.patchMaskProbability = min(max(0, patchMask), 1)
        options.timeStretch = min(max(0, timeStretch), 0.5)
        options.noiseLevel = max(0, noise)
        options.mixupProbability = min(max(0, mixup), 1)
        if let leadSetWeights {
            let w = leadSetWeights.split(separator: ",").compactMap { Float(String($0).trimmingWhitespace()) }
            guard w.count == 8, w.allSatisfy({ $0 >= 0 }), w.reduce(0, +) > 0 else {
                throw ValidationError("--lead-set-weights needs 8 non-negative numbers with a positive sum, got '\(leadSetWeights)'")
            }
            options.leadSetWeights = w
        }
        let heldOut = Set(holdOut.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty })
        options.teacherWeight = teachers.isEmpty ? 0 : teacherWeight
        let trainer = try Trainer(configuration: config, entities: corpusData.entities, heldOut: heldOut, options: options)
        var ensemble: ModelEnsemble?
        if !teachers.isEmpty {
            let e = try ModelEnsemble(models: teachers)
            let t0 = Date()
            train = await trainer.distilled(train, teacher: e)
            // How far the teacher is from the labels it is mixed with (superclasses and all entities).
            var gap = (all: 0.0, allCount: 0.0, superclass: 0.0, superclassCount: 0.0)
            for sample in train {
                for (k, y) in sample.targets.enumerated() {
                    guard let y, let t = sample.teacher?[k], !heldOut.contains(corpusData.entities[k].id) else { continue }
                    gap.all += Double(abs(t - y))
                    gap.allCount += 1
                    if corpusData.superclasses.contains(corpusData.entities[k].id) {
                        gap.superclass += Double(abs(t - y))
                        gap.superclassCount += 1
                    }
                }
            }
            say(String(format: "teacher: %d model(s) %@ scored %d training records on 12 leads in %.1f s; mean |teacher − label| %.4f (superclasses %.4f); targets = %.2f·label + %.2f·teacher", teachers.count, e.version, train.count, Date().timeIntervalSince(t0), gap.all / max(1, gap.allCount), gap.superclass / max(1, gap.superclassCount), 1 - teacherWeight, teacherWeight))
            ensemble = e
        }
        let checkpointURL = URL(fileURLWithPath: checkpoint ?? out + ".checkpoint")
        var state = trainer.initialState()
        if resume, FileManager.default.fileExists(atPath: checkpointURL.path) {
            state = try TrainingState.read(from: checkpointURL)
            print("resumed from \(checkpointURL.path) at epoch \(state.epoch)")
        }
        while state.epoch < epochs {
            let t0 = Date()
            let losses = await trainer.runEpoch(&state, samples: train)
            let dt = Date().timeIntervalSince(t0)
            say(String(format: "epoch %3d/%d  %@  %.1f s", state.epoch, epochs, losses.description, dt))
            try state.write(to: checkpointURL)
        }
        var card = ModelCard()
        let trained = corpusData.entities.filter { !heldOut.contains($0.id) }
        card.trainedConcepts = trained.map(\.id)
        card.heldOutConcepts = heldOut.sorted()
        // Classification queries every trained concept with the text it was trained and calibrated with.
        for entity in trained { card.conceptTexts[entity.id] = entity.text }
        if let ensemble {
            card.notes["distilled"] = "teacher weight \(teacherWeight); teachers \(ensemble.version) (\(teacherPaths.joined(separator: ",")))"
        }
        card.seed = seed
        card.epochs = epochs
        card.command = "kmerl-train fit --records \(corpus.records)\(corpus.db.map { " --db \($0)" } ?? "") --out \(out) --epochs \(epochs) --seed \(seed) --validation-fold \(validationFold)" + (heldOut.isEmpty ? "" : " --hold-out \(holdOut)") + (excluded.isEmpty ? "" : " --exclude-folds \(excludeFolds)")
            + (fusion.map { " --fusion \($0)" } ?? "") + (convChannels.map { " --conv-channels \($0)" } ?? "") + (convGeometry.map { " --conv-geometry \($0)" } ?? "") + (layers.map { " --layers \($0)" } ?? "")
            + " --time-shift \(timeShift)" + optionSuffix
        let model = await trainer.model(from: state, card: card).recalibrated(
            samples: val, labels: valLabels, concepts: corpusData.entities, leadViewWeight: leadViewWeight)
        try model.write(to: URL(fileURLWithPath: out))
        print("wrote \(out) (\(model.parameterCount) parameters, version \(model.version))")
    }
}

struct Evaluate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Macro-AUROC of superclasses and subclasses per lead set on one fold.")

    @OptionGroup var corpus: CorpusOptions

    @Option(help: "Model file (safetensors); several comma-separated files are evaluated as an ensemble (the mean of their raw logits).")
    var model: String

    @Option(help: "Fold to evaluate.")
    var fold = 9

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "Also write every record's superclass scores per lead set to this CSV (lead_set, ecg_id, then one raw logit per superclass; for an ensemble the mean), for paired comparisons with another model on the same records (Benchmarks/model_compare.py).")
    var scores: String?

    func run() async throws {
        let paths = model.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
        guard !paths.isEmpty else { throw ValidationError("--model needs at least one file") }
        let members = try paths.map { try KMERLEncoderModel.load(contentsOf: URL(fileURLWithPath: $0)) }
        let m = members[0]
        for (path, other) in zip(paths, members) where !ModelEnsemble.samePreprocessing(other.configuration, m.configuration) {
            throw ValidationError("\(path): another sample rate or length than \(paths[0]); an ensemble's members must prepare records alike")
        }
        let ensemble = try ModelEnsemble(models: members)
        let corpusData = try await corpus.load(configuration: m.configuration)
        let (_, val, labels) = corpusData.split(validationFold: fold)
        guard !val.isEmpty else { throw ValidationError("no records of fold \(fold) under \(corpus.records)") }
        var results: [LeadSetEvaluation] = []
        let superIDs = corpusData.superclasses.sorted()
        let superColumns = superIDs.compactMap { id in corpusData.entities.firstIndex { $0.id == id } }
        var scoreRows = ["lead_set,ecg_id," + superIDs.joined(separator: ",")]
        for (name, leads) in LeadSets.evaluation {
            let logits = await ensemble.logits(samples: val, leads: leads, concepts: corpusData.entities)
            results.append(
                Evaluator.evaluation(
                    name: name, logits: logits, labels: labels, leads: leads, concepts: corpusData.entities, superclasses: corpusData.superclasses,
                    subclasses: corpusData.subclasses))
            for (sample, row) in zip(val, logits) {
                scoreRows.append((["\"\(name)\"", sample.id] + superColumns.map { String(row[$0]) }).joined(separator: ","))
            }
        }
        if let scores {
            do {
                try Data((scoreRows.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: scores), options: .atomic)
            } catch { throw ValidationError("cannot write the scores to \(scores): \(error.localizedDescription)") }
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(EvaluationReport(model: ensemble.version, fold: fold, records: val.count, heldOut: m.card.heldOutConcepts, leadSets: results)), as: UTF8.self))
            return
        }
        print((members.count > 1 ? "ensemble of \(members.count) models (mean raw logit) \(ensemble.version)" : "model \(m.version)") + ", fold \(fold), \(val.count) records")
        print("lead set        superclass  subclass  " + m.card.heldOutConcepts.map { "\($0) (zero-shot)" }.joined(separator: "  "))
        for r in results {
            let zs = m.card.heldOutConcepts.map { r.perConcept[$0].map { String(format: "%.3f", $0) } ?? "n/a" }
            print(
                r.name.padding(toLength: 14, withPad: " ", startingAt: 0)
                    + String(format: "  %.3f       %.3f     ", r.superclassMacroAUROC ?? .nan, r.subclassMacroAUROC ?? .nan) + zs.joined(separator: "         "))
        }
        if let all = results.first {
            print("per concept (all 12): " + corpusData.superclasses.sorted().map { "\($0) \(String(format: "%.3f", all.perConcept[$0] ?? .nan))" }.joined(separator: ", "))
        }
    }
}

struct EvaluationReport: Codable {
    var model: String
    var fold: Int
    var records: Int
    var heldOut: [String]
    var leadSets: [LeadSetEvaluation]
}

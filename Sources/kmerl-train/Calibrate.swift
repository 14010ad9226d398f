import ArgumentParser
import Foundation
import KMERLModel

/// `kmerl-train calibrate`: fits a model file's calibrations anew on one fold, optionally with
/// another `--lead-view-weight`; the weights are unchanged. This is how a scoring rule chosen
/// after training (the lead-view mixture) reaches a trained model without training it again.
struct Calibrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit a model's calibrations anew on one fold (optionally with another --lead-view-weight); the weights are unchanged.")

    @OptionGroup var corpus: CorpusOptions

    @Option(help: "Model file (safetensors).")
    var model: String

    @Option(help: "Output file (default: rewrite --model in place; temporary file, then rename).")
    var out: String?

    @Option(help: "Fold to calibrate on (the model's validation fold; never a training fold).")
    var fold = 9

    @Option(name: .customLong("lead-view-weight"), help: "The record logit's mixture with the leads' own logits, 0–1 (default: keep the model's).")
    var leadViewWeight: Double?

    func run() async throws {
        if let leadViewWeight, !(leadViewWeight >= 0 && leadViewWeight <= 1) {
            throw ValidationError("--lead-view-weight must lie in 0…1, not \(leadViewWeight)")
        }
        let m = try KMERLEncoderModel.load(contentsOf: URL(fileURLWithPath: model))
        let corpusData = try await corpus.load(configuration: m.configuration)
        let (_, val, labels) = corpusData.split(validationFold: fold)
        guard !val.isEmpty else { throw ValidationError("no records of fold \(fold) under \(corpus.records)") }
        let weight = leadViewWeight ?? m.leadViewWeight
        var card = m.card
        card.notes["calibration"] = "fold \(fold), \(val.count) records, lead-view weight \(weight) (kmerl-train calibrate)"
        let updated = await m.recalibrated(samples: val, labels: labels, concepts: corpusData.entities, leadViewWeight: weight, card: card)
        let target = out ?? model
        try updated.write(to: URL(fileURLWithPath: target))
        say("\(target): \(updated.calibrations.count) concept calibrations fitted on fold \(fold) (\(val.count) records), lead-view weight \(weight); version \(updated.version)")
    }
}

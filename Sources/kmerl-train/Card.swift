import ArgumentParser
import Foundation
import KMERLModel

/// `kmerl-train card`: writes into a model file the texts its concepts were trained with, for
/// files written before `fit` recorded them (`ModelCard.conceptTexts`). The weights, and so the
/// model's version, are unchanged.
struct Card: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record in a PTB-XL-trained model file the text each trained concept was trained with (weights unchanged).")

    @Option(help: "Model file (safetensors), rewritten in place (temporary file, then rename).")
    var model: String

    @Option(help: "PTB-XL folder with scp_statements.csv and ptbxl_database.csv (the texts of the statements).")
    var ptbxl: String

    func run() async throws {
        let url = URL(fileURLWithPath: model)
        let m = try KMERLEncoderModel.load(contentsOf: url)
        guard !m.card.trainedConcepts.isEmpty else {
            throw ValidationError("\(model): the model card names no trained concept; nothing to record")
        }
        let entities = PairedCorpus.ptbxlEntities(try PTBXLLabels(folder: URL(fileURLWithPath: ptbxl)))
        let texts = Dictionary(entities.map { ($0.id, $0.text) }, uniquingKeysWith: { a, _ in a })
        let missing = m.card.trainedConcepts.filter { texts[$0] == nil }
        guard missing.isEmpty else {
            throw ValidationError("\(model): trained concepts not in PTB-XL's statements (trained from a knowledge base?): \(missing.joined(separator: ", "))")
        }
        var card = m.card
        card.conceptTexts = [:]
        for id in m.card.trainedConcepts { card.conceptTexts[id] = texts[id] }
        let updated = m.with(calibrations: m.calibrations, global: m.globalCalibration, card: card)
        try updated.write(to: url)
        say("\(model): \(card.conceptTexts.count) concept texts recorded; version \(updated.version) (unchanged: \(updated.version == m.version))")
    }
}

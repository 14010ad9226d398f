import Testing

@testable import KMERLModel

@Suite struct TextEncoderTests {
    @Test func featuresAreSubwordsAndDeterministic() {
        let t = SubwordTokenizer(buckets: 4096)
        #expect(SubwordTokenizer.words("Inferior MI: II, III, aVF") == ["inferior", "mi", "ii", "iii", "avf"])
        // "<mi>": word + 2 trigrams + 1 four-gram.
        #expect(t.features("MI").count == 1 + 2 + 1)
        #expect(t.features("myocardial infarction") == t.features("Myocardial  INFARCTION"))
        let a = Set(t.features("infarction"))
        let b = Set(t.features("infarkt"))
        let c = Set(t.features("bradycardia"))
        #expect(a.intersection(b).count > a.intersection(c).count)
    }

    @Test func unseenTextsStillEmbedNearSharedWords() throws {
        let model = try KMERLEncoderModel.untrained(seed: 4)
        let a = model.embedText("inferior myocardial infarction")
        let b = model.embedText("inferolateral myocardial infarction")
        let c = model.embedText("sinus bradycardia")
        let ab = zip(a, b).map { $0 * $1 }.reduce(0, +)
        let ac = zip(a, c).map { $0 * $1 }.reduce(0, +)
        #expect(ab > ac)
        #expect(abs(a.map { $0 * $0 }.reduce(0, +) - 1) < 1e-4)
    }
}

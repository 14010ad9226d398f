import Foundation
import Testing

@testable import KMERLModel

@Suite struct SafetensorsTests {
    @Test func roundTripKeepsTensorsAndMetadata() throws {
        let a = SafetensorsTensor(shape: [2, 3], values: [1, -2, 3.5, 0, 1e-3, 7])
        let b = SafetensorsTensor(shape: [4], values: [0.5, 0.25, -1, 2])
        let data = try Safetensors.write(tensors: [("a", a), ("b", b)], metadata: ["k": "v"], halfPrecision: ["b"])
        // Real format: 8-byte little-endian header length, header padded to 8 bytes.
        let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        #expect(n % 8 == 0)
        #expect(Int(n) + 8 + 6 * 4 + 4 * 2 == data.count)
        let header = String(decoding: data[8..<(8 + Int(n))], as: UTF8.self)
        #expect(header.contains("\"dtype\":\"F16\""))
        #expect(header.contains("\"__metadata__\""))
        let (t, m) = try Safetensors.read(data)
        #expect(t["a"] == a)
        #expect(t["b"] == b)
        #expect(m == ["k": "v"])
    }

    @Test func modelRoundTripsAndRejectsBadFiles() throws {
        let model = try KMERLEncoderModel.untrained(configuration: NetworkTests.tiny, seed: 3)
        let data = try model.safetensorsData()
        let back = try KMERLEncoderModel.load(safetensors: data)
        #expect(back.version == model.version)
        #expect(back.configuration == model.configuration)
        // Truncated.
        #expect(throws: ModelError.self) { try KMERLEncoderModel.load(safetensors: data.prefix(data.count - 100)) }
        #expect(throws: ModelError.self) { try KMERLEncoderModel.load(safetensors: data.prefix(5)) }
        // Another architecture: same tensors declared under a different configuration.
        var other = NetworkTests.tiny
        other.width = 16
        let otherModel = try KMERLEncoderModel.untrained(configuration: other, seed: 3)
        let (tensors, meta) = try Safetensors.read(try otherModel.safetensorsData())
        var mixedMeta = meta
        mixedMeta["config"] = String(decoding: try JSONEncoder().encode(NetworkTests.tiny), as: UTF8.self)
        let mixed = try Safetensors.write(tensors: tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, metadata: mixedMeta)
        do {
            _ = try KMERLEncoderModel.load(safetensors: mixed)
            Issue.record("a mismatched architecture was accepted")
        } catch let e as ModelError {
            #expect(e.description.contains("shape"))
        }
        // Not a kmerl model at all.
        let foreign = try Safetensors.write(tensors: [("x", SafetensorsTensor(shape: [1], values: [1]))], metadata: [:])
        #expect(throws: ModelError.self) { try KMERLEncoderModel.load(safetensors: foreign) }
        // NaN weights.
        var nanTensors = try Safetensors.read(data).tensors
        nanTensors["ecg.proj.weight"]?.values[2] = .nan
        let nanData = try Safetensors.write(tensors: nanTensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, metadata: try Safetensors.read(data).metadata)
        do {
            _ = try KMERLEncoderModel.load(safetensors: nanData)
            Issue.record("NaN weights were accepted")
        } catch let e as ModelError {
            #expect(e.description.contains("ecg.proj.weight"))
        }
    }
}

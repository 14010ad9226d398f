import Foundation

/// Why a model file could not be used. Every message names the problem precisely enough to act on.
public enum ModelError: Error, Sendable, CustomStringConvertible, LocalizedError {
    /// The bytes are not a valid safetensors file (truncated, bad header, bad offsets).
    case format(String)
    /// The file is valid safetensors but not a kmerl encoder of a known architecture.
    case architecture(String)
    /// A tensor holds NaN or infinite values.
    case nonFinite(String)
    /// A file could not be read or written.
    case io(String)

    public var description: String {
        switch self {
        case .format(let m): "not a valid safetensors model file: \(m)"
        case .architecture(let m): "model architecture mismatch: \(m)"
        case .nonFinite(let m): "model contains non-finite weights: \(m)"
        case .io(let m): m
        }
    }

    public var errorDescription: String? { description }
}

/// One tensor of a safetensors file (only `F32`, `F16` and `BF16` are read; all are returned as `Float`).
public struct SafetensorsTensor: Sendable, Hashable {
    /// Shape, row-major.
    public var shape: [Int]
    /// Values.
    public var values: [Float]

    /// A tensor.
    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON
/// header (`dtype`, `shape`, `data_offsets` per tensor, optional `__metadata__` of strings),
/// then the raw little-endian tensor bytes.
public enum Safetensors {
    /// Parses `data`; throws `ModelError.format` for a truncated or malformed file.
    public static func read(_ data: Data) throws -> (tensors: [String: SafetensorsTensor], metadata: [String: String]) {
        guard data.count >= 8 else { throw ModelError.format("file has \(data.count) bytes, fewer than the 8-byte header length") }
        let bytes = [UInt8](data)
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw ModelError.format("header length \(headerLength) exceeds the file (\(bytes.count) bytes): the file is truncated")
        }
        let headerEnd = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd]))
        } catch {
            throw ModelError.format("header is not valid JSON (\(error.localizedDescription))")
        }
        guard let header = json as? [String: Any] else { throw ModelError.format("header is not a JSON object") }
        let dataSize = bytes.count - headerEnd
        var tensors: [String: SafetensorsTensor] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let meta = value as? [String: Any] else { throw ModelError.format("__metadata__ is not an object") }
                for (k, v) in meta {
                    guard let s = v as? String else { throw ModelError.format("__metadata__ value for \(k) is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shapeAny = entry["shape"] as? [Any], let offsetsAny = entry["data_offsets"] as? [Any], offsetsAny.count == 2
            else { throw ModelError.format("tensor \(name): missing dtype, shape or data_offsets") }
            let shape = try shapeAny.map { v -> Int in
                guard let n = (v as? NSNumber)?.intValue, n >= 0 else { throw ModelError.format("tensor \(name): bad shape") }
                return n
            }
            let offsets = try offsetsAny.map { v -> Int in
                guard let n = (v as? NSNumber)?.intValue, n >= 0 else { throw ModelError.format("tensor \(name): bad data_offsets") }
                return n
            }
            let count = shape.reduce(1, *)
            let width: Int
            switch dtype {
            case "F32": width = 4
            case "F16", "BF16": width = 2
            default: throw ModelError.format("tensor \(name): unsupported dtype \(dtype)")
            }
            guard offsets[1] >= offsets[0], offsets[1] - offsets[0] == count * width else {
                throw ModelError.format("tensor \(name): data_offsets \(offsets) do not match shape \(shape) of \(dtype)")
            }
            guard offsets[1] <= dataSize else {
                throw ModelError.format("tensor \(name): data_offsets end \(offsets[1]) beyond the \(dataSize) data bytes: the file is truncated")
            }
            var values = [Float](repeating: 0, count: count)
            let base = headerEnd + offsets[0]
            for i in 0..<count {
                let o = base + i * width
                switch dtype {
                case "F32":
                    let bits = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
                    values[i] = Float(bitPattern: bits)
                case "F16":
                    let bits = UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8
                    values[i] = Float(Float16(bitPattern: bits))
                default:
                    let bits = UInt32(bytes[o]) << 16 | UInt32(bytes[o + 1]) << 24
                    values[i] = Float(bitPattern: bits)
                }
            }
            tensors[name] = SafetensorsTensor(shape: shape, values: values)
        }
        return (tensors, metadata)
    }

    /// Serialises tensors (as `F32`, or `F16` for names in `halfPrecision`) in the given order with metadata.
    public static func write(tensors: [(String, SafetensorsTensor)], metadata: [String: String], halfPrecision: Set<String> = []) throws -> Data {
        var entries: [String] = []
        var payload = Data()
        if !metadata.isEmpty {
            let meta = try JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])
            entries.append("\"__metadata__\":" + String(decoding: meta, as: UTF8.self))
        }
        for (name, tensor) in tensors {
            let start = payload.count
            let half = halfPrecision.contains(name)
            if half {
                var raw = [UInt8]()
                raw.reserveCapacity(tensor.values.count * 2)
                for v in tensor.values {
                    let bits = Float16(v).bitPattern
                    raw.append(UInt8(bits & 0xFF))
                    raw.append(UInt8(bits >> 8))
                }
                payload.append(contentsOf: raw)
            } else {
                var raw = [UInt8]()
                raw.reserveCapacity(tensor.values.count * 4)
                for v in tensor.values {
                    let bits = v.bitPattern
                    raw.append(UInt8(bits & 0xFF))
                    raw.append(UInt8((bits >> 8) & 0xFF))
                    raw.append(UInt8((bits >> 16) & 0xFF))
                    raw.append(UInt8(bits >> 24))
                }
                payload.append(contentsOf: raw)
            }
            let nameJSON = String(decoding: try JSONSerialization.data(withJSONObject: [name], options: []), as: UTF8.self).dropFirst().dropLast()
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append("\(nameJSON):{\"dtype\":\"\(half ? "F16" : "F32")\",\"shape\":[\(shape)],\"data_offsets\":[\(start),\(payload.count)]}")
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out = Data()
        var length = UInt64(header.count)
        for _ in 0..<8 {
            out.append(UInt8(length & 0xFF))
            length >>= 8
        }
        out.append(contentsOf: header)
        out.append(payload)
        return out
    }
}

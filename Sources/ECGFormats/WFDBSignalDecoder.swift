import ECGCore

/// Decoding of the WFDB binary signal formats into digital sample values.
///
/// Samples are "flat": all samples of a frame, of every signal stored in the file, one after
/// the other. Format 8 yields first differences; `WFDBReader` integrates them per signal.
public enum WFDBSignalDecoder {
    /// The binary formats this decoder reads.
    public static let supportedFormats: Set<Int> = [8, 16, 61, 80, 160, 212, 310, 311, 24, 32]

    /// The FLAC-compressed formats (recognised, not decoded).
    public static let flacFormats: Set<Int> = [508, 516, 524]

    /// The digital value WFDB uses for an invalid (missing) sample in `format`.
    public static func invalidValue(format: Int) -> Int32 {
        switch format {
        case 8, 80: -128
        case 212: -2048
        case 310, 311: -512
        case 24: -8_388_608
        case 32: Int32.min
        default: -32768
        }
    }

    /// How many flat samples `byteCount` bytes of `format` hold (partial trailing groups included
    /// where they hold whole samples).
    public static func sampleCapacity(format: Int, byteCount: Int) -> Int {
        guard byteCount > 0 else { return 0 }
        switch format {
        case 8, 80: return byteCount
        case 16, 61, 160: return byteCount / 2
        case 24: return byteCount / 3
        case 32: return byteCount / 4
        case 212: return (byteCount / 3) * 2 + (byteCount % 3 >= 2 ? 1 : 0)
        case 310: return (byteCount / 4) * 3 + (byteCount % 4 >= 2 ? 1 : 0)
        case 311:
            let r = byteCount % 4
            return (byteCount / 4) * 3 + (r >= 2 ? 1 : 0) + (r >= 3 ? 1 : 0)
        default: return 0
        }
    }

    /// Decodes the first `count` flat samples of `bytes` in `format` into `out` (which must hold
    /// `count` values). Throws when the format is unknown or the bytes hold fewer samples.
    public static func decode(
        _ bytes: UnsafeBufferPointer<UInt8>, format: Int, count: Int, into out: UnsafeMutableBufferPointer<Int32>, file: String = "<signal>"
    ) throws {
        guard supportedFormats.contains(format) else {
            throw ECGFileError(file: file, problem: "unknown WFDB signal format \(format)")
        }
        guard count >= 0, count <= out.count, count <= sampleCapacity(format: format, byteCount: bytes.count) else {
            throw ECGFileError(file: file, problem: "holds fewer than the \(count) samples needed (format \(format), \(bytes.count) bytes)")
        }
        guard count > 0, let src = bytes.baseAddress, let dst = out.baseAddress else { return }
        switch format {
        case 8:
            for k in 0..<count { dst[k] = Int32(Int8(bitPattern: src[k])) }
        case 80:
            for k in 0..<count { dst[k] = Int32(src[k]) - 128 }
        case 16:
            for k in 0..<count {
                dst[k] = Int32(Int16(bitPattern: UInt16(src[2 * k]) | (UInt16(src[2 * k + 1]) << 8)))
            }
        case 61:
            for k in 0..<count {
                dst[k] = Int32(Int16(bitPattern: (UInt16(src[2 * k]) << 8) | UInt16(src[2 * k + 1])))
            }
        case 160:
            for k in 0..<count {
                dst[k] = Int32(UInt16(src[2 * k]) | (UInt16(src[2 * k + 1]) << 8)) - 32768
            }
        case 24:
            for k in 0..<count {
                let p = 3 * k
                let u = UInt32(src[p]) | (UInt32(src[p + 1]) << 8) | (UInt32(src[p + 2]) << 16)
                dst[k] = Int32(bitPattern: u << 8) >> 8
            }
        case 32:
            for k in 0..<count {
                let p = 4 * k
                let u = UInt32(src[p]) | (UInt32(src[p + 1]) << 8) | (UInt32(src[p + 2]) << 16) | (UInt32(src[p + 3]) << 24)
                dst[k] = Int32(bitPattern: u)
            }
        case 212:
            var k = 0
            var p = 0
            while k + 1 < count {
                let b0 = UInt32(src[p]), b1 = UInt32(src[p + 1]), b2 = UInt32(src[p + 2])
                dst[k] = signExtend(b0 | ((b1 & 0x0F) << 8), bits: 12)
                dst[k + 1] = signExtend(b2 | ((b1 & 0xF0) << 4), bits: 12)
                k += 2
                p += 3
            }
            if k < count {
                dst[k] = signExtend(UInt32(src[p]) | ((UInt32(src[p + 1]) & 0x0F) << 8), bits: 12)
            }
        case 310:
            var k = 0
            var p = 0
            while k < count {
                let w0 = UInt32(src[p]) | (UInt32(src[p + 1]) << 8)
                dst[k] = signExtend((w0 >> 1) & 0x3FF, bits: 10)
                if k + 1 < count {
                    let w1 = UInt32(src[p + 2]) | (UInt32(src[p + 3]) << 8)
                    dst[k + 1] = signExtend((w1 >> 1) & 0x3FF, bits: 10)
                    if k + 2 < count {
                        dst[k + 2] = signExtend(((w0 >> 11) & 0x1F) | (((w1 >> 11) & 0x1F) << 5), bits: 10)
                    }
                }
                k += 3
                p += 4
            }
        case 311:
            var k = 0
            var p = 0
            while k < count {
                let avail = min(4, bytes.count - p)
                var w: UInt32 = 0
                for j in 0..<avail { w |= UInt32(src[p + j]) << (8 * UInt32(j)) }
                dst[k] = signExtend(w & 0x3FF, bits: 10)
                if k + 1 < count { dst[k + 1] = signExtend((w >> 10) & 0x3FF, bits: 10) }
                if k + 2 < count { dst[k + 2] = signExtend((w >> 20) & 0x3FF, bits: 10) }
                k += 3
                p += 4
            }
        default:
            break
        }
    }

    @inline(__always)
    private static func signExtend(_ value: UInt32, bits: UInt32) -> Int32 {
        let shift = 32 - bits
        return Int32(bitPattern: value << shift) >> Int32(shift)
    }
}

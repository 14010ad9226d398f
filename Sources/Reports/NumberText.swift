/// Fast fixed-point formatting of numbers (Foundation's `String(format:)` dominated the profile of
/// a batch: thousands of cells per record).
public enum NumberText {
    /// `value` with exactly `decimals` decimals (0…9), rounded half away from zero; `-0` is `0`.
    /// Non-finite values give `nan`, `inf` or `-inf`.
    public static func fixed(_ value: Double, _ decimals: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        append(value, decimals: decimals, trimZeros: false, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `value` with at most `decimals` decimals, trailing zeros (and a bare `.`) removed.
    public static func trimmed(_ value: Double, _ decimals: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        append(value, decimals: decimals, trimZeros: true, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static let powers: [Double] = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]

    /// Appends the formatted value as ASCII.
    public static func append(_ value: Double, decimals requested: Int, trimZeros: Bool, to bytes: inout [UInt8]) {
        guard value.isFinite else {
            bytes.append(contentsOf: value.isNaN ? Array("nan".utf8) : value < 0 ? Array("-inf".utf8) : Array("inf".utf8))
            return
        }
        let decimals = min(max(requested, 0), 9)
        let scale = powers[decimals]
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9e18 else {
            // Too large for fixed point: fall back to the shortest representation.
            bytes.append(contentsOf: Array(String(value).utf8))
            return
        }
        var units = UInt64(scaled)
        var fraction = [UInt8](repeating: UInt8(ascii: "0"), count: decimals)
        var k = decimals - 1
        while k >= 0 {
            fraction[k] = UInt8(ascii: "0") + UInt8(units % 10)
            units /= 10
            k -= 1
        }
        if trimZeros {
            while let last = fraction.last, last == UInt8(ascii: "0") { fraction.removeLast() }
        }
        let isZero = units == 0 && fraction.allSatisfy { $0 == UInt8(ascii: "0") } && scaled == 0
        if value < 0 && !isZero { bytes.append(UInt8(ascii: "-")) }
        // Integer part.
        var digits: [UInt8] = []
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(units % 10))
            units /= 10
        } while units > 0
        bytes.append(contentsOf: digits.reversed())
        if !fraction.isEmpty {
            bytes.append(UInt8(ascii: "."))
            bytes.append(contentsOf: fraction)
        }
    }
}

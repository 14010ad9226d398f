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

    /// Appends the formatted value as ASCII (no intermediate allocation).
    public static func append(_ value: Double, decimals requested: Int, trimZeros: Bool, to bytes: inout [UInt8]) {
        guard value.isFinite else {
            bytes.append(contentsOf: value.isNaN ? Array("nan".utf8) : value < 0 ? Array("-inf".utf8) : Array("inf".utf8))
            return
        }
        var decimals = min(max(requested, 0), 9)
        let scaled = (abs(value) * powers[decimals]).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9e18 else {
            // Too large for fixed point: the shortest representation.
            bytes.append(contentsOf: Array(String(value).utf8))
            return
        }
        var units = UInt64(scaled)
        if trimZeros {
            while decimals > 0 && units % 10 == 0 {
                units /= 10
                decimals -= 1
            }
        }
        if value < 0 && units != 0 { bytes.append(UInt8(ascii: "-")) }
        // Digits, most significant first, with the point `decimals` from the end.
        var divisor: UInt64 = 1
        var digits = 1
        while divisor <= units / 10 {
            divisor *= 10
            digits += 1
        }
        // Leading zeros so that there is at least one integer digit.
        var total = max(digits, decimals + 1)
        while total > digits {
            bytes.append(UInt8(ascii: "0"))
            total -= 1
            if total == decimals && decimals > 0 { bytes.append(UInt8(ascii: ".")) }
        }
        var rest = units
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
            total -= 1
            if total == decimals && decimals > 0 && divisor > 0 { bytes.append(UInt8(ascii: ".")) }
        }
    }
}

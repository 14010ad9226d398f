import Foundation

/// One strip of an ECG plot: a lead's samples and the text printed over it.
public struct PlotStrip: Sendable {
    /// The lead's name (`V1`).
    public var lead: String
    /// Samples in the record's units.
    public var samples: [Float]
    /// Millivolts per unit, `nil` when the units are not a voltage (PTB-XL's normalised units).
    public var millivoltsPerUnit: Float?
    /// Text after the lead name, e.g. `CLBBB 0.82 · LAD 0.10` or `unusable: flat line`.
    public var caption: String
    /// Drawn in grey when the lead could not be analysed.
    public var isUsable: Bool

    public init(lead: String, samples: [Float], millivoltsPerUnit: Float?, caption: String, isUsable: Bool) {
        self.lead = lead
        self.samples = samples
        self.millivoltsPerUnit = millivoltsPerUnit
        self.caption = caption
        self.isUsable = isUsable
    }
}

/// Inline SVG of an ECG on the standard grid: 25 mm/s, 10 mm/mV, 1 mm minor and 5 mm major
/// lines, a 1 mV calibration pulse, one strip per lead. The SVG's user unit is the millimetre and
/// its size is given in `mm`, so it prints at true scale.
///
/// Signals whose units are not a voltage are drawn at 4 mm per unit with the pulse marked
/// "1 unit" (the z-scored PTB-XL copies). All text in the SVG is HTML-escaped here; the output is
/// meant for a triple-mustache slot.
public struct ECGPlot: Sendable {
    /// Paper speed, mm/s.
    public var speed: Double = 25
    /// Gain, mm/mV.
    public var gain: Double = 10
    /// Gain for non-voltage units, mm/unit.
    public var unitGain: Double = 4
    /// Horizontal resolution of the trace, mm (samples closer than this are reduced to min/max).
    public var resolution: Double = 0.25

    public init() {}

    static let leftMargin = 10.0

    /// The SVG for `strips` sampled at `samplingRate`.
    public func svg(strips: [PlotStrip], samplingRate: Double) -> String {
        let samples = strips.map(\.samples.count).max() ?? 0
        let seconds = samplingRate > 0 ? Double(samples) / samplingRate : 0
        let width = Self.leftMargin + max(ceil(seconds * speed / 5) * 5, 5)
        var layouts: [(top: Double, height: Double, mid: Double, gain: Double)] = []
        var top = 0.0
        for strip in strips {
            let g = strip.millivoltsPerUnit.map { gain * Double($0) } ?? unitGain
            let (lo, hi) = Self.robustRange(strip.samples)
            let span = (hi - lo) * g
            let height = min(max(ceil((span + 8) / 5) * 5, 20), 45)
            layouts.append((top, height, (lo + hi) / 2, g))
            top += height
        }
        let height = max(top, 5)
        // Built as bytes and decoded once: the traces are most of the text.
        var out: [UInt8] = []
        out.reserveCapacity(strips.count * 12_000)
        func put(_ text: String) { out.append(contentsOf: text.utf8) }
        put("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ecg\" width=\"\(f(width))mm\" height=\"\(f(height))mm\" viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" aria-label=\"ECG, 25 mm/s, 10 mm/mV\">")
        put("<defs><pattern id=\"grid\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\">")
        put("<path d=\"M1 0V5M2 0V5M3 0V5M4 0V5M0 1H5M0 2H5M0 3H5M0 4H5\" stroke=\"#f4c7c7\" stroke-width=\"0.08\"/>")
        put("<path d=\"M0 0V5M0 0H5\" stroke=\"#e58f8f\" stroke-width=\"0.18\"/></pattern></defs>")
        put("<rect x=\"0\" y=\"0\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"#fff\"/>")
        put("<rect x=\"0\" y=\"0\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"url(#grid)\"/>")
        for (index, strip) in strips.enumerated() {
            let layout = layouts[index]
            let baseline = layout.top + layout.height / 2 + 2
            // Calibration pulse: 1 mV (or 1 unit) high, 0.2 s wide.
            let pulse = strip.millivoltsPerUnit == nil ? unitGain : gain
            put("<path d=\"M1 \(f(baseline))H3V\(f(baseline - pulse))H8V\(f(baseline))H9.5\" fill=\"none\" stroke=\"#000\" stroke-width=\"0.25\"/>")
            put("<clipPath id=\"c\(index)\"><rect x=\"\(f(Self.leftMargin))\" y=\"\(f(layout.top))\" width=\"\(f(width - Self.leftMargin))\" height=\"\(f(layout.height))\"/></clipPath>")
            let color = strip.isUsable ? "#000" : "#999"
            put("<g clip-path=\"url(#c\(index))\"><path transform=\"scale(0.1)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"3\" stroke-linejoin=\"round\" d=\"")
            appendTrace(strip.samples, samplingRate: samplingRate, baseline: baseline, mid: layout.mid, gain: layout.gain, into: &out)
            put("\"/></g>")
            let caption = strip.caption.isEmpty ? "" : " — " + strip.caption
            put("<text x=\"\(f(Self.leftMargin + 1))\" y=\"\(f(layout.top + 3.5))\" font-size=\"3\" font-family=\"sans-serif\" fill=\"#0b3d91\"><tspan font-weight=\"bold\">\(HTML.escape(strip.lead))</tspan>\(HTML.escape(caption))</text>")
            if index > 0 {
                put("<path d=\"M0 \(f(layout.top))H\(f(width))\" stroke=\"#c66\" stroke-width=\"0.3\"/>")
            }
        }
        put("</svg>")
        return String(decoding: out, as: UTF8.self)
    }

    /// The smallest and largest finite sample (0, 0 when none).
    static func robustRange(_ samples: [Float]) -> (Double, Double) {
        var lo = Float.infinity
        var hi = -Float.infinity
        for v in samples where v.isFinite {
            lo = min(lo, v)
            hi = max(hi, v)
        }
        return lo <= hi ? (Double(lo), Double(hi)) : (0, 0)
    }

    /// Appends the trace as path data in tenths of a millimetre (the path sits in a
    /// `scale(0.1)` group): `M x y` then relative `l dx dy` steps, all integers, so that the
    /// text stays short and fast to write. Invalid samples break the line. Columns narrower than
    /// `resolution` keep their minimum and maximum, so QRS peaks survive the reduction.
    func appendTrace(_ samples: [Float], samplingRate: Double, baseline: Double, mid: Double, gain: Double, into out: inout String) {
        var bytes: [UInt8] = []
        appendTrace(samples, samplingRate: samplingRate, baseline: baseline, mid: mid, gain: gain, into: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// `appendTrace` into a byte buffer (ASCII path data).
    func appendTrace(_ samples: [Float], samplingRate: Double, baseline: Double, mid: Double, gain: Double, into out: inout [UInt8]) {
        guard samplingRate > 0, !samples.isEmpty else { return }
        var writer = PathWriter(bytes: out)
        out = []
        let tenthsPerSample = speed / samplingRate * 10
        let perColumn = max(1, Int((resolution / (speed / samplingRate)).rounded(.down)))
        let left = Self.leftMargin * 10
        let base = baseline * 10
        let g = gain * 10
        samples.withUnsafeBufferPointer { s in
            @inline(__always) func x(_ index: Int) -> Int { Int((left + Double(index) * tenthsPerSample).rounded()) }
            @inline(__always) func y(_ value: Float) -> Int {
                let v = (base - (Double(value) - mid) * g).rounded()
                return Int(max(min(v, 1e7), -1e7))
            }
            var start = 0
            while start < s.count {
                let end = min(start + perColumn, s.count)
                if perColumn == 1 {
                    let v = s[start]
                    if v.isFinite { writer.point(x(start), y(v)) } else { writer.penDown = false }
                } else {
                    var minIndex = -1
                    var maxIndex = -1
                    for k in start..<end where s[k].isFinite {
                        if minIndex < 0 || s[k] < s[minIndex] { minIndex = k }
                        if maxIndex < 0 || s[k] > s[maxIndex] { maxIndex = k }
                    }
                    if minIndex < 0 {
                        writer.penDown = false
                    } else if minIndex == maxIndex {
                        writer.point(x(minIndex), y(s[minIndex]))
                    } else {
                        let first = min(minIndex, maxIndex)
                        let second = max(minIndex, maxIndex)
                        writer.point(x(first), y(s[first]))
                        writer.point(x(second), y(s[second]))
                    }
                }
                start = end
            }
        }
        out = writer.bytes
    }

    /// Path data written as ASCII bytes: absolute `M` after a break, relative `l` otherwise.
    struct PathWriter {
        var bytes: [UInt8] = []
        var penDown = false
        var lastX = 0
        var lastY = 0

        init(capacity: Int) { bytes.reserveCapacity(capacity) }

        /// Continues writing after `bytes` (pen up).
        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func point(_ x: Int, _ y: Int) {
            if penDown {
                bytes.append(UInt8(ascii: "l"))
                ECGPlot.appendInteger(x - lastX, to: &bytes)
                bytes.append(UInt8(ascii: " "))
                ECGPlot.appendInteger(y - lastY, to: &bytes)
            } else {
                bytes.append(UInt8(ascii: "M"))
                ECGPlot.appendInteger(x, to: &bytes)
                bytes.append(UInt8(ascii: " "))
                ECGPlot.appendInteger(y, to: &bytes)
            }
            lastX = x
            lastY = y
            penDown = true
        }
    }

    /// Appends a decimal integer as ASCII.
    static func appendInteger(_ value: Int, to bytes: inout [UInt8]) {
        var v = value
        if v < 0 {
            bytes.append(UInt8(ascii: "-"))
            v = -v
        }
        if v < 10 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(v))
            return
        }
        var divisor = 1
        while divisor <= v / 10 { divisor *= 10 }
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(v / divisor))
            v %= divisor
            divisor /= 10
        }
    }

    /// Appends `value` with one decimal and no trailing `.0` as ASCII.
    static func appendDecimal(_ value: Double, to bytes: inout [UInt8]) {
        let scaled = (value * 10).rounded()
        guard scaled.isFinite, abs(scaled) < 1e12 else {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        var integer = Int(scaled)
        if integer < 0 {
            bytes.append(UInt8(ascii: "-"))
            integer = -integer
        }
        let whole = integer / 10
        let fraction = integer % 10
        if whole == 0 {
            bytes.append(UInt8(ascii: "0"))
        } else {
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var count = 0
            var rest = whole
            withUnsafeMutableBytes(of: &digits) { buffer in
                while rest > 0 && count < 13 {
                    buffer[count] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                    count += 1
                }
                for k in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[k]) }
            }
        }
        if fraction != 0 {
            bytes.append(UInt8(ascii: "."))
            bytes.append(UInt8(ascii: "0") + UInt8(fraction))
        }
    }

    /// One decimal, no trailing `.0`.
    func f(_ value: Double) -> String {
        var bytes: [UInt8] = []
        Self.appendDecimal(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// HTML escaping for text that is placed into markup outside Mustache.
public enum HTML {
    /// `text` with `& < > " '` replaced by entities.
    public static func escape(_ text: String) -> String {
        // Most texts need nothing: one pass over the bytes, no copy.
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

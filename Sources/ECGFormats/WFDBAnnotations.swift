import ECGCore
import Foundation

/// One annotation of a WFDB annotation file.
public struct WFDBAnnotation: Sendable, Hashable {
    /// Sample index (at the record's frame rate) the annotation refers to.
    public var sample: Int
    /// The WFDB annotation code (1 = `N`, 24 = `p`, 27 = `t`, 39 = `(`, 40 = `)` …).
    public var code: Int
    /// The mnemonic (`N`, `V`, `p`, `t`, `(`, `)`, `+` …).
    public var symbol: String
    /// The `subtyp`, `chan` and `num` fields.
    public var subtype: Int
    public var channel: Int
    public var number: Int
    /// The auxiliary text (rhythm labels such as `(N`), when present.
    public var aux: String?

    /// An annotation from its fields.
    public init(sample: Int, code: Int, symbol: String, subtype: Int = 0, channel: Int = 0, number: Int = 0, aux: String? = nil) {
        self.sample = sample
        self.code = code
        self.symbol = symbol
        self.subtype = subtype
        self.channel = channel
        self.number = number
        self.aux = aux
    }

    /// Whether this annotation marks a heart beat (the beat codes of WFDB's `isqrs`:
    /// N L R B A a J S V r F e j n E / f Q ?).
    public var isBeat: Bool { WFDBAnnotations.beatSymbols.contains(symbol) }
}


/// Reader for WFDB annotation files in MIT format (`100.atr`, LUDB's per-lead `1.ii` …).
public enum WFDBAnnotations {
    /// WFDB mnemonics indexed by annotation code (0…49).
    public static let symbols: [String] = [
        " ", "N", "L", "R", "a", "V", "F", "J", "A", "S", "E", "j", "/", "Q", "~", "[15]", "|", "[17]", "s", "T",
        "*", "D", "\"", "=", "p", "B", "^", "t", "+", "u", "?", "!", "[", "]", "e", "n", "@", "x", "f", "(",
        ")", "r", "[42]", "[43]", "[44]", "[45]", "[46]", "[47]", "[48]", "[49]",
    ]

    /// The beat mnemonics.
    public static let beatSymbols: Set<String> = ["N", "L", "R", "B", "A", "a", "J", "S", "V", "r", "F", "e", "j", "n", "E", "/", "f", "Q", "?"]

    /// Reads an annotation file. Throws `ECGFileError` naming the file on a truncated or malformed file.
    public static func read(_ url: URL) throws -> [WFDBAnnotation] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ECGFileError(file: url.path, problem: "cannot read the annotation file: \(error.localizedDescription)")
        }
        return try parse(data, file: url.path)
    }

    /// Parses MIT-format annotation bytes (`file` names the source in errors).
    public static func parse(_ data: Data, file: String = "<annotations>") throws -> [WFDBAnnotation] {
        let bytes = [UInt8](data)
        var result: [WFDBAnnotation] = []
        var position = 0
        var time = 0
        var subtype = 0
        var channel = 0
        var number = 0
        func word(_ at: Int) throws -> (code: Int, value: Int) {
            guard at + 1 < bytes.count else {
                throw ECGFileError(file: file, problem: "annotation file truncated at byte \(at)")
            }
            let w = Int(bytes[at]) | (Int(bytes[at + 1]) << 8)
            return (w >> 10, w & 0x3FF)
        }
        while position + 1 < bytes.count {
            let (code, value) = try word(position)
            position += 2
            switch code {
            case 0 where value == 0:
                return result  // end of file
            case 59:  // SKIP: a 32-bit interval follows (high word first, each word little-endian)
                guard position + 3 < bytes.count else {
                    throw ECGFileError(file: file, problem: "annotation file truncated in a SKIP at byte \(position)")
                }
                let high = Int(bytes[position]) | (Int(bytes[position + 1]) << 8)
                let low = Int(bytes[position + 2]) | (Int(bytes[position + 3]) << 8)
                time += Int(Int32(bitPattern: UInt32(high << 16 | low)))
                position += 4
            case 60: number = value > 511 ? value - 1024 : value
            case 61: subtype = value > 511 ? value - 1024 : value
            case 62: channel = value
            case 63:  // AUX: `value` bytes of text, padded to an even count, for the last annotation
                guard position + value <= bytes.count else {
                    throw ECGFileError(file: file, problem: "annotation file truncated in an AUX string at byte \(position)")
                }
                var text = bytes[position..<(position + value)]
                if let nul = text.firstIndex(of: 0) { text = text[..<nul] }
                if !result.isEmpty { result[result.count - 1].aux = String(decoding: text, as: UTF8.self) }
                position += value + (value & 1)
            default:
                time += value
                let symbol = code < symbols.count ? symbols[code] : "[\(code)]"
                result.append(WFDBAnnotation(sample: time, code: code, symbol: symbol, subtype: subtype, channel: channel, number: number))
                subtype = 0
            }
        }
        return result
    }

    /// Groups `(`, peak, `)` triples into waves. A peak without a bracket on one side gets `nil` there.
    public static func waves(_ annotations: [WFDBAnnotation]) -> [AnnotatedWave] {
        var waves: [AnnotatedWave] = []
        var pendingOnset: Int?
        var current: AnnotatedWave?
        for a in annotations {
            switch a.symbol {
            case "(":
                if let c = current { waves.append(c) }
                current = nil
                pendingOnset = a.sample
            case ")":
                if var c = current {
                    c.offset = a.sample
                    waves.append(c)
                    current = nil
                }
                pendingOnset = nil
            default:
                if let c = current { waves.append(c) }
                current = AnnotatedWave(kind: a.symbol, onset: pendingOnset, peak: a.sample, offset: nil)
                pendingOnset = nil
            }
        }
        if let c = current { waves.append(c) }
        return waves
    }
}

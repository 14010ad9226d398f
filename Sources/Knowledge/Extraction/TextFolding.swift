import Foundation

/// Case and diacritics folding of report text into ASCII token bytes (`Ö` → `o`, `ß` → `ss`,
/// `æ` → `ae`), and the tokenizer shared by the lexicon compiler and the extractor.
///
/// Character offsets count Unicode scalars, except that combining marks (U+0300–U+036F …) and the
/// LF of a CR LF pair add nothing, so they equal `Character` offsets for report text.
struct TextFolder: Sendable {
    /// Folded bytes for the scalars U+0080…U+024F (index scalar − 0x80); empty = separator.
    private let latin: [[UInt8]]

    init() {
        var table: [[UInt8]] = []
        table.reserveCapacity(0x250 - 0x80)
        let manual: [UInt32: String] = [
            0xC6: "ae", 0xE6: "ae", 0xD8: "o", 0xF8: "o", 0x141: "l", 0x142: "l", 0x152: "oe", 0x153: "oe",
            0xD0: "d", 0xF0: "d", 0x110: "d", 0x111: "d", 0xDE: "th", 0xFE: "th", 0xDF: "ss", 0x131: "i",
        ]
        for value in UInt32(0x80)..<UInt32(0x250) {
            guard let scalar = Unicode.Scalar(value) else {
                table.append([])
                continue
            }
            if let text = manual[value] {
                table.append(Array(text.utf8))
                continue
            }
            guard scalar.properties.isAlphabetic else {
                table.append([])
                continue
            }
            let folded = String(Character(scalar)).folding(options: [.diacriticInsensitive, .caseInsensitive], locale: nil)
            let bytes = Array(folded.utf8).filter { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) }
            table.append(bytes.isEmpty ? [0x7F] : bytes)  // 0x7F: a letter kept as an opaque token byte
        }
        latin = table
    }

    /// What a scalar contributes: token bytes, or one of the separator kinds.
    enum Piece {
        case ascii(UInt8)
        case folded([UInt8])
        case combining
        case separator(UInt32)
    }

    @inline(__always)
    func piece(_ value: UInt32) -> Piece {
        if value < 0x80 {
            let byte = UInt8(value)
            if byte >= 97 && byte <= 122 || byte >= 48 && byte <= 57 { return .ascii(byte) }
            if byte >= 65 && byte <= 90 { return .ascii(byte + 32) }
            return .separator(value)
        }
        if value < 0x250 {
            let bytes = latin[Int(value) - 0x80]
            return bytes.isEmpty ? .separator(value) : .folded(bytes)
        }
        if (0x300...0x36F).contains(value) || (0x1AB0...0x1AFF).contains(value) || (0x1DC0...0x1DFF).contains(value)
            || (0x20D0...0x20FF).contains(value) || (0xFE20...0xFE2F).contains(value)
        {
            return .combining
        }
        if let scalar = Unicode.Scalar(value), scalar.properties.isAlphabetic { return .ascii(0x7F) }
        return .separator(value)
    }

    /// The folded tokens of a lexicon phrase (not the hot path).
    func tokens(of phrase: String) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var current: [UInt8] = []
        for scalar in phrase.unicodeScalars {
            switch piece(scalar.value) {
            case .ascii(let byte): current.append(byte)
            case .folded(let bytes): current.append(contentsOf: bytes)
            case .combining: break
            case .separator:
                if !current.isEmpty {
                    result.append(current)
                    current.removeAll()
                }
            }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }
}

/// German umlaut transliterations (`ä` → `ae`) of a phrase, so that `ueberdrehter` matches `überdrehter`.
func umlautTransliteration(_ phrase: String) -> String? {
    var changed = false
    var result = ""
    for character in phrase {
        switch character {
        case "ä": result += "ae"; changed = true
        case "ö": result += "oe"; changed = true
        case "ü": result += "ue"; changed = true
        case "Ä": result += "Ae"; changed = true
        case "Ö": result += "Oe"; changed = true
        case "Ü": result += "Ue"; changed = true
        default: result.append(character)
        }
    }
    return changed ? result : nil
}

/// An open-addressing hash table from token bytes to token ids, looked up without allocating.
struct TokenTable: Sendable {
    private var slots: [Int32]  // token id or -1
    private var offsets: [Int32]  // per token id: start in `arena`
    private var lengths: [UInt8]
    private var arena: [UInt8]
    private var mask: Int

    init(capacity: Int) {
        var size = 64
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        offsets = []
        lengths = []
        arena = []
        mask = size - 1
    }

    var count: Int { offsets.count }

    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01B3
        }
        return Int(truncatingIfNeeded: value ^ (value >> 29))
    }

    /// The id of `bytes`, or -1.
    @inline(__always)
    func lookup(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        var slot = TokenTable.hash(bytes) & mask
        while true {
            let id = slots[slot]
            if id < 0 { return -1 }
            if Int(lengths[Int(id)]) == bytes.count {
                let start = Int(offsets[Int(id)])
                var equal = true
                for offset in 0..<bytes.count where arena[start + offset] != bytes[offset] {
                    equal = false
                    break
                }
                if equal { return id }
            }
            slot = (slot + 1) & mask
        }
    }

    func lookup(_ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBufferPointer { lookup($0) }
    }

    /// The id of `bytes`, inserting it when new (tokens longer than 255 bytes are not stored).
    mutating func insert(_ bytes: [UInt8]) -> Int32 {
        let existing = lookup(bytes)
        if existing >= 0 { return existing }
        precondition(bytes.count < 256, "lexicon token too long")
        if (offsets.count + 1) * 2 > slots.count { grow() }
        let id = Int32(offsets.count)
        offsets.append(Int32(arena.count))
        lengths.append(UInt8(bytes.count))
        arena.append(contentsOf: bytes)
        place(id, bytes)
        return id
    }

    private mutating func place(_ id: Int32, _ bytes: [UInt8]) {
        var slot = bytes.withUnsafeBufferPointer { TokenTable.hash($0) } & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = id
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        for id in 0..<offsets.count {
            let start = Int(offsets[id])
            place(Int32(id), Array(arena[start..<start + Int(lengths[id])]))
        }
    }
}

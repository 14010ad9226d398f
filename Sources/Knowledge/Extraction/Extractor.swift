import ECGCore

/// Finds the ontology's concepts in free-text ECG reports (English, German, Swedish) with their
/// assertion (present, negated, uncertain, historical) and attributes (leads, location, severity, acuity).
///
/// Deterministic and fast: the synonyms of the concepts and the context phrases are compiled once
/// into a trie over folded tokens (case and diacritics folded, `ü` also as `ue`); a report is
/// tokenized in one pass over its UTF-8 bytes and matched longest-first on token boundaries. No
/// regular expressions, no per-token `String`s.
public struct Extractor: Sendable {
    let lexicon: CompiledLexicon

    /// Compiles the lexicon of `concepts` (labels and synonyms) with the built-in context rules.
    public init(concepts: [Concept]) {
        lexicon = CompiledLexicon(concepts: concepts)
    }

    /// The ids of the concepts this extractor can find, in the order given to `init`.
    public var conceptIDs: [String] { lexicon.conceptIDs }

    /// The mentions in `text`, in text order. `start`/`end` are character offsets into `text`.
    public func extract(_ text: String) -> [Mention] {
        var copy = text
        return copy.withUTF8 { bytes in extract(utf8: bytes) }
    }

    /// The mentions in UTF-8 `bytes` (invalid sequences count as one separator character each).
    public func extract(utf8 bytes: UnsafeBufferPointer<UInt8>) -> [Mention] {
        let tokens = lexicon.tokenize(bytes)
        if tokens.isEmpty { return [] }
        let items = lexicon.match(tokens)
        return lexicon.resolve(tokens: tokens, items: items)
    }
}

/// One token of a report: its lexicon id (or -1), character span and the separators before it.
struct Token {
    var id: Int32
    var start: Int32
    var end: Int32
    var flags: UInt8
    /// Index of the clause (sentence) the token is in.
    var clause: Int32

    static let boundaryBefore: UInt8 = 1
    static let commaBefore: UInt8 = 2
    static let hyphenBefore: UInt8 = 4
    static let joinBefore: UInt8 = 8  // `&`, `/`, `+`
}

/// A lexicon match: a concept mention or a context cue, over tokens `start..<end`.
struct Item {
    var entry: Int32
    var start: Int32
    var end: Int32
    /// A severity or acuity word skipped inside the phrase (`t waves are slightly inverted`,
    /// `inferiorer chronischer infarkt`), or -1.
    var skippedSeverity: Int32
}

/// What a lexicon phrase stands for.
enum LexiconEntry: Sendable {
    /// A concept (index into `conceptIDs`), with the location and severity words inside the phrase.
    case concept(Int32, location: String?, severity: String?)
    case cue(Cue)
    /// Several cues on one phrase (e.g. `möglich` before and after), merged to `both` directions.
}

/// Per-token-id roles used outside the trie.
struct TokenInfo: Sendable {
    var lead: Int8 = -1  // StandardLead raw value
    var number: Int8 = 0  // 1…6 for V-lead continuations
    var isF = false  // `f` in `ii, iii, f`
    var isConjunction = false
    var isAbbreviation = false
    var isLeadIntroducer = false
    var isRangeWord = false  // `to`, `bis`
    var severity: String? = nil  // single-word severity that may be skipped inside a phrase
    var acuity: String? = nil  // single-word acuity that may be skipped inside a phrase (`inferiorer chronischer infarkt`)
}

/// The compiled lexicon: token table, trie and token roles. Immutable once built.
final class CompiledLexicon: Sendable {
    let folder: TextFolder
    let table: TokenTable
    let transitions: [UInt64: Int32]
    let nodeEntry: [Int32]
    let entries: [LexiconEntry]
    let info: [TokenInfo]
    let conceptIDs: [String]
    /// Token sequences of the location words (`inferior`, `anterolateraler` …).
    let locationPhrases: Set<[Int32]>

    init(concepts: [Concept]) {
        var table = TokenTable(capacity: 4096)
        var transitions: [UInt64: Int32] = [:]
        var nodeEntry: [Int32] = [-1]
        var entries: [LexiconEntry] = []
        var conceptIDs: [String] = []
        let folder = TextFolder()

        func tokenIDs(_ phrase: String) -> [Int32] {
            folder.tokens(of: phrase).map { table.insert($0) }
        }
        func node(for ids: [Int32]) -> Int {
            var current = 0
            for id in ids {
                let key = UInt64(current) << 32 | UInt64(UInt32(bitPattern: id))
                if let next = transitions[key] {
                    current = Int(next)
                } else {
                    nodeEntry.append(-1)
                    let next = nodeEntry.count - 1
                    transitions[key] = Int32(next)
                    current = next
                }
            }
            return current
        }

        // Context cues first, so that a concept phrase with the same tokens replaces the cue.
        var cueByNode: [Int: Cue] = [:]
        for (phrase, cue) in ContextLexicon.entries {
            for variant in [phrase] + (umlautTransliteration(phrase).map { [$0] } ?? []) {
                let ids = tokenIDs(variant)
                guard !ids.isEmpty else { continue }
                let target = node(for: ids)
                let merged = cueByNode[target].map { CompiledLexicon.merge($0, cue) } ?? cue
                cueByNode[target] = merged
            }
        }
        for (target, cue) in cueByNode.sorted(by: { $0.key < $1.key }) {
            entries.append(.cue(cue))
            nodeEntry[target] = Int32(entries.count - 1)
        }
        // Location and severity words inside concept phrases.
        var locationWords: [[Int32]: String] = [:]
        var severityWords: [[Int32]: String] = [:]
        var acuityWords: [[Int32]: String] = [:]
        for (phrase, cue) in ContextLexicon.entries {
            switch cue {
            case .location(let value): locationWords[tokenIDs(phrase)] = value
            case .severity(let value): severityWords[tokenIDs(phrase)] = value
            case .acuity(let value, _): acuityWords[tokenIDs(phrase)] = value
            default: break
            }
        }
        func find(_ words: [[Int32]: String], in ids: [Int32]) -> String? {
            var best: (Int, String)? = nil
            for start in ids.indices {
                for end in stride(from: ids.count, to: start, by: -1) {
                    if let value = words[Array(ids[start..<end])], best == nil || end - start > best!.0 {
                        best = (end - start, value)
                        break
                    }
                }
            }
            return best?.1
        }
        // Concept phrases: label and synonyms (plus umlaut transliterations).
        for concept in concepts {
            conceptIDs.append(concept.id)
            let index = Int32(conceptIDs.count - 1)
            var phrases = [concept.label] + concept.synonyms.map(\.text)
            phrases += phrases.compactMap(umlautTransliteration)
            for phrase in phrases {
                let ids = tokenIDs(phrase)
                guard !ids.isEmpty else { continue }
                let target = node(for: ids)
                if nodeEntry[target] >= 0, case .concept = entries[Int(nodeEntry[target])] { continue }  // first concept wins
                entries.append(.concept(index, location: find(locationWords, in: ids), severity: find(severityWords, in: ids)))
                nodeEntry[target] = Int32(entries.count - 1)
            }
        }
        // Token roles.
        var info: [TokenInfo] = []
        func role(_ word: String, _ update: (inout TokenInfo) -> Void) {
            let id = Int(table.insert(Array(word.utf8)))
            while info.count <= id { info.append(TokenInfo()) }
            update(&info[id])
        }
        for lead in StandardLead.allCases { role(lead.name.lowercased()) { $0.lead = Int8(lead.rawValue) } }
        for number in 1...6 { role(String(number)) { $0.number = Int8(number) } }
        role("f") { $0.isF = true }
        for word in ContextLexicon.conjunctionTokens { role(word) { $0.isConjunction = true } }
        for word in ContextLexicon.abbreviationTokens { role(word) { $0.isAbbreviation = true } }
        for word in ContextLexicon.leadIntroducers { role(word) { $0.isLeadIntroducer = true } }
        for word in ["to", "bis", "through", "till"] { role(word) { $0.isRangeWord = true } }
        for (ids, value) in severityWords where ids.count == 1 {
            while info.count <= Int(ids[0]) { info.append(TokenInfo()) }
            info[Int(ids[0])].severity = value
        }
        for (ids, value) in acuityWords where ids.count == 1 {
            while info.count <= Int(ids[0]) { info.append(TokenInfo()) }
            info[Int(ids[0])].acuity = value
        }
        while info.count < table.count { info.append(TokenInfo()) }

        self.locationPhrases = Set(locationWords.keys)
        self.folder = folder
        self.table = table
        self.transitions = transitions
        self.nodeEntry = nodeEntry
        self.entries = entries
        self.info = info
        self.conceptIDs = conceptIDs
    }

    /// Two cues on the same phrase: the same assertion or acuity in two directions becomes `both`;
    /// otherwise the first wins.
    static func merge(_ first: Cue, _ second: Cue) -> Cue {
        switch (first, second) {
        case (.assertion(let a, let d1), .assertion(let b, let d2)) where a == b && d1 != d2: .assertion(a, .both)
        case (.acuity(let a, let d1), .acuity(let b, let d2)) where a == b && d1 != d2: .acuity(a, .both)
        default: first
        }
    }

    // MARK: - Tokenizing

    func tokenize(_ bytes: UnsafeBufferPointer<UInt8>) -> [Token] {
        var tokens: [Token] = []
        tokens.reserveCapacity(bytes.count / 5 + 4)
        var word: [UInt8] = []
        word.reserveCapacity(64)
        var wordStart: Int32 = 0
        var characters: Int32 = 0
        var pendingFlags: UInt8 = 0
        var pendingPeriod = false
        var clause: Int32 = 0
        var previousWasCR = false
        var index = 0
        let count = bytes.count

        @inline(__always) func finishWord(end: Int32) {
            guard !word.isEmpty else { return }
            let id = word.count < 256 ? word.withUnsafeBufferPointer { table.lookup($0) } : -1
            if pendingFlags & Token.boundaryBefore != 0 { clause += 1 }
            tokens.append(Token(id: id, start: wordStart, end: end, flags: pendingFlags, clause: clause))
            pendingFlags = 0
            word.removeAll(keepingCapacity: true)
        }
        @inline(__always) func resolvePeriod(followedBySpace: Bool) {
            guard pendingPeriod else { return }
            pendingPeriod = false
            guard followedBySpace else { return }
            if let last = tokens.last, last.id >= 0, info[Int(last.id)].isAbbreviation { return }
            pendingFlags |= Token.boundaryBefore
        }

        while index < count {
            // Decode one scalar.
            let lead = bytes[index]
            var value: UInt32
            var length = 1
            if lead < 0x80 {
                value = UInt32(lead)
            } else if lead & 0xE0 == 0xC0, index + 1 < count {
                value = UInt32(lead & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F)
                length = 2
            } else if lead & 0xF0 == 0xE0, index + 2 < count {
                value = UInt32(lead & 0x0F) << 12 | UInt32(bytes[index + 1] & 0x3F) << 6 | UInt32(bytes[index + 2] & 0x3F)
                length = 3
            } else if lead & 0xF8 == 0xF0, index + 3 < count {
                value =
                    UInt32(lead & 0x07) << 18 | UInt32(bytes[index + 1] & 0x3F) << 12 | UInt32(bytes[index + 2] & 0x3F) << 6
                    | UInt32(bytes[index + 3] & 0x3F)
                length = 4
            } else {
                value = 0xFFFD
            }
            index += length
            // `#` between letters is an umlaut lost in one PTB-XL source's encoding ("f#r", "r-s #bergang"):
            // fold it to `u` like `ü`.
            if value == 0x23, index < count, bytes[index] | 0x20 >= 0x61, bytes[index] | 0x20 <= 0x7A {
                value = 0x75
            }

            switch folder.piece(value) {
            case .ascii(let byte):
                if pendingPeriod { resolvePeriod(followedBySpace: false) }
                if word.isEmpty { wordStart = characters }
                word.append(byte)
                characters += 1
                previousWasCR = false
            case .folded(let folded):
                if pendingPeriod { resolvePeriod(followedBySpace: false) }
                if word.isEmpty { wordStart = characters }
                word.append(contentsOf: folded)
                characters += 1
                previousWasCR = false
            case .combining:
                break
            case .separator(let scalar):
                finishWord(end: characters)
                if !(scalar == 10 && previousWasCR) { characters += 1 }
                previousWasCR = scalar == 13
                switch scalar {
                case 0x2E:  // .
                    if pendingPeriod { resolvePeriod(followedBySpace: true) }
                    pendingPeriod = true
                case 0x20, 0x09, 0xA0:
                    if pendingPeriod { resolvePeriod(followedBySpace: true) }
                case 10, 13, 0x3B, 0x21, 0x3F:  // newline, ; ! ?
                    pendingPeriod = false
                    pendingFlags |= Token.boundaryBefore
                case 0x3A:  // :
                    if pendingPeriod { resolvePeriod(followedBySpace: true) }
                    pendingFlags |= Token.boundaryBefore
                case 0x2C:  // ,
                    if pendingPeriod { resolvePeriod(followedBySpace: true) }
                    pendingFlags |= Token.commaBefore
                case 0x2D, 0x2010...0x2015:  // hyphen, dashes
                    if pendingPeriod { resolvePeriod(followedBySpace: true) }
                    pendingFlags |= Token.hyphenBefore
                case 0x26, 0x2F, 0x2B:  // & / +
                    if pendingPeriod { resolvePeriod(followedBySpace: true) }
                    pendingFlags |= Token.joinBefore
                default:
                    if pendingPeriod { resolvePeriod(followedBySpace: true) }
                }
            }
        }
        finishWord(end: characters)
        return tokens
    }

    // MARK: - Matching

    func match(_ tokens: [Token]) -> [Item] {
        var items: [Item] = []
        var start = 0
        let count = tokens.count
        while start < count {
            var node: UInt64 = 0
            var position = start
            var best: Int32 = -1
            var bestEnd = start
            var skipped: Int32 = -1
            var bestSkipped: Int32 = -1
            while position < count {
                let id = tokens[position].id
                if id < 0 { break }
                if let next = transitions[node << 32 | UInt64(UInt32(bitPattern: id))] {
                    node = UInt64(next)
                    position += 1
                    let entry = nodeEntry[Int(next)]
                    if entry >= 0 {
                        best = entry
                        bestEnd = position
                        bestSkipped = skipped
                    }
                } else if position > start, skipped < 0, info[Int(id)].severity != nil || info[Int(id)].acuity != nil {
                    skipped = Int32(position)
                    position += 1
                } else {
                    break
                }
            }
            if best >= 0 {
                items.append(Item(entry: best, start: Int32(start), end: Int32(bestEnd), skippedSeverity: bestSkipped))
                start = bestEnd
            } else {
                start += 1
            }
        }
        return items
    }

    // MARK: - Context

    private struct Working {
        var concept: Int32
        var start: Int32
        var end: Int32
        var clause: Int32
        var negated = false
        var uncertain = false
        var historical = false
        var leads: UInt16 = 0
        var location: String?
        var severity: String?
        var acuity: String?
        var generic = false
    }

    func resolve(tokens: [Token], items: [Item]) -> [Mention] {
        var mentions: [Working] = []
        var mentionAtItem: [Int] = []
        mentionAtItem.reserveCapacity(items.count)
        var covered = [Bool](repeating: false, count: tokens.count)
        for item in items {
            if case .concept(let concept, let location, let severity) = entries[Int(item.entry)] {
                var working = Working(
                    concept: concept, start: item.start, end: item.end, clause: tokens[Int(item.start)].clause)
                working.location = location
                working.severity = severity
                if item.skippedSeverity >= 0, let id = Optional(tokens[Int(item.skippedSeverity)].id), id >= 0 {
                    if let severity = info[Int(id)].severity { working.severity = severity } else { working.acuity = info[Int(id)].acuity }
                }
                mentionAtItem.append(mentions.count)
                mentions.append(working)
                for position in Int(item.start)..<Int(item.end) { covered[position] = true }
            } else {
                mentionAtItem.append(-1)
            }
        }
        if mentions.isEmpty { return [] }

        // Coordinated locations: "anterolateral and inferior myocardial infarction" also names the
        // anterolateral infarction; "inferiorer,anteriorer infarkt" also the inferior one.
        var coordinated: [Working] = []
        for (itemIndex, item) in items.enumerated() where mentionAtItem[itemIndex] < 0 {
            guard case .cue(.location) = entries[Int(item.entry)],
                let target = mentions.firstIndex(where: { $0.start >= item.end }),
                mentions[target].clause == tokens[Int(item.start)].clause
            else { continue }
            let gap = Int(mentions[target].start - item.end)
            let joinedByPunctuation = gap == 0 && tokens[Int(item.end)].flags & (Token.commaBefore | Token.joinBefore) != 0
            let joinedByWord = gap == 1 && tokens[Int(item.end)].id >= 0 && info[Int(tokens[Int(item.end)].id)].isConjunction
            guard joinedByPunctuation || joinedByWord else { continue }
            let head = tokens[Int(mentions[target].start)..<Int(mentions[target].end)].map(\.id)
            var strip = 0
            for length in stride(from: head.count - 1, through: 1, by: -1) where locationPhrases.contains(Array(head[0..<length])) {
                strip = length
                break
            }
            guard strip > 0 else { continue }
            let candidate = tokens[Int(item.start)..<Int(item.end)].map(\.id) + head[strip...]
            guard let entry = exactEntry(candidate), case .concept(let concept, let location, _) = entries[Int(entry)] else { continue }
            var working = Working(concept: concept, start: item.start, end: item.end, clause: mentions[target].clause)
            working.location = location
            coordinated.append(working)
        }
        if !coordinated.isEmpty {
            mentions = (mentions + coordinated).sorted { $0.start < $1.start }
        }

        /// Index of the last mention ending at or before token `position` in `clause`, or nil.
        func previous(before position: Int32, clause: Int32) -> Int? {
            var result: Int? = nil
            for (index, mention) in mentions.enumerated() where mention.end <= position {
                result = mention.clause == clause ? index : nil
            }
            return result
        }
        func next(after position: Int32, clause: Int32) -> Int? {
            for (index, mention) in mentions.enumerated() where mention.start >= position {
                return mention.clause == clause ? index : nil
            }
            return nil
        }
        /// Whether mentions `a` and `a + 1` are joined by a conjunction or a comma only.
        var joinedNext = [Bool](repeating: false, count: mentions.count)
        for a in 0..<max(0, mentions.count - 1) where mentions[a].clause == mentions[a + 1].clause {
            let gapStart = Int(mentions[a].end)
            let gapEnd = Int(mentions[a + 1].start)
            if gapEnd == gapStart {
                joinedNext[a] = tokens[gapEnd].flags & (Token.commaBefore | Token.joinBefore) != 0
            } else if gapEnd - gapStart == 1 {
                let id = tokens[gapStart].id
                joinedNext[a] = id >= 0 && info[Int(id)].isConjunction
            }
        }
        func joined(_ a: Int) -> Bool { a >= 0 && a < joinedNext.count && joinedNext[a] }
        func scopeBroken(from: Int32, to: Int32) -> Bool {
            guard from < to else { return false }
            for item in items where item.start >= from && item.end <= to {
                if case .cue(.scopeBreak) = entries[Int(item.entry)] { return true }
            }
            return false
        }
        func apply(_ assertion: Assertion, to index: Int) {
            switch assertion {
            case .negated: mentions[index].negated = true
            case .uncertain: mentions[index].uncertain = true
            case .historical: mentions[index].historical = true
            case .present: break
            }
        }

        for (itemIndex, item) in items.enumerated() where mentionAtItem[itemIndex] < 0 {
            guard case .cue(let cue) = entries[Int(item.entry)] else { continue }
            let clause = tokens[Int(item.start)].clause
            let before = previous(before: item.start, clause: clause)
            let after = next(after: item.end, clause: clause)
            let gapBefore = before.map { Int(item.start - mentions[$0].end) } ?? Int.max
            let gapAfter = after.map { Int(mentions[$0].start - item.end) } ?? Int.max
            switch cue {
            case .assertion(let assertion, let direction):
                var targets: [Int] = []
                let preWindow = assertion == .negated ? 6 : 5
                if direction == .pre || (direction == .both && gapBefore > 1), let after, gapAfter <= preWindow,
                    !scopeBroken(from: item.end, to: mentions[after].start)
                {
                    targets.append(after)
                    var chain = after
                    while joined(chain) {
                        chain += 1
                        targets.append(chain)
                    }
                } else if direction != .pre, let before, gapBefore <= 3 {
                    targets.append(before)
                    var chain = before
                    while chain > 0 && joined(chain - 1) {
                        chain -= 1
                        targets.append(chain)
                    }
                }
                for target in targets { apply(assertion, to: target) }
            case .acuity(let value, let direction):
                let target: Int?
                switch direction {
                case .pre: target = gapAfter <= 3 ? after : nil
                case .post: target = gapBefore <= 4 ? before : nil
                case .both: target = gapBefore <= 2 ? before : (gapAfter <= 3 ? after : nil)
                }
                if let target, mentions[target].acuity == nil {
                    mentions[target].acuity = value
                    // "old anterior and inferior infarction": a pre-acuity reaches joined mentions.
                    if direction != .post {
                        var chain = target
                        while joined(chain), mentions[chain + 1].acuity == nil {
                            chain += 1
                            mentions[chain].acuity = value
                        }
                    }
                }
            case .severity(let value):
                let target = gapAfter <= 2 ? after : (gapBefore <= 1 ? before : nil)
                if let target, mentions[target].severity == nil { mentions[target].severity = value }
            case .location(let value):
                let target = gapBefore <= 3 ? before : (gapAfter <= 2 ? after : nil)
                if let target, mentions[target].location == nil { mentions[target].location = value }
            case .leadGroup(let leads):
                var mask: UInt16 = 0
                for lead in leads { mask |= 1 << UInt16(lead.rawValue) }
                attachLeads(mask, before: before, after: after, to: &mentions, joined: joinedNext)
            case .generic:
                if let after, gapAfter <= 2 { mentions[after].generic = true }
            case .scopeBreak:
                break
            }
        }

        // Lead lists.
        var position = 0
        while position < tokens.count {
            guard !covered[position], let (mask, end) = leadList(tokens, at: position, covered: covered) else {
                position += 1
                continue
            }
            let clause = tokens[position].clause
            let before = previous(before: Int32(position), clause: clause)
            let after = next(after: Int32(end), clause: clause)
            attachLeads(mask, before: before, after: after, to: &mentions, joined: joinedNext)
            position = end
        }

        return mentions.filter { !$0.generic }.map { working in
            let assertion: Assertion =
                working.negated ? .negated : working.uncertain ? .uncertain : working.historical ? .historical : .present
            var leads: [StandardLead] = []
            if working.leads != 0 {
                for lead in StandardLead.allCases where working.leads & (1 << UInt16(lead.rawValue)) != 0 { leads.append(lead) }
            }
            return Mention(
                conceptID: conceptIDs[Int(working.concept)], start: Int(tokens[Int(working.start)].start),
                end: Int(tokens[Int(working.end) - 1].end), assertion: assertion, leads: leads, location: working.location,
                severity: working.severity, acuity: working.acuity)
        }
    }

    /// The entry of exactly this token sequence, if any.
    private func exactEntry(_ ids: [Int32]) -> Int32? {
        var node: UInt64 = 0
        for id in ids {
            guard id >= 0, let next = transitions[node << 32 | UInt64(UInt32(bitPattern: id))] else { return nil }
            node = UInt64(next)
        }
        let entry = nodeEntry[Int(node)]
        return entry >= 0 ? entry : nil
    }

    private func attachLeads(
        _ mask: UInt16, before: Int?, after: Int?, to mentions: inout [Working], joined: [Bool]
    ) {
        if let before {
            mentions[before].leads |= mask
            var chain = before
            while chain > 0 && joined[chain - 1] {
                chain -= 1
                mentions[chain].leads |= mask
            }
        } else if let after {
            mentions[after].leads |= mask
        }
    }

    /// A lead list starting at `start` (`ii, iii, avf`, `v1-v3`, `v4,5,6`, `in i,iii,avl`): the leads as a
    /// bit mask and the token index after the list.
    private func leadList(_ tokens: [Token], at start: Int, covered: [Bool]) -> (UInt16, Int)? {
        let first = tokens[start].id
        guard first >= 0, info[Int(first)].lead >= 0 else { return nil }
        let firstLead = Int(info[Int(first)].lead)
        if firstLead == StandardLead.i.rawValue {
            // `i` is a lead only after `in`/`lead`, or when another lead follows in a list.
            let introduced = start > 0 && tokens[start - 1].id >= 0 && info[Int(tokens[start - 1].id)].isLeadIntroducer
            let listFollows =
                start + 1 < tokens.count && tokens[start + 1].id >= 0 && info[Int(tokens[start + 1].id)].lead >= 0
                && tokens[start + 1].flags & (Token.commaBefore | Token.hyphenBefore | Token.joinBefore) != 0
            guard introduced || listFollows else { return nil }
        }
        var mask: UInt16 = 1 << UInt16(firstLead)
        var last = firstLead
        var position = start + 1
        while position < tokens.count {
            let token = tokens[position]
            if token.flags & Token.boundaryBefore != 0 || covered[position] || token.id < 0 { break }
            var tokenInfo = info[Int(token.id)]
            var isRange = token.flags & Token.hyphenBefore != 0
            var step = 1
            // `and`/`und`/`to`/`bis` between two leads.
            if tokenInfo.isConjunction || tokenInfo.isRangeWord, position + 1 < tokens.count, tokens[position + 1].id >= 0,
                !covered[position + 1], tokens[position + 1].flags & Token.boundaryBefore == 0
            {
                isRange = tokenInfo.isRangeWord
                let nextInfo = info[Int(tokens[position + 1].id)]
                guard nextInfo.lead >= 0 || nextInfo.number > 0 || nextInfo.isF else { break }
                tokenInfo = nextInfo
                step = 2
            } else if token.flags & (Token.commaBefore | Token.hyphenBefore | Token.joinBefore) == 0 && !(step == 1 && isSpaceJoinedLead(tokenInfo, last)) {
                break
            }
            var lead = -1
            if tokenInfo.lead >= 0 {
                lead = Int(tokenInfo.lead)
            } else if tokenInfo.number > 0, last >= StandardLead.v1.rawValue {
                lead = StandardLead.v1.rawValue + Int(tokenInfo.number) - 1
            } else if tokenInfo.isF, last <= StandardLead.aVF.rawValue {
                lead = StandardLead.aVF.rawValue
            }
            guard lead >= 0 else { break }
            if isRange && lead > last {
                for value in (last + 1)...lead { mask |= 1 << UInt16(value) }
            } else {
                mask |= 1 << UInt16(lead)
            }
            last = lead
            position += step
        }
        return (mask, position)
    }

    /// `ii iii avf` written with spaces only: accept a following unambiguous lead name.
    private func isSpaceJoinedLead(_ tokenInfo: TokenInfo, _ last: Int) -> Bool {
        tokenInfo.lead > Int8(StandardLead.i.rawValue)
    }
}

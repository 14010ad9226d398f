import Foundation

/// A tiny RFC 4180 CSV reader (quoted fields with commas, doubled quotes and line breaks).
public enum CSVText {
    /// All rows of `text`.
    public static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var it = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        while true {
            let c: Unicode.Scalar
            if let p = pending {
                c = p
                pending = nil
            } else if let n = it.next() {
                c = n
            } else { break }
            if quoted {
                if c == "\"" {
                    if let n = it.next() {
                        if n == "\"" { field.unicodeScalars.append("\"") } else {
                            quoted = false
                            pending = n
                        }
                    } else { quoted = false }
                } else { field.unicodeScalars.append(c) }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field)
                field = ""
            } else if c == "\n" || c == "\r" {
                if c == "\r", let n = it.next(), n != "\n" { pending = n }
                row.append(field)
                field = ""
                if !(row.count == 1 && row[0].isEmpty) { rows.append(row) }
                row = []
            } else { field.unicodeScalars.append(c) }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }
}

/// One concept the encoder is aligned with: its id and descriptive text.
public struct EntitySpec: Sendable, Hashable, Codable {
    /// Concept id (e.g. `MI`, `IMI`, `AFIB`).
    public var id: String
    /// Descriptive text fed to the text encoder.
    public var text: String

    /// An entity.
    public init(id: String, text: String) {
        self.id = id
        self.text = text
    }
}

/// PTB-XL labels read from `ptbxl_database.csv` and `scp_statements.csv`: per record the SCP
/// statements with their likelihoods, the report, the fold; and the statement → subclass →
/// superclass hierarchy of the diagnostic statements.
public struct PTBXLLabels: Sendable {
    /// One database row.
    public struct Row: Sendable {
        /// `ecg_id`.
        public var ecgID: Int
        /// Stratified fold 1–10.
        public var fold: Int
        /// The free-text report.
        public var report: String
        /// SCP code → likelihood (0–100).
        public var codes: [String: Double]
    }

    /// Rows by `ecg_id`.
    public var rows: [Int: Row]
    /// Statement code → description.
    public var descriptions: [String: String]
    /// Diagnostic statement code → subclass.
    public var subclass: [String: String]
    /// Diagnostic statement code → superclass.
    public var superclass: [String: String]

    /// The five diagnostic superclasses with their texts.
    public static let superclasses: [EntitySpec] = [
        EntitySpec(id: "NORM", text: "normal ECG"),
        EntitySpec(id: "MI", text: "myocardial infarction"),
        EntitySpec(id: "STTC", text: "ST/T change, ST-T abnormality"),
        EntitySpec(id: "CD", text: "conduction disturbance"),
        EntitySpec(id: "HYP", text: "hypertrophy"),
    ]

    /// Reads the two CSV files of the PTB-XL folder.
    public init(database: URL, statements: URL) throws {
        func load(_ url: URL) throws -> [[String]] {
            do { return CSVText.rows(try String(contentsOf: url, encoding: .utf8)) } catch {
                throw ModelError.io("cannot read \(url.path): \(error.localizedDescription)")
            }
        }
        let st = try load(statements)
        guard let sh = st.first, sh.count >= 7 else { throw ModelError.io("\(statements.path): no header with diagnostic_class/diagnostic_subclass") }
        let classIdx = sh.firstIndex(of: "diagnostic_class") ?? 5
        let subIdx = sh.firstIndex(of: "diagnostic_subclass") ?? 6
        var descriptions: [String: String] = [:]
        var sub: [String: String] = [:]
        var sup: [String: String] = [:]
        for r in st.dropFirst() where r.count > max(classIdx, subIdx) {
            descriptions[r[0]] = r[1]
            if !r[classIdx].isEmpty { sup[r[0]] = r[classIdx] }
            if !r[subIdx].isEmpty { sub[r[0]] = r[subIdx] }
        }
        let db = try load(database)
        guard let header = db.first, let idI = header.firstIndex(of: "ecg_id"), let repI = header.firstIndex(of: "report"),
            let scpI = header.firstIndex(of: "scp_codes"), let foldI = header.firstIndex(of: "strat_fold")
        else { throw ModelError.io("\(database.path): header lacks ecg_id, report, scp_codes or strat_fold") }
        var rows: [Int: Row] = [:]
        for (line, r) in db.dropFirst().enumerated() where r.count > max(idI, repI, scpI, foldI) {
            guard let id = Int(r[idI]), let fold = Int(r[foldI]) else {
                throw ModelError.io("\(database.path) row \(line + 2): bad ecg_id or strat_fold")
            }
            rows[id] = Row(ecgID: id, fold: fold, report: r[repI], codes: Self.parseCodes(r[scpI]))
        }
        self.rows = rows
        self.descriptions = descriptions
        subclass = sub
        superclass = sup
    }

    /// Reads `ptbxl_database.csv` and `scp_statements.csv` of the PTB-XL folder `folder`.
    public init(folder: URL) throws {
        try self.init(
            database: folder.appendingPathComponent("ptbxl_database.csv"), statements: folder.appendingPathComponent("scp_statements.csv"))
    }

    /// Parses `{'NORM': 100.0, 'SR': 0.0}`.
    public static func parseCodes(_ s: String) -> [String: Double] {
        var out: [String: Double] = [:]
        let inner = s.trimmingCharacters(in: CharacterSet(charactersIn: "{} "))
        for part in inner.split(separator: ",") {
            let kv = part.split(separator: ":", maxSplits: 1)
            guard kv.count == 2 else { continue }
            let key = kv[0].trimmingCharacters(in: CharacterSet(charactersIn: "' \""))
            out[key] = Double(kv[1].trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return out
    }

    /// The diagnostic subclasses with texts (the descriptions of their statements).
    public var subclasses: [EntitySpec] {
        var members: [String: [String]] = [:]
        for (code, s) in subclass { members[s, default: []].append(code) }
        return members.keys.sorted().map { s in
            let text = descriptions[s] ?? members[s, default: []].sorted().compactMap { descriptions[$0] }.joined(separator: "; ")
            return EntitySpec(id: s, text: text)
        }
    }

    /// All SCP statements with their descriptions.
    public var statements: [EntitySpec] {
        descriptions.keys.sorted().map { EntitySpec(id: $0, text: descriptions[$0] ?? $0) }
    }

    /// The concept ids a record is positive for (any likelihood): its statements, their
    /// subclasses and superclasses. With `certainOnly`, statements with a diagnostic likelihood
    /// below 80 (15, 35, 50: uncertain) are returned separately.
    public func concepts(of row: Row) -> (certain: Set<String>, uncertain: Set<String>) {
        var certain = Set<String>()
        var uncertain = Set<String>()
        for (code, likelihood) in row.codes {
            let isUncertain = superclass[code] != nil && likelihood > 0 && likelihood < 80
            var ids = [code]
            if let s = subclass[code] { ids.append(s) }
            if let s = superclass[code] { ids.append(s) }
            for id in ids {
                if isUncertain { uncertain.insert(id) } else { certain.insert(id) }
            }
        }
        return (certain, uncertain.subtracting(certain))
    }
}

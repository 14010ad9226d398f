import Foundation
import GRDB

/// RFC 4180 quoting for one CSV field.
enum CSVField {
    /// `field`, quoted (with doubled quotes) when it holds a comma, quote or line break.
    static func escape(_ field: String) -> String {
        guard field.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension KnowledgeStore {
    /// The header of `exportMentionsCSV`.
    public static let mentionsCSVHeader = "report_id,concept_id,label,codes,assertion,leads,severity,acuity,location"

    /// Writes every mention as CSV (header `mentionsCSVHeader`, CRLF-free, RFC 4180 quoting) in
    /// chunks to `write`; returns the number of rows. `report_id` is the source's id as written,
    /// `codes` the concept's `codesText`, `leads` like `II;III;aVF`.
    @discardableResult
    public func exportMentionsCSV(_ write: (Data) throws -> Void) throws -> Int {
        let concepts = try self.concepts()
        var labels: [String: (label: String, codes: String)] = [:]
        for concept in concepts { labels[concept.id] = (CSVField.escape(concept.label), CSVField.escape(concept.codesText)) }
        return try read("export mentions") { db in
            var chunk = Self.mentionsCSVHeader + "\n"
            var rows = 0
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT r.external_id, m.concept_id, m.assertion, m.leads, m.severity, m.acuity, m.location
                    FROM mentions m JOIN reports r ON r.id = m.report_id ORDER BY m.id
                    """)
            while let row = try cursor.next() {
                let conceptID: String = row[1]
                let known = labels[conceptID]
                let fields: [String] = [
                    CSVField.escape(row[0]), CSVField.escape(conceptID), known?.label ?? "", known?.codes ?? "",
                    row[2], CSVField.escape(row[3]), CSVField.escape(row[4] ?? ""), CSVField.escape(row[5] ?? ""),
                    CSVField.escape(row[6] ?? ""),
                ]
                chunk += fields.joined(separator: ",")
                chunk += "\n"
                rows += 1
                if chunk.utf8.count >= 1 << 20 {
                    try write(Data(chunk.utf8))
                    chunk = ""
                }
            }
            try write(Data(chunk.utf8))
            return rows
        }
    }
}

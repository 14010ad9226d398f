import ECGCore
import Foundation
import GRDB

/// An error of the knowledge base, naming the database file and what failed.
public struct KnowledgeStoreError: Error, Sendable, CustomStringConvertible {
    /// The database path (`:memory:` for an in-memory base).
    public var path: String
    /// What was being done (`open`, `load ontology`, `import reports.csv` …).
    public var action: String
    /// The cause, in words a user can act on.
    public var message: String

    /// Creates an error.
    public init(path: String, action: String, message: String) {
        self.path = path
        self.action = action
        self.message = message
    }

    public var description: String { "\(path): cannot \(action): \(message)" }

    /// Maps a SQLite error to a message that says what to do.
    static func from(_ error: any Error, path: String, action: String) -> any Error {
        if error is KnowledgeStoreError || error is CSVError || error is ReportSourceError { return error }
        guard let database = error as? DatabaseError else { return error }
        let message: String
        switch database.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            message = "the database is locked by another process; retry when it has finished"
        case .SQLITE_NOTADB:
            message = "the file is not a SQLite database"
        case .SQLITE_CORRUPT:
            message = "the database file is corrupt"
        case .SQLITE_FULL:
            message = "the disk is full"
        case .SQLITE_READONLY:
            message = "the database is read-only"
        case .SQLITE_CANTOPEN:
            message = "the database file cannot be opened (does its folder exist and is it writable?)"
        case .SQLITE_CONSTRAINT:
            message = "constraint violated: \(database.message ?? "\(database)")"
        default:
            message = database.message ?? "\(database)"
        }
        return KnowledgeStoreError(path: path, action: action, message: message)
    }
}

/// The kmerl knowledge base: one SQLite file (WAL) holding the ontology concepts, the reports
/// imported into it, and the mentions extracted from those reports.
///
/// Other parts of kmerl add their own tables through `ResultsSchema` and `NightlySchema`,
/// registered after the knowledge migrations, and reach the database through `writer`.
public final class KnowledgeStore: Sendable {
    /// The database path, or `:memory:`.
    public let path: String
    /// The connection: a `DatabasePool` in WAL mode for a file, a `DatabaseQueue` in memory.
    let writer: any DatabaseWriter

    /// The knowledge base to use: `explicit` (`--db`) when given, else `KMERL_DB` when set and
    /// non-empty, else `kmerl.sqlite` in the working directory.
    public static func defaultPath(_ explicit: String?, environment: [String: String]) -> String {
        if let explicit { return explicit }
        if let path = environment["KMERL_DB"], !path.isEmpty { return path }
        return "kmerl.sqlite"
    }

    /// Opens (creating and migrating when needed) the knowledge base at `path`.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            writer = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(writer)
        } catch {
            throw KnowledgeStoreError.from(error, path: path, action: "open the knowledge base")
        }
    }

    private init(memory writer: DatabaseQueue) throws {
        path = ":memory:"
        self.writer = writer
        do {
            try Self.migrator.migrate(writer)
        } catch {
            throw KnowledgeStoreError.from(error, path: path, action: "create the knowledge base")
        }
    }

    /// A fresh, empty in-memory knowledge base (tests, dry runs).
    public static func inMemory() throws -> KnowledgeStore {
        try KnowledgeStore(memory: try DatabaseQueue())
    }

    /// Every migration of the base: knowledge first, then classification results, then the
    /// nightly ledger.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        KnowledgeSchema.registerMigrations(in: &migrator)
        ResultsSchema.registerMigrations(in: &migrator)
        NightlySchema.registerMigrations(in: &migrator)
        return migrator
    }

    /// Runs `body` in a read, mapping database errors.
    func read<T>(_ action: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try writer.read(body)
        } catch {
            throw KnowledgeStoreError.from(error, path: path, action: action)
        }
    }

    /// Runs `body` in one write transaction (all or nothing), mapping database errors.
    func write<T>(_ action: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try writer.write(body)
        } catch {
            throw KnowledgeStoreError.from(error, path: path, action: action)
        }
    }

    /// Runs `body` in one transaction with foreign-key enforcement off for its duration (the
    /// importer, which only references rows it has just inserted), mapping database errors.
    func writeTrustedReferences<T>(_ action: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try writer.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA foreign_keys = OFF")
                defer { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
                // Statement journals in memory: a bulk import's multi-row inserts each keep one (to
                // undo a half-done statement), and in a temporary file that was 1.08 million pwrite
                // calls for 200,000 MIMIC reports. It holds one statement's pages at a time. SQLite
                // decides where it goes when the transaction begins, so this comes first.
                let previousTempStore = try Int.fetchOne(db, sql: "PRAGMA temp_store") ?? 0
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
                defer { try? db.execute(sql: "PRAGMA temp_store = \(previousTempStore)") }
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                guard let result else { throw DatabaseError(resultCode: .SQLITE_ERROR, message: "transaction returned no result") }
                return result
            }
        } catch {
            throw KnowledgeStoreError.from(error, path: path, action: action)
        }
    }

    /// The ontology version and the base's counts, e.g. `ontology 1.0 (312 concepts), 19633 reports, 51234 mentions`
    /// (recorded in `run.json` by classification runs).
    public var version: String {
        let counts = try? read("read the version") { db -> (String?, Int, Int, Int) in
            let version = try String.fetchOne(db, sql: "SELECT value FROM ontology_info WHERE key = 'version'")
            let concepts = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM concepts") ?? 0
            // import_runs keeps the totals, so this stays cheap on a large base.
            let row = try Row.fetchOne(db, sql: "SELECT COALESCE(SUM(reports_added), 0) AS r, COALESCE(SUM(mentions_added), 0) AS m FROM import_runs")
            return (version, concepts, row?["r"] ?? 0, row?["m"] ?? 0)
        }
        guard let (version, concepts, reports, mentions) = counts else { return "unknown" }
        return "ontology \(version ?? "none") (\(concepts) concepts), \(reports) reports, \(mentions) mentions"
    }
}

// MARK: - Lead sets

extension StandardLead {
    /// Bit `rawValue` of a lead mask.
    var maskBit: Int { 1 << rawValue }
}

enum LeadSet {
    /// `II;III;aVF`, in display order.
    static func text(_ leads: [StandardLead]) -> String {
        if leads.isEmpty { return "" }
        return Set(leads).sorted().map(\.name).joined(separator: ";")
    }

    static func mask(_ leads: [StandardLead]) -> Int {
        leads.reduce(0) { $0 | $1.maskBit }
    }

    static func leads(_ text: String) -> [StandardLead] {
        text.split(separator: ";").compactMap { Lead.standard(forAlias: String($0)) }
    }
}

// MARK: - Text folding

enum TextFolding {
    /// Lower case, diacritics removed, inner whitespace collapsed: the key for name lookups.
    static func fold(_ text: String) -> String {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
            .replacingOccurrences(of: "ß", with: "ss")
        return folded.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}

import GRDB

/// Tables that keep classification runs and their per-record results in the knowledge base.
///
/// Registered by `KnowledgeStore` after the knowledge tables; owned by classification.
enum ResultsSchema {
    /// Adds this schema's migrations, in order, to `migrator`.
    static func registerMigrations(in migrator: inout DatabaseMigrator) {}
}

import GRDB

/// Tables that keep the nightly runs' ledger of processed inbox files in the knowledge base.
///
/// Registered by `KnowledgeStore` after the results tables; owned by `kmerl-batch nightly`.
enum NightlySchema {
    /// Adds this schema's migrations, in order, to `migrator`.
    static func registerMigrations(in migrator: inout DatabaseMigrator) {}
}

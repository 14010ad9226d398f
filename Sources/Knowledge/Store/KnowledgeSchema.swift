import GRDB

/// The knowledge tables: ontology concepts and their codes, synonyms, territories and criteria;
/// reports, the mentions extracted from them, import runs, and per-concept summary counts.
///
/// The summary tables (`concept_*_counts`, `concept_cooccurrence`) are maintained by the importer
/// in the same transaction as the reports they count, so that `query` answers in milliseconds on
/// a million-report base instead of aggregating millions of mentions per call.
enum KnowledgeSchema {
    /// Adds the knowledge migrations, in order, to `migrator`.
    static func registerMigrations(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("knowledge-v1") { db in
            try db.create(table: "ontology_info") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
            try db.create(table: "concepts") { t in
                t.primaryKey("id", .text)
                t.column("label", .text).notNull()
                t.column("category", .text).notNull()
                t.column("definition", .text)
                t.column("position", .integer).notNull()
            }
            try db.create(table: "concept_codes") { t in
                t.column("concept_id", .text).notNull().references("concepts", onDelete: .cascade)
                t.column("system", .text).notNull()
                t.column("code", .text).notNull()
                t.column("position", .integer).notNull()
                t.primaryKey(["concept_id", "system", "code"])
            }
            try db.create(index: "concept_codes_by_code", on: "concept_codes", columns: ["code"])
            try db.create(table: "concept_synonyms") { t in
                t.column("concept_id", .text).notNull().indexed().references("concepts", onDelete: .cascade)
                t.column("text", .text).notNull()
                t.column("language", .text).notNull()
                t.column("is_abbreviation", .boolean).notNull()
                t.column("position", .integer).notNull()
            }
            try db.create(table: "concept_parents") { t in
                t.column("concept_id", .text).notNull().references("concepts", onDelete: .cascade)
                t.column("parent_id", .text).notNull()
                t.column("position", .integer).notNull()
                t.primaryKey(["concept_id", "parent_id"])
            }
            try db.create(index: "concept_parents_by_parent", on: "concept_parents", columns: ["parent_id"])
            try db.create(table: "concept_territories") { t in
                t.column("concept_id", .text).notNull().references("concepts", onDelete: .cascade)
                t.column("lead", .text).notNull()
                t.column("position", .integer).notNull()
                t.primaryKey(["concept_id", "lead"])
            }
            try db.create(table: "concept_criteria") { t in
                t.column("concept_id", .text).notNull().indexed().references("concepts", onDelete: .cascade)
                t.column("measurement", .text).notNull()
                t.column("minimum", .double)
                t.column("maximum", .double)
                t.column("unit", .text).notNull()
                t.column("position", .integer).notNull()
            }
            // Every name a concept answers to, folded (lower case, no diacritics), for `resolve`.
            try db.create(table: "concept_lexicon") { t in
                t.column("key", .text).notNull()
                t.column("concept_id", .text).notNull().references("concepts", onDelete: .cascade)
                t.column("kind", .text).notNull()  // id, code, label, synonym, abbreviation
                t.column("text", .text).notNull()
                t.primaryKey(["key", "concept_id", "kind"])
            }

            try db.create(table: "import_runs") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("source_file", .text).notNull()
                t.column("format", .text).notNull()
                t.column("started_at", .datetime).notNull()
                t.column("finished_at", .datetime).notNull()
                t.column("rows_read", .integer).notNull()
                t.column("reports_added", .integer).notNull()
                t.column("reports_already_present", .integer).notNull()
                t.column("mentions_added", .integer).notNull()
                t.column("rows_skipped", .integer).notNull()
                t.column("ontology_version", .text).notNull()
            }
            try db.create(table: "reports") { t in
                t.autoIncrementedPrimaryKey("id")
                // The source file and format are the import run's (not repeated per report).
                t.column("import_run_id", .integer).notNull().references("import_runs")
                t.column("external_id", .text).notNull()
                t.column("line", .integer).notNull()
                t.column("text", .text).notNull()
                // 128-bit hash of (external id, text): importing the same rows again adds nothing.
                t.column("content_hash", .blob).notNull().unique()
            }
            try db.create(index: "reports_by_external_id", on: "reports", columns: ["external_id"])
            try db.create(table: "mentions") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("report_id", .integer).notNull().references("reports", onDelete: .cascade)
                // No foreign key: reloading the ontology must not erase extracted knowledge.
                t.column("concept_id", .text).notNull()
                t.column("start", .integer).notNull()
                t.column("end", .integer).notNull()
                t.column("assertion", .text).notNull()
                // Lead set twice: canonical names joined by ';' (`II;III;aVF`) and a bit mask
                // (bit n = StandardLead rawValue n) for set queries.
                t.column("leads", .text).notNull()
                t.column("lead_mask", .integer).notNull()
                t.column("location", .text)
                t.column("severity", .text)
                t.column("acuity", .text)
            }
            // By concept for query excerpts. No index by report: mentions are written right after
            // their report, so rowid order is report order, and reports are never deleted one by one.
            try db.create(index: "mentions_by_concept", on: "mentions", columns: ["concept_id", "report_id"])

            try db.create(table: "concept_report_counts") { t in
                t.column("concept_id", .text).notNull()
                t.column("assertion", .text).notNull()
                t.column("reports", .integer).notNull()
                t.column("mentions", .integer).notNull()
                t.primaryKey(["concept_id", "assertion"])
            }
            try db.create(table: "concept_lead_counts") { t in
                t.column("concept_id", .text).notNull()
                t.column("lead", .text).notNull()
                t.column("mentions", .integer).notNull()
                t.primaryKey(["concept_id", "lead"])
            }
            try db.create(table: "concept_attribute_counts") { t in
                t.column("concept_id", .text).notNull()
                t.column("attribute", .text).notNull()  // severity, acuity, location
                t.column("value", .text).notNull()
                t.column("mentions", .integer).notNull()
                t.primaryKey(["concept_id", "attribute", "value"])
            }
            try db.create(table: "concept_cooccurrence") { t in
                t.column("concept_id", .text).notNull()
                t.column("other_id", .text).notNull()
                t.column("reports", .integer).notNull()
                t.primaryKey(["concept_id", "other_id"])
            }
        }
        // Per-lead criteria (e.g. the R wave in V1 for bundle branch blocks): the leads, `;`-joined.
        migrator.registerMigration("knowledge-v2-criterion-leads") { db in
            try db.alter(table: "concept_criteria") { t in
                t.add(column: "leads", .text).notNull().defaults(to: "")
            }
        }
    }
}

/// Why an ontology could not be loaded: names the file, the line (when known) and the problem.
public struct OntologyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The class of problem.
    public enum Kind: String, Sendable, Hashable {
        /// The file could not be read.
        case unreadable
        /// The XML is not well-formed.
        case malformed
        /// A `<!DOCTYPE>` naming an external DTD (`SYSTEM`/`PUBLIC`).
        case externalDTD
        /// An entity declaration that loads an external resource.
        case externalEntity
        /// Internal entity declarations (the billion-laughs pattern) or any other DTD content.
        case entityDeclaration
        /// The XSD itself could not be compiled.
        case invalidSchema
        /// The document does not validate against the XSD.
        case schemaViolation
        /// Two concepts share an id.
        case duplicateID
        /// A `<parent ref>` names no concept, or parents form a cycle.
        case unknownParent
        /// A value the schema admits but the model cannot hold (e.g. an unknown lead name).
        case invalidValue
    }

    public var kind: Kind
    /// The file (or the name given to `Ontology.load(xml:schema:name:)`).
    public var file: String
    /// 1-based line of the problem, when known.
    public var line: Int?
    /// What is wrong, in words a user can act on.
    public var message: String

    public init(kind: Kind, file: String, line: Int?, message: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.message = message
    }

    /// `file:line: message`.
    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

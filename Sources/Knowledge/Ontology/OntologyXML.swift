import CLibXML2
import ECGCore
import Foundation

/// Reads the ontology XML with libxml2: DTDs and entity declarations refused before parsing,
/// `XML_PARSE_NONET`, no entity substitution, no DTD loading; then XSD validation and the DOM walk.
enum OntologyXML {
    struct Parsed {
        var version: String
        var concepts: [Concept]
        /// Concept offset → line of its `<concept>` element.
        var lines: [Int: Int]
    }

    /// Parser options: forbid the network, keep entity references unexpanded (no `XML_PARSE_NOENT`),
    /// never load the external subset (no `XML_PARSE_DTDLOAD`), errors collected instead of printed.
    static let parseOptions = Int32(
        XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue | XML_PARSE_NOCDATA.rawValue)

    static func parse(xml: Data, schema: Data, name: String, schemaName: String) throws -> Parsed {
        try refuseDTD(xml, name: name)
        try refuseDTD(schema, name: schemaName)
        try refuseSchemaImports(schema, name: schemaName)
        xmlInitParser()

        // Compile the schema.
        let schemaErrors = ErrorBox()
        let compiled: xmlSchemaPtr? = schema.withUnsafeBytes { raw -> xmlSchemaPtr? in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self),
                let parserContext = xmlSchemaNewMemParserCtxt(base, Int32(raw.count))
            else { return nil }
            defer { xmlSchemaFreeParserCtxt(parserContext) }
            xmlSchemaSetParserStructuredErrors(parserContext, collectError, Unmanaged.passUnretained(schemaErrors).toOpaque())
            return xmlSchemaParse(parserContext)
        }
        guard let compiled else {
            let first = schemaErrors.problems.first
            throw OntologyError(
                kind: .invalidSchema, file: schemaName, line: first?.line,
                message: "the ontology schema does not compile: \(first?.message ?? "unknown libxml2 error")")
        }
        defer { xmlSchemaFree(compiled) }

        // Parse the document.
        guard let parserContext = xmlNewParserCtxt() else {
            throw OntologyError(kind: .malformed, file: name, line: nil, message: "libxml2 could not create a parser")
        }
        defer { xmlFreeParserCtxt(parserContext) }
        let document: xmlDocPtr? = xml.withUnsafeBytes { raw -> xmlDocPtr? in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self) else { return nil }
            return xmlCtxtReadMemory(parserContext, base, Int32(raw.count), name, nil, parseOptions)
        }
        guard let document else {
            if xml.isEmpty {
                throw OntologyError(kind: .malformed, file: name, line: 1, message: "the ontology file is empty")
            }
            let error = xmlCtxtGetLastError(parserContext)
            let line = error.map { Int($0.pointee.line) }
            let message = error.flatMap { $0.pointee.message.map { String(cString: $0) } } ?? "not well-formed XML"
            throw OntologyError(kind: .malformed, file: name, line: line, message: "not well-formed XML: \(clean(message))")
        }
        defer { xmlFreeDoc(document) }
        if document.pointee.intSubset != nil || document.pointee.extSubset != nil {
            throw OntologyError(kind: .entityDeclaration, file: name, line: nil, message: "DOCTYPE declarations are not allowed in an ontology")
        }

        // Validate.
        let validationErrors = ErrorBox()
        guard let validator = xmlSchemaNewValidCtxt(compiled) else {
            throw OntologyError(kind: .invalidSchema, file: schemaName, line: nil, message: "libxml2 could not create a schema validator")
        }
        defer { xmlSchemaFreeValidCtxt(validator) }
        xmlSchemaSetValidStructuredErrors(validator, collectError, Unmanaged.passUnretained(validationErrors).toOpaque())
        let status = xmlSchemaValidateDoc(validator, document)
        if status != 0 {
            let problems = validationErrors.problems
            let first = problems.first
            var message = first.map { clean($0.message) } ?? "the document does not validate (libxml2 status \(status))"
            if problems.count > 1 { message += " (and \(problems.count - 1) more schema violation\(problems.count == 2 ? "" : "s"))" }
            throw OntologyError(kind: .schemaViolation, file: name, line: first?.line, message: "does not match the ontology schema: \(message)")
        }

        guard let root = xmlDocGetRootElement(document) else {
            throw OntologyError(kind: .malformed, file: name, line: nil, message: "no root element")
        }
        return try walk(root: root, name: name)
    }

    // MARK: - DOM

    private static func walk(root: xmlNodePtr, name: String) throws -> Parsed {
        let version = attribute(root, "version") ?? ""
        var concepts: [Concept] = []
        var lines: [Int: Int] = [:]
        for node in elements(root) where elementName(node) == "concept" {
            let line = Int(xmlGetLineNo(node))
            let id = attribute(node, "id") ?? ""
            guard let category = ConceptCategory(rawValue: attribute(node, "category") ?? "") else {
                throw OntologyError(kind: .invalidValue, file: name, line: line, message: "concept '\(id)' has an unknown category")
            }
            var concept = Concept(id: id, label: "", category: category)
            for child in elements(node) {
                let childLine = Int(xmlGetLineNo(child))
                switch elementName(child) {
                case "label": concept.label = text(child)
                case "definition": concept.definition = text(child)
                case "code":
                    guard let system = CodeSystem(rawValue: attribute(child, "system") ?? "") else {
                        throw OntologyError(kind: .invalidValue, file: name, line: childLine, message: "concept '\(id)': unknown code system")
                    }
                    concept.codes.append(ConceptCode(system: system, code: text(child)))
                case "parent": concept.parents.append(attribute(child, "ref") ?? "")
                case "synonym":
                    let abbreviation = attribute(child, "abbreviation").map { $0 == "true" || $0 == "1" } ?? false
                    concept.synonyms.append(
                        Synonym(text: text(child), language: attribute(child, "lang") ?? "en", isAbbreviation: abbreviation))
                case "territory":
                    for word in text(child).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
                        guard let lead = Lead.standard(forAlias: String(word)) else {
                            throw OntologyError(kind: .invalidValue, file: name, line: childLine, message: "concept '\(id)': unknown lead '\(word)'")
                        }
                        if !concept.territory.contains(lead) { concept.territory.append(lead) }
                    }
                case "criterion":
                    var leads: [StandardLead] = []
                    for word in (attribute(child, "leads") ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                        guard let lead = Lead.standard(forAlias: String(word)) else {
                            throw OntologyError(kind: .invalidValue, file: name, line: childLine, message: "concept '\(id)': unknown lead '\(word)' in a criterion")
                        }
                        leads.append(lead)
                    }
                    concept.criteria.append(
                        Criterion(
                            measurement: attribute(child, "measurement") ?? "",
                            minimum: attribute(child, "min").flatMap(Double.init),
                            maximum: attribute(child, "max").flatMap(Double.init),
                            unit: attribute(child, "unit") ?? "", leads: leads))
                default: break
                }
            }
            lines[concepts.count] = line
            concepts.append(concept)
        }
        return Parsed(version: version, concepts: concepts, lines: lines)
    }

    private static func elements(_ node: xmlNodePtr) -> [xmlNodePtr] {
        var result: [xmlNodePtr] = []
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_ELEMENT_NODE { result.append(current) }
            child = current.pointee.next
        }
        return result
    }

    private static func elementName(_ node: xmlNodePtr) -> String {
        node.pointee.name.map { String(cString: $0) } ?? ""
    }

    /// The attribute's value (read from its text children, no allocation to free).
    private static func attribute(_ node: xmlNodePtr, _ name: String) -> String? {
        var property = node.pointee.properties
        while let current = property {
            if let attributeName = current.pointee.name, String(cString: attributeName) == name {
                var value = ""
                var child = current.pointee.children
                while let text = child {
                    if let content = text.pointee.content { value += String(cString: content) }
                    child = text.pointee.next
                }
                return value
            }
            property = current.pointee.next
        }
        return nil
    }

    /// The element's text, whitespace runs collapsed.
    private static func text(_ node: xmlNodePtr) -> String {
        var value = ""
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_TEXT_NODE || current.pointee.type == XML_CDATA_SECTION_NODE,
                let content = current.pointee.content
            {
                value += String(cString: content)
            }
            child = current.pointee.next
        }
        return value.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
    }

    // MARK: - Errors

    final class ErrorBox: @unchecked Sendable {
        // Only touched synchronously on the loading thread, inside libxml2 callbacks.
        var problems: [(line: Int?, message: String)] = []
    }

    private static let collectError: xmlStructuredErrorFunc = { userData, error in
        guard let userData, let error else { return }
        let box = Unmanaged<ErrorBox>.fromOpaque(userData).takeUnretainedValue()
        let message = error.pointee.message.map { String(cString: $0) } ?? "unknown libxml2 error"
        let line = error.pointee.line > 0 ? Int(error.pointee.line) : nil
        box.problems.append((line, message))
    }

    private static func clean(_ message: String) -> String {
        message.trimmingWhitespace()
    }

    // MARK: - DTD refusal

    /// Refuses any `<!DOCTYPE …>` outside comments, CDATA sections and processing instructions, naming
    /// the line and the kind: an external DTD, an external entity, or entity declarations (billion laughs).
    static func refuseDTD(_ data: Data, name: String) throws {
        let bytes = [UInt8](data)
        let count = bytes.count
        var index = 0
        var line = 1
        func starts(with literal: String, at position: Int) -> Bool {
            let utf8 = Array(literal.utf8)
            guard position + utf8.count <= count else { return false }
            for offset in 0..<utf8.count where bytes[position + offset] != utf8[offset] { return false }
            return true
        }
        func skip(to terminator: String) {
            while index < count && !starts(with: terminator, at: index) {
                if bytes[index] == 10 { line += 1 }
                index += 1
            }
            index = min(count, index + terminator.utf8.count)
        }
        while index < count {
            let byte = bytes[index]
            if byte == 10 { line += 1 }
            guard byte == UInt8(ascii: "<") else {
                index += 1
                continue
            }
            if starts(with: "<!--", at: index) {
                index += 4
                skip(to: "-->")
            } else if starts(with: "<![CDATA[", at: index) {
                index += 9
                skip(to: "]]>")
            } else if starts(with: "<?", at: index) {
                index += 2
                skip(to: "?>")
            } else if starts(with: "<!DOCTYPE", at: index) || starts(with: "<!ENTITY", at: index) {
                let declarationLine = line
                // The declaration up to its end (an internal subset ends with "]>").
                var end = index
                var depth = 0
                while end < count {
                    if bytes[end] == UInt8(ascii: "[") { depth += 1 }
                    if bytes[end] == UInt8(ascii: "]") { depth -= 1 }
                    if bytes[end] == UInt8(ascii: ">") && depth <= 0 { break }
                    end += 1
                }
                let declaration = String(decoding: bytes[index..<min(end + 1, count)], as: UTF8.self)
                throw OntologyError(
                    kind: classify(declaration), file: name, line: declarationLine,
                    message: describe(classify(declaration)))
            } else {
                index += 1
            }
        }
    }

    private static func classify(_ declaration: String) -> OntologyError.Kind {
        let upper = declaration.uppercased()
        let subsetStart = upper.firstIndex(of: "[") ?? upper.endIndex
        let head = upper[..<subsetStart]
        if upper.hasPrefix("<!DOCTYPE") && (head.contains("SYSTEM") || head.contains("PUBLIC")) { return .externalDTD }
        if upper.contains("<!ENTITY") || upper.hasPrefix("<!ENTITY") {
            let subset = upper[subsetStart...]
            if subset.contains("SYSTEM") || subset.contains("PUBLIC") || upper.hasPrefix("<!ENTITY") && (upper.contains("SYSTEM") || upper.contains("PUBLIC")) {
                return .externalEntity
            }
            return .entityDeclaration
        }
        return .entityDeclaration
    }

    private static func describe(_ kind: OntologyError.Kind) -> String {
        switch kind {
        case .externalDTD: "an external DTD is referenced (<!DOCTYPE … SYSTEM/PUBLIC>); ontologies must not load DTDs"
        case .externalEntity: "an external entity is declared (<!ENTITY … SYSTEM/PUBLIC>); ontologies must not load external resources"
        default: "a DOCTYPE with entity declarations is not allowed (entity expansion, e.g. billion laughs, is refused)"
        }
    }

    /// Refuses `xs:include`/`xs:import`/`xs:redefine` with a `schemaLocation` (they would load other files).
    static func refuseSchemaImports(_ data: Data, name: String) throws {
        let text = String(decoding: data, as: UTF8.self)
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where line.contains("schemaLocation") {
            throw OntologyError(
                kind: .invalidSchema, file: name, line: number + 1,
                message: "the ontology schema must be self-contained (no xs:include/xs:import with schemaLocation)")
        }
    }
}

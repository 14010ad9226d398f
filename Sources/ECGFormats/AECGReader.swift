import CLibXML2
import ECGCore
import Foundation

/// Reads HL7 v3 annotated ECG (aECG) XML files with libxml2.
///
/// The rhythm waveforms are the `sequenceSet` of the first `series` of the document: a
/// `GLIST_TS` time sequence gives the sampling interval (`increment`), and every `SLIST_PQ`
/// sequence coded `MDC_ECG_LEAD_*` gives one lead as `origin + scale × digits` in the scale's unit.
///
/// Documents are parsed without network access, without entity substitution and without DTD
/// loading; a document that declares a DTD (`<!DOCTYPE`) is refused outright, which rules out
/// external entities and entity-expansion attacks.
public enum AECGReader {
    /// The HL7 v3 namespace of aECG documents.
    public static let namespace = "urn:hl7-org:v3"

    /// Reads the aECG file at `url`.
    public static func read(_ url: URL) throws -> ECGRecord {
        let bytes = try FileBytes.read(url)
        return try read(bytes: bytes, file: url.path, id: url.deletingPathExtension().lastPathComponent, url: url)
    }

    /// Reads an aECG document from memory; `file` names it in errors, `id` becomes the record id.
    public static func read(bytes: [UInt8], file: String, id: String, url: URL? = nil) throws -> ECGRecord {
        func fail(_ problem: String) -> ECGFileError { ECGFileError(file: file, problem: problem) }
        if containsDoctype(bytes) {
            throw fail("declares a DTD (<!DOCTYPE>); DTDs and entity declarations are refused in aECG files")
        }
        guard bytes.count <= Int(Int32.max) else { throw fail("file too large") }
        _ = libxmlInitialized
        guard let ctxt = xmlNewParserCtxt() else { throw fail("cannot create an XML parser") }
        defer { xmlFreeParserCtxt(ctxt) }
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue | XML_PARSE_NOCDATA.rawValue)
        let doc: xmlDocPtr? = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.flatMap { base in
                base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    xmlCtxtReadMemory(ctxt, $0, Int32(buffer.count), nil, nil, options)
                }
            }
        }
        guard let doc else {
            var reason = "not well-formed XML"
            if let error = xmlCtxtGetLastError(ctxt), let message = error.pointee.message {
                reason += " (line \(error.pointee.line): \(String(cString: message).trimmingWhitespace()))"
            }
            throw fail(reason)
        }
        defer { xmlFreeDoc(doc) }
        if doc.pointee.intSubset != nil || doc.pointee.extSubset != nil {
            throw fail("declares a DTD; DTDs and entity declarations are refused in aECG files")
        }
        guard let root = xmlDocGetRootElement(doc), name(of: root) == "AnnotatedECG", namespaceURI(of: root) == namespace else {
            throw fail("not an HL7 aECG document (root element must be AnnotatedECG in namespace \(namespace))")
        }
        guard let xpath = xmlXPathNewContext(doc) else { throw fail("cannot create an XPath context") }
        defer { xmlXPathFreeContext(xpath) }
        xmlXPathRegisterNs(xpath, "v3", namespace)

        let sets = nodes("/v3:AnnotatedECG/v3:component/v3:series/v3:component/v3:sequenceSet", context: xpath, node: nil)
        guard !sets.isEmpty else { throw fail("no rhythm waveforms (series/component/sequenceSet)") }
        var samplingRate: Double?
        var startText: String?
        var leads: [LeadSignal] = []
        var warnings: [String] = []
        for set in sets {
            var setLeads: [LeadSignal] = []
            var setRate: Double?
            var setStart: String?
            for sequence in nodes("v3:component/v3:sequence", context: xpath, node: set) {
                let code = nodes("v3:code", context: xpath, node: sequence).first.flatMap { attribute($0, "code") } ?? ""
                guard let value = nodes("v3:value", context: xpath, node: sequence).first else { continue }
                if code.hasPrefix("TIME_") {
                    if let inc = nodes("v3:increment", context: xpath, node: value).first {
                        guard let v = attribute(inc, "value").flatMap(Double.init), v > 0, v.isFinite else {
                            throw fail("sequence \(code): invalid time increment")
                        }
                        let unit = attribute(inc, "unit") ?? "s"
                        let seconds: Double
                        switch unit {
                        case "s": seconds = v
                        case "ms": seconds = v / 1000
                        case "us": seconds = v / 1_000_000
                        default: throw fail("sequence \(code): unknown time unit '\(unit)'")
                        }
                        setRate = 1 / seconds
                    }
                    setStart = nodes("v3:head", context: xpath, node: value).first.flatMap { attribute($0, "value") }
                    continue
                }
                guard code.hasPrefix("MDC_ECG_LEAD_") else { continue }
                let leadName = String(code.dropFirst("MDC_ECG_LEAD_".count))
                guard let digitsNode = nodes("v3:digits", context: xpath, node: value).first else {
                    throw fail("lead \(code): no <digits>")
                }
                let origin = nodes("v3:origin", context: xpath, node: value).first
                let scale = nodes("v3:scale", context: xpath, node: value).first
                let scaleValue = try scale.map { node -> Double in
                    guard let v = attribute(node, "value").flatMap(Double.init), v.isFinite else { throw fail("lead \(code): invalid scale") }
                    return v
                } ?? 1
                let unit = scale.flatMap { attribute($0, "unit") } ?? origin.flatMap { attribute($0, "unit") } ?? "uV"
                var originValue = try origin.map { node -> Double in
                    guard let v = attribute(node, "value").flatMap(Double.init), v.isFinite else { throw fail("lead \(code): invalid origin") }
                    return v
                } ?? 0
                if let originUnit = origin.flatMap({ attribute($0, "unit") }), originUnit != unit {
                    guard let a = voltsPer(originUnit), let b = voltsPer(unit) else {
                        throw fail("lead \(code): origin unit '\(originUnit)' and scale unit '\(unit)' are not comparable")
                    }
                    originValue = originValue * a / b
                }
                let digits = try parseDigits(digitsNode, lead: code, file: file)
                var samples = [Float](repeating: 0, count: digits.count)
                for k in 0..<digits.count { samples[k] = Float(originValue + scaleValue * digits[k]) }
                setLeads.append(LeadSignal(lead: Lead(parsing: leadName), writtenName: code, samples: samples, units: unit))
            }
            if !setLeads.isEmpty {
                leads = setLeads
                samplingRate = setRate
                startText = setStart
                break
            }
        }
        guard !leads.isEmpty else { throw fail("no MDC_ECG_LEAD_* waveforms in the rhythm sequence sets") }
        guard let fs = samplingRate else { throw fail("no time sequence with an increment: sampling rate unknown") }
        let lengths = Set(leads.map(\.samples.count))
        if lengths.count > 1 {
            warnings.append("leads have different lengths (\(lengths.sorted().map(String.init).joined(separator: ", ")) samples)")
        }
        var comments: [String] = []
        for (label, path) in [
            ("id", "/v3:AnnotatedECG/v3:id"), ("subject", "//v3:trialSubject/v3:id"), ("trial", "//v3:clinicalTrial/v3:id"),
        ] {
            if let node = nodes(path, context: xpath, node: nil).first, let root = attribute(node, "root") {
                let ext = attribute(node, "extension").map { " \($0)" } ?? ""
                comments.append("\(label): \(root)\(ext)")
            }
        }
        return ECGRecord(
            id: id, samplingRate: fs, leads: leads, startTime: startText.flatMap(parseHL7Time), startTimeText: startText,
            comments: comments, sourceFormat: .hl7aECG, sourceURL: url, warnings: warnings)
    }

    /// Whether the bytes look like an HL7 aECG document (an `AnnotatedECG` element in the HL7 v3
    /// namespace near the start), without parsing the whole file.
    public static func looksLikeAECG(prefix bytes: ArraySlice<UInt8>) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.contains("AnnotatedECG") && text.contains(namespace)
    }

    // MARK: - Helpers

    private static let libxmlInitialized: Void = { xmlInitParser() }()

    private static func containsDoctype(_ bytes: [UInt8]) -> Bool {
        let needle: [UInt8] = Array("<!DOCTYPE".utf8)
        guard bytes.count >= needle.count else { return false }
        return bytes.withUnsafeBufferPointer { b in
            var i = 0
            let last = b.count - needle.count
            while i <= last {
                if b[i] == 0x3C && b[i + 1] == 0x21 {
                    var match = true
                    for j in 2..<needle.count where b[i + j] != needle[j] {
                        match = false
                        break
                    }
                    if match { return true }
                }
                i += 1
            }
            return false
        }
    }

    private static func nodes(_ expression: String, context: xmlXPathContextPtr, node: xmlNodePtr?) -> [xmlNodePtr] {
        let result: xmlXPathObjectPtr? =
            if let node {
                xmlXPathNodeEval(node, expression, context)
            } else {
                xmlXPathEvalExpression(expression, context)
            }
        guard let result else { return [] }
        defer { xmlXPathFreeObject(result) }
        guard let set = result.pointee.nodesetval, let tab = set.pointee.nodeTab else { return [] }
        var out: [xmlNodePtr] = []
        out.reserveCapacity(Int(set.pointee.nodeNr))
        for i in 0..<Int(set.pointee.nodeNr) {
            if let n = tab[i] { out.append(n) }
        }
        return out
    }

    private static func name(of node: xmlNodePtr) -> String {
        node.pointee.name.map { String(cString: $0) } ?? ""
    }

    private static func namespaceURI(of node: xmlNodePtr) -> String? {
        node.pointee.ns?.pointee.href.map { String(cString: $0) }
    }

    private static func attribute(_ node: xmlNodePtr, _ name: String) -> String? {
        var attr = node.pointee.properties
        while let a = attr {
            if let n = a.pointee.name, String(cString: n) == name {
                var text = ""
                var child = a.pointee.children
                while let c = child {
                    if let content = c.pointee.content { text += String(cString: content) }
                    child = c.pointee.next
                }
                return text
            }
            attr = a.pointee.next
        }
        return nil
    }

    /// Parses the whitespace-separated numbers of a `<digits>` element.
    private static func parseDigits(_ node: xmlNodePtr, lead: String, file: String) throws -> [Double] {
        var values: [Double] = []
        var child = node.pointee.children
        while let c = child {
            if c.pointee.type == XML_TEXT_NODE || c.pointee.type == XML_CDATA_SECTION_NODE, let content = c.pointee.content {
                try parseNumbers(content, into: &values, lead: lead, file: file)
            }
            child = c.pointee.next
        }
        return values
    }

    private static func parseNumbers(_ content: UnsafePointer<xmlChar>, into values: inout [Double], lead: String, file: String) throws {
        let length = strlen(UnsafeRawPointer(content).assumingMemoryBound(to: CChar.self))
        values.reserveCapacity(values.count + length / 2 + 1)
        @inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }
        var i = 0
        while i < length {
            while i < length && isSpace(content[i]) { i += 1 }
            if i == length { break }
            let start = i
            var integer = true
            while i < length && !isSpace(content[i]) {
                let c = content[i]
                if !((c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2B) { integer = false }
                i += 1
            }
            let token = UnsafeBufferPointer(start: content + start, count: i - start)
            if integer, let v = WFDBHeader.parseInt(token, 0..<token.count) {
                values.append(Double(v))
            } else if token.count < 64, let v = Double(String(decoding: token, as: UTF8.self)), v.isFinite {
                values.append(v)
            } else {
                throw ECGFileError(file: file, problem: "lead \(lead): non-numeric value '\(String(decoding: token.prefix(40), as: UTF8.self))' in <digits>")
            }
        }
    }

    private static func voltsPer(_ unit: String) -> Double? {
        switch unit {
        case "V": 1
        case "mV": 1e-3
        case "uV", "µV": 1e-6
        case "nV": 1e-9
        default: nil
        }
    }

    /// Parses an HL7 TS value `YYYYMMDDHHMMSS[.fff]` (UTC when no zone is given).
    static func parseHL7Time(_ text: String) -> Date? {
        let digits = text.prefix { $0.isNumber }
        guard digits.count >= 8 else { return nil }
        func num(_ from: Int, _ len: Int) -> Int? {
            guard digits.count >= from + len else { return from >= 8 ? 0 : nil }
            let s = digits.index(digits.startIndex, offsetBy: from)
            return Int(digits[s..<digits.index(s, offsetBy: len)])
        }
        guard let y = num(0, 4), let mo = num(4, 2), let d = num(6, 2), let h = num(8, 2), let mi = num(10, 2), let s = num(12, 2),
            (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61
        else { return nil }
        var fraction = 0.0
        let rest = text.dropFirst(digits.count)
        if rest.hasPrefix(".") { fraction = Double("0" + rest.prefix { $0 == "." || $0.isNumber }) ?? 0 }
        let header = WFDBHeader(recordName: "t", signalCount: 0, baseTime: "\(h):\(mi):\(s)", baseDate: "\(d)/\(mo)/\(y)")
        return header.startDate.map { $0.addingTimeInterval(fraction) }
    }
}

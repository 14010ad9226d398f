import Foundation
import KMERLResources
import Mustache

/// Renders the HTML reports from Mustache templates: the embedded `Templates/` by default, or the
/// `.mustache` files of a directory given with `--templates` (a file there replaces the embedded
/// template of the same name; the others stay embedded).
///
/// Contexts are plain dictionaries and arrays. Mustache escapes every `{{value}}`; the only
/// triple-mustache slot is the ECG plot, which `ECGPlot` builds with its text already escaped.
public struct HTMLRenderer: Sendable {
    /// The template names the reports need.
    public static let requiredTemplates = ["index", "record"]

    private let library: MustacheLibrary

    /// The error thrown when a template is missing or does not parse.
    public struct TemplateError: Error, CustomStringConvertible, LocalizedError {
        public var description: String
        public var errorDescription: String? { description }
    }

    /// The content type the embedded templates declare (`{{% CONTENT_TYPE: KMERL_HTML}}`): the same
    /// five characters escaped as Mustache's own HTML type (`& < > " '`), but a text without any of
    /// them is passed through after one scan of its bytes instead of a dictionary lookup per
    /// character. A template without the pragma gets Mustache's HTML escaping.
    public static let contentTypeName = "KMERL_HTML"

    struct FastHTMLContentType: MustacheContentType {
        func escapeText(_ text: String) -> String { HTML.escape(text) }
    }

    /// Loads the embedded templates, then those of `overrides` on top.
    public init(overrides: URL? = nil) throws {
        // The library's registry of content types; registering the same type again is harmless.
        MustacheContentTypes.register(FastHTMLContentType(), named: Self.contentTypeName)
        var library = MustacheLibrary()
        for path in EmbeddedResources.paths(under: "Templates") where path.hasSuffix(".mustache") {
            guard let data = EmbeddedResources.data(path), let text = String(data: data, encoding: .utf8) else { continue }
            let name = String(path.dropFirst("Templates/".count).dropLast(".mustache".count))
            do {
                try library.register(text, named: name)
            } catch {
                throw TemplateError(description: "embedded template \(path) does not parse: \(error)")
            }
        }
        if let overrides {
            let files: [URL]
            do {
                files = try FileManager.default.contentsOfDirectory(at: overrides, includingPropertiesForKeys: nil)
            } catch {
                throw TemplateError(description: "\(overrides.path): cannot read the templates directory (\(error.localizedDescription))")
            }
            for file in files where file.pathExtension == "mustache" {
                let text: String
                do {
                    text = try String(contentsOf: file, encoding: .utf8)
                } catch {
                    throw TemplateError(description: "\(file.path): cannot read the template as UTF-8")
                }
                do {
                    try library.register(text, named: file.deletingPathExtension().lastPathComponent)
                } catch {
                    throw TemplateError(description: "\(file.path): the template does not parse: \(error)")
                }
            }
        }
        for name in Self.requiredTemplates where library.getTemplate(named: name) == nil {
            throw TemplateError(description: "template '\(name).mustache' is missing (neither embedded nor in the --templates directory)")
        }
        self.library = library
    }

    /// Renders the template `name` with `context`.
    public func render(_ name: String, _ context: [String: Any]) throws -> String {
        guard let text = library.render(context, withTemplate: name) else {
            throw TemplateError(description: "template '\(name).mustache' is missing")
        }
        return text
    }
}

/// A text value for a Mustache context that renders without the generic path's dynamic casts
/// (`String(describing:)` and the optional check run for every plain `String`); `{{value}}` still
/// escapes it. Meant for the many leaf cells of a record page (measurements, per-lead rows).
public struct TemplateText: MustacheCustomRenderable, Sendable, CustomStringConvertible {
    /// The text.
    public var renderText: String

    public init(_ text: String) { renderText = text }

    /// Never a null object: a section on it renders.
    public var isNull: Bool { false }

    public var description: String { renderText }
}

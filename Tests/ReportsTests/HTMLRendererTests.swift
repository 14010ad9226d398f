import Foundation
import KMERLTestSupport
import Testing

@testable import Reports

@Suite struct HTMLRendererTests {
    @Test func embeddedTemplatesEscapeEveryText() throws {
        let renderer = try HTMLRenderer()
        let html = try renderer.render(
            "index",
            [
                "title": "t", "runID": "r", "total": 1, "processed": 1, "failed": 1, "abnormal": 0,
                "rows": [["id": "<script>alert(1)</script>", "href": "records/x.html", "top": [["phrase": "a & b", "probability": "0.50"]]]],
                "hasFailures": true, "failures": [["source": "bad\".hea", "reason": "<truncated>"]],
            ])
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!html.contains("<script>alert(1)"))
        #expect(html.contains("a &amp; b"))
        #expect(html.contains("bad&quot;.hea"))
        #expect(html.contains("&lt;truncated&gt;"))
        #expect(html.contains("<table id=\"records\">"))
    }

    @Test func overrideDirectoryReplacesOneTemplate() throws {
        let dir = try SharedData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("CUSTOM {{title}}".utf8).write(to: dir.appendingPathComponent("index.mustache"))
        let renderer = try HTMLRenderer(overrides: dir)
        #expect(try renderer.render("index", ["title": "<x>"]) == "CUSTOM &lt;x&gt;")
        // record.mustache still comes from the embedded set.
        #expect(try renderer.render("record", ["id": "42"]).contains("ECG 42"))
    }

    /// `TemplateText` takes the fast path through the renderer but is escaped like any text.
    @Test func templateTextIsEscapedToo() throws {
        let renderer = try HTMLRenderer()
        let html = try renderer.render(
            "record",
            [
                "id": TemplateText("<img src=x onerror=alert(1)>"),
                "measurements": [["name": TemplateText("QRS & \"duration\""), "value": TemplateText("142"), "unit": TemplateText("ms")]],
            ])
        #expect(html.contains("ECG &lt;img src=x onerror=alert(1)&gt;"))
        #expect(!html.contains("<img src=x"))
        #expect(html.contains("QRS &amp; &quot;duration&quot;"))
        #expect(html.contains(">142<"))
        // The pragma line leaves nothing behind: the page starts with its doctype.
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(HTML.escape("a 'b' <c> & \"d\"") == "a &#39;b&#39; &lt;c&gt; &amp; &quot;d&quot;")
        #expect(HTML.escape("QRS 142 ms ≥ 120 ms") == "QRS 142 ms ≥ 120 ms")
    }

    @Test func missingOverrideDirectoryIsAClearError() {
        #expect(throws: HTMLRenderer.TemplateError.self) {
            try HTMLRenderer(overrides: URL(fileURLWithPath: "/nonexistent/templates"))
        }
    }
}

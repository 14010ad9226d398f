import Classification
import ECGCore
import ECGFormats
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import KMERLTestSupport
import Testing

@testable import Reports

@Suite struct ECGPlotTests {
    func strips(_ record: ECGRecord, caption: String = "") -> [PlotStrip] {
        record.standardLeads.compactMap { lead in
            record.signal(for: lead).map {
                PlotStrip(lead: lead.name, samples: $0.samples, millivoltsPerUnit: $0.millivoltsPerUnit, caption: caption, isUsable: true)
            }
        }
    }

    @Test func ludbRecordIsDrawnOnTheStandardGrid() throws {
        let record = try ECGReader.read(try SharedData.url("ludb/data/1.hea"))
        let svg = ECGPlot().svg(strips: strips(record, caption: "CLBBB 0.91 <b>"), samplingRate: record.samplingRate)
        // 10 s at 25 mm/s = 250 mm plus the 10 mm calibration margin.
        #expect(svg.contains("width=\"260mm\""))
        #expect(svg.contains("viewBox=\"0 0 260 "))
        // One trace per lead, each with its label; caption text is escaped.
        #expect(svg.components(separatedBy: "<g clip-path=\"url(#c").count - 1 == 12)
        for lead in StandardLead.allCases { #expect(svg.contains(">\(lead.name)</tspan>")) }
        #expect(svg.contains("CLBBB 0.91 &lt;b&gt;"))
        #expect(!svg.contains("<b>"))
        // Well-formed XML.
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse())
    }

    @Test func calibrationPulseIsTenMillimetresForMillivolts() throws {
        let record = try ECGReader.read(try SharedData.url("ludb/data/1.hea"))
        let svg = ECGPlot().svg(strips: Array(strips(record).prefix(1)), samplingRate: record.samplingRate)
        // The pulse goes from the baseline y to y − 10 (1 mV at 10 mm/mV).
        let defs = try #require(svg.range(of: "</defs>"))
        let pulse = try #require(svg.range(of: "<path d=\"M1 ", range: defs.upperBound..<svg.endIndex))
        let tail = svg[pulse.upperBound...]
        let numbers = tail.prefix(40).split(whereSeparator: { !"0123456789.".contains($0) }).compactMap { Double($0) }
        // M1 y H3 V(y-10) H8 V y
        #expect(numbers.count >= 4)
        #expect(abs(numbers[0] - numbers[2] - 10) < 0.11)
    }

    @Test func decimationKeepsTheQRSPeaks() throws {
        let record = try ECGReader.read(try SharedData.url("ludb/data/1.hea"))
        let lead = try #require(record.signal(for: .ii))
        let plot = ECGPlot()
        var out = ""
        plot.appendTrace(lead.samples, samplingRate: record.samplingRate, baseline: 0, mid: 0, gain: 10, into: &out)
        // "M x y" then relative "l dx dy" steps, in tenths of a millimetre.
        var ys: [Double] = []
        var y = 0.0
        for command in out.split(whereSeparator: { $0 == "M" || $0 == "l" }) {
            let parts = command.split(separator: " ").compactMap { Double($0) }
            guard parts.count == 2 else { continue }
            y = ys.isEmpty ? parts[1] : y + parts[1]
            ys.append(y)
        }
        let maxSample = Double(lead.samples.filter { $0.isFinite }.max() ?? 0)
        // y = −v · 10 mm/mV in tenths of a mm → the smallest y is the largest sample, to 0.1 mm.
        #expect(abs((ys.min() ?? 0) + maxSample * 100) < 0.6)
        // 5000 samples at 500 Hz reduce to at most two points per 0.25 mm column (1000 columns).
        #expect(ys.count <= 2000 && ys.count > 1000)
    }
}

import ECGCore
import ECGFormats
import Foundation
import KMERLTestSupport

/// Real records for the signal tests.
enum TestRecords {
    /// LUDB record `n` (1–100), 12 leads at 500 Hz in mV.
    static func ludb(_ n: Int) throws -> ECGRecord {
        try loadFormat16(try SharedData.url("ludb/data/\(n).hea"))
    }

    /// Expert waves of LUDB record `n`, lead `lead` (lower-case LUDB suffix: `i`, `avr`, `v1` …).
    static func ludbWaves(_ n: Int, lead: String) throws -> [AnnotatedWave] {
        WFDBAnnotations.waves(try WFDBAnnotations.read(try SharedData.url("ludb/data/\(n).\(lead)")))
    }

    /// Minimal WFDB format-16 loader (temporary, until the formats reader is merged).
    static func loadFormat16(_ header: URL) throws -> ECGRecord {
        let text = try String(contentsOf: header, encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        let first = lines[0].split(separator: " ")
        let count = Int(first[1])!
        let fs = Double(first[2])!
        var gains: [Double] = []
        var baselines: [Double] = []
        var names: [String] = []
        var units: [String] = []
        var datFile = ""
        for line in lines.dropFirst().prefix(count) {
            let f = line.split(separator: " ")
            datFile = String(f[0])
            let g = f[2]
            let gainText = g.split(separator: "/")[0]
            let unit = g.split(separator: "/").count > 1 ? String(g.split(separator: "/")[1]) : "mV"
            if let paren = gainText.firstIndex(of: "(") {
                gains.append(Double(gainText[..<paren])!)
                baselines.append(Double(gainText[gainText.index(after: paren)...].dropLast())!)
            } else {
                gains.append(Double(gainText)!)
                baselines.append(Double(f[4])!)
            }
            units.append(unit)
            names.append(String(f.last!))
        }
        let data = try Data(contentsOf: header.deletingLastPathComponent().appendingPathComponent(datFile))
        let frames = data.count / (2 * count)
        var leads = (0..<count).map { _ in [Float](repeating: 0, count: frames) }
        data.withUnsafeBytes { raw in
            let p = raw.bindMemory(to: Int16.self)
            for t in 0..<frames {
                for c in 0..<count {
                    leads[c][t] = Float((Double(Int16(littleEndian: p[t * count + c])) - baselines[c]) / gains[c])
                }
            }
        }
        return ECGRecord(
            id: header.deletingPathExtension().lastPathComponent, samplingRate: fs,
            leads: (0..<count).map { LeadSignal(lead: Lead(parsing: names[$0]), writtenName: names[$0], samples: leads[$0], units: units[$0]) },
            comments: lines.filter { $0.hasPrefix("#") }, sourceFormat: .wfdb, sourceURL: header)
    }

    /// Minimal format-212 loader for MIT-BIH record 100 channel `channel` (temporary).
    static func mitbih100(channel: Int) throws -> ECGRecord {
        let url = try SharedData.url("wfdb-samples/100.dat")
        let bytes = [UInt8](try Data(contentsOf: url))
        var samples: [Float] = []
        samples.reserveCapacity(650_000)
        var k = 0
        while k + 2 < bytes.count {
            var a = Int(bytes[k]) | ((Int(bytes[k + 1]) & 0x0F) << 8)
            var b = Int(bytes[k + 2]) | ((Int(bytes[k + 1]) & 0xF0) << 4)
            if a > 2047 { a -= 4096 }
            if b > 2047 { b -= 4096 }
            samples.append(Float(Double((channel == 0 ? a : b) - 1024) / 200))
            k += 3
        }
        return ECGRecord(id: "100", samplingRate: 360, leads: [LeadSignal(lead: Lead(parsing: channel == 0 ? "MLII" : "V5"), writtenName: "MLII", samples: samples, units: "mV")], sourceFormat: .wfdb)
    }

    /// The LUDB annotation suffix of a standard lead.
    static func ludbSuffix(_ lead: StandardLead) -> String { lead.name.lowercased() }
}

import ECGCore
import Foundation
import KMERLModel

/// Minimal reader for the single-file WFDB format-16 records of the PTB-XL copies, used by
/// `kmerl-train` until the full reader of ECGFormats is merged.
enum PTBXLRecords {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads `NNNNN_lr.hea` and its `.dat` (format 16 only).
    static func read(header url: URL) throws -> ECGRecord {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch { throw Failure(description: "\(url.path): cannot read header") }
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.hasPrefix("#") && !$0.trimmingWhitespace().isEmpty }
        guard let first = lines.first else { throw Failure(description: "\(url.path): empty header") }
        let f = first.split(separator: " ")
        guard f.count >= 4, let nsig = Int(f[1]), let fs = Double(f[2].split(separator: "/")[0]), let nsamp = Int(f[3]) else {
            throw Failure(description: "\(url.path): bad record line")
        }
        guard lines.count >= 1 + nsig else { throw Failure(description: "\(url.path): \(nsig) signals announced, fewer lines") }
        var specs: [(file: String, gain: Double, baseline: Double, units: String, name: String)] = []
        for i in 0..<nsig {
            let p = lines[1 + i].split(separator: " ").map(String.init)
            guard p.count >= 9, p[1] == "16" else { throw Failure(description: "\(url.path): signal \(i + 1) is not format 16") }
            // e.g. 1000.0(0)/NU
            let g = p[2]
            let gainPart = g.split(separator: "/")[0]
            let units = g.contains("/") ? String(g.split(separator: "/")[1]) : "mV"
            let gain = Double(gainPart.split(separator: "(")[0]) ?? 200
            var baseline = 0.0
            if let open = gainPart.firstIndex(of: "("), let close = gainPart.firstIndex(of: ")") {
                baseline = Double(gainPart[gainPart.index(after: open)..<close]) ?? 0
            }
            specs.append((p[0], gain == 0 ? 200 : gain, baseline, units, p[p.count - 1]))
        }
        let datURL = url.deletingLastPathComponent().appendingPathComponent(specs[0].file)
        let data: Data
        do { data = try Data(contentsOf: datURL) } catch { throw Failure(description: "\(datURL.path): cannot read") }
        guard data.count >= nsamp * nsig * 2 else { throw Failure(description: "\(datURL.path): \(data.count) bytes, expected \(nsamp * nsig * 2)") }
        var leads: [LeadSignal] = []
        let bytes = [UInt8](data)
        for (s, spec) in specs.enumerated() {
            var samples = [Float](repeating: 0, count: nsamp)
            for t in 0..<nsamp {
                let o = (t * nsig + s) * 2
                let v = Int16(bitPattern: UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8)
                samples[t] = v == Int16.min ? .nan : Float((Double(v) - spec.baseline) / spec.gain)
            }
            leads.append(LeadSignal(lead: Lead(parsing: spec.name), writtenName: spec.name, samples: samples, units: spec.units))
        }
        return ECGRecord(id: String(f[0]), samplingRate: fs, leads: leads, sourceFormat: .wfdb, sourceURL: url)
    }

    /// All `*.hea` files below `directory`, sorted.
    static func headers(in directory: URL) -> [URL] {
        guard let e = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return [] }
        var out: [URL] = []
        for case let u as URL in e where u.pathExtension == "hea" { out.append(u) }
        return out.sorted { $0.path < $1.path }
    }
}

import Classification
import Foundation
import KMERLModel
import Knowledge

// bench-nightly: helpers and a per-phase breakdown for Benchmarks/nightly.sh.
//   bench-nightly model PATH          writes an untrained encoder (when no default model is embedded)
//   bench-nightly scan INBOX DB [N]   times the phases of a nothing-new scan, N times (default 5)

func milliseconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15
}

let arguments = CommandLine.arguments
switch arguments.count > 1 ? arguments[1] : "" {
case "model" where arguments.count == 3:
    try KMERLEncoderModel.untrained(seed: 1).write(to: URL(fileURLWithPath: arguments[2]))
case "scan" where arguments.count >= 4:
    let inbox = URL(fileURLWithPath: arguments[2]).standardizedFileURL.resolvingSymlinksInPath()
    let store = try KnowledgeStore(path: arguments[3])
    let ledger = store.nightly
    let repeats = arguments.count > 4 ? Int(arguments[4]) ?? 5 : 5
    print("phase (ms)          " + (1...repeats).map { String(format: "%8d", $0) }.joined())
    var rows: [(String, [Double])] = [("list files", []), ("group records", []), ("ledger: stamps", []), ("ledger: entries", []), ("whole scan", [])]
    var unchanged = 0
    for _ in 0..<repeats {
        var files: [String: InboxFile] = [:]
        rows[0].1.append(try milliseconds { files = try InboxScanner.listFiles(in: inbox) })
        rows[1].1.append(milliseconds { _ = InboxScanner.groupRecords(inbox: inbox, files: files) })
        rows[2].1.append(try milliseconds { _ = try ledger.fileStamps(inbox: inbox.path) })
        rows[3].1.append(try milliseconds { _ = try ledger.entries(inbox: inbox.path) })
        let scanner = InboxScanner(inbox: inbox)
        let start = ContinuousClock.now
        let scan = try await scanner.scan(ledger: ledger)
        let elapsed = ContinuousClock.now - start
        rows[4].1.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15)
        unchanged = scan.unchanged
    }
    for (name, values) in rows {
        print(name.padding(toLength: 20, withPad: " ", startingAt: 0) + values.map { String(format: "%8.1f", $0) }.joined())
    }
    print("records unchanged: \(unchanged)")
default:
    FileHandle.standardError.write(Data("usage: bench-nightly model PATH | bench-nightly scan INBOX DB [REPEATS]\n".utf8))
    exit(2)
}

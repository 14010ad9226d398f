// bench-formats: how fast kmerl reads WFDB records, and whether memory stays flat.
//
// Usage: bench-formats FOLDER [--passes N] [--list FILE]
// Discovers the records under FOLDER (or reads the header paths listed in FILE, one per line),
// then reads every record N times single-threaded and once with one task per core, printing
// records/s and the peak resident set size after each pass.
import ECGCore
import ECGFormats
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024  // KiB on Linux
}

/// User + system CPU seconds of this process (robust to other processes competing for the cores).
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

var arguments = Array(CommandLine.arguments.dropFirst())
var passes = 3
var listFile: String?
var folder: String?
while !arguments.isEmpty {
    let a = arguments.removeFirst()
    switch a {
    case "--passes": passes = Int(arguments.removeFirst()) ?? 3
    case "--list": listFile = arguments.removeFirst()
    default: folder = a
    }
}

var headers: [URL] = []
let t0 = now()
if let listFile {
    let text = try String(contentsOfFile: listFile, encoding: .utf8)
    headers = text.split(separator: "\n").map { URL(fileURLWithPath: String($0)) }
} else if let folder {
    headers = RecordDiscovery.discover([URL(fileURLWithPath: folder)]).records.map(\.primary)
} else {
    FileHandle.standardError.write(Data("usage: bench-formats FOLDER [--passes N] [--list FILE]\n".utf8))
    exit(2)
}
let discoverySeconds = now() - t0
print("records: \(headers.count)  (discovery \(String(format: "%.3f", discoverySeconds)) s)")
print("peak RSS before reading: \(String(format: "%.1f", peakRSSMiB())) MiB")

var best = 0.0
var bestCPU = 0.0
var checksum = 0.0
for pass in 1...passes {
    let start = now()
    let cpuStart = cpuSeconds()
    var samples = 0
    for url in headers {
        do {
            let record = try WFDBReader.read(header: url)
            samples += record.sampleCount * record.leads.count
            checksum += Double(record.leads[0].samples[0])
        } catch {
            print("error: \(error)")
        }
    }
    let seconds = now() - start
    let cpu = cpuSeconds() - cpuStart
    let rate = Double(headers.count) / seconds
    let cpuRate = Double(headers.count) / cpu
    best = max(best, rate)
    bestCPU = max(bestCPU, cpuRate)
    print(
        "pass \(pass): \(headers.count) records, \(samples) samples in \(String(format: "%.3f", seconds)) s = \(String(format: "%.0f", rate)) records/s wall, \(String(format: "%.0f", cpuRate)) records per CPU-second (1 thread); peak RSS \(String(format: "%.1f", peakRSSMiB())) MiB"
    )
}

// All cores: one task per core, each reading a strided share of the records.
let cores = ProcessInfo.processInfo.activeProcessorCount
let parallelStart = now()
let sharedHeaders = headers
let parallelCount = await withTaskGroup(of: Int.self) { group in
    for worker in 0..<cores {
        group.addTask {
            var n = 0
            var k = worker
            while k < sharedHeaders.count {
                if (try? WFDBReader.read(header: sharedHeaders[k])) != nil { n += 1 }
                k += cores
            }
            return n
        }
    }
    var total = 0
    for await n in group { total += n }
    return total
}
let parallelRate = Double(parallelCount) / (now() - parallelStart)
print("parallel (\(cores) cores): \(String(format: "%.0f", parallelRate)) records/s; peak RSS \(String(format: "%.1f", peakRSSMiB())) MiB")
print("KMERL_RECORDS_PER_S=\(String(format: "%.1f", best))")
print("KMERL_RECORDS_PER_CPU_S=\(String(format: "%.1f", bestCPU))")
print("KMERL_PARALLEL_RECORDS_PER_S=\(String(format: "%.1f", parallelRate))")
print("(checksum \(checksum))")

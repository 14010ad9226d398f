import ECGCore
import Foundation
import KMERLModel

// bench-model: matmul GFLOP/s (one core, 256³), inference records/s (12-lead, 10 s, all cores),
// and the time of one training epoch over the PTB-XL training folds.
// Usage: bench-model DATA_DIR MODEL.safetensors

let args = CommandLine.arguments
let dataDir = URL(fileURLWithPath: args.count > 1 ? args[1] : "../shared/data")
let modelPath = args.count > 2 ? args[2] : "Models/kmerl-default.safetensors"

func now() -> Double { Date().timeIntervalSince1970 }

/// CPU seconds used by this process (all threads): on a shared, loaded machine wall-clock rates
/// understate the code's speed, so rates per CPU-second are printed too.
func cpuTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
let cores = ProcessInfo.processInfo.activeProcessorCount
/// `BENCH_MODEL_PARTS=inference` (comma-separated: matmul, inference, single, forward, epoch) runs only those parts (for profiling).
let parts = Set((ProcessInfo.processInfo.environment["BENCH_MODEL_PARTS"] ?? "matmul,inference,single,forward,epoch").split(separator: ",").map(String.init))

// 1. Matmul.
if parts.contains("matmul") {
    let n = 256
    var rng = SeededGenerator(seed: 1)
    let a = (0..<(n * n)).map { _ in rng.nextGaussian() }
    let b = (0..<(n * n)).map { _ in rng.nextGaussian() }
    _ = Matmul.multiply(a, b, m: n, n: n, k: n)
    var best = 0.0
    var bestCPU = 0.0
    for _ in 0..<5 {
        let reps = 20
        let t0 = now()
        let c0 = cpuTime()
        for _ in 0..<reps { _ = Matmul.multiply(a, b, m: n, n: n, k: n) }
        let flops = 2 * Double(n * n * n) * Double(reps)
        best = max(best, flops / (now() - t0) / 1e9)
        bestCPU = max(bestCPU, flops / (cpuTime() - c0) / 1e9)
    }
    print(String(format: "matmul 256x256x256, one core: %.1f GFLOP/s wall, %.1f GFLOP per CPU-second (best of 5)", best, bestCPU))
}

// Records: the PTB-XL copies, read directly (format 16).
func readRecord(_ hea: URL) -> ECGRecord? {
    guard let text = try? String(contentsOf: hea, encoding: .utf8) else { return nil }
    let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.hasPrefix("#") }
    let f = lines[0].split(separator: " ")
    guard let nsig = Int(f[1]), let fs = Double(f[2]), let n = Int(f[3]),
        let data = try? Data(contentsOf: hea.deletingLastPathComponent().appendingPathComponent(String(lines[1].split(separator: " ")[0])))
    else { return nil }
    let bytes = [UInt8](data)
    var leads: [LeadSignal] = []
    for s in 0..<nsig {
        let p = lines[1 + s].split(separator: " ")
        let gain = Double(p[2].split(separator: "(")[0]) ?? 1000
        var x = [Float](repeating: 0, count: n)
        for t in 0..<n {
            let o = (t * nsig + s) * 2
            x[t] = Float(Double(Int16(bitPattern: UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8)) / gain)
        }
        leads.append(LeadSignal(lead: Lead(parsing: String(p[p.count - 1])), writtenName: String(p[p.count - 1]), samples: x, units: "NU"))
    }
    return ECGRecord(id: String(f[0]), samplingRate: fs, leads: leads, sourceFormat: .wfdb)
}

let root = dataDir.appendingPathComponent("ptbxl/records100")
var headers: [URL] = []
if let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) {
    for case let u as URL in e where u.pathExtension == "hea" { headers.append(u) }
}
headers.sort { $0.path < $1.path }
let records = headers.compactMap(readRecord)
print("records: \(records.count) PTB-XL 12-lead 10 s records")

let model: KMERLEncoderModel
do {
    model = try KMERLEncoderModel.load(contentsOf: URL(fileURLWithPath: modelPath))
} catch {
    print("cannot load model: \(error)")
    exit(1)
}
print("model: \(model.version), \(model.parameterCount) parameters")

print("kernels: \(Matmul.kernels)")

/// Runs `body` on all cores over `chunks` (64 records each), like `KMERLEncoderModel.embed`.
func overChunks<T: Sendable>(_ chunks: [T], _ body: @escaping @Sendable (T) -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        var next = 0
        for _ in 0..<cores where next < chunks.count {
            let c = chunks[next]
            next += 1
            group.addTask { body(c) }
        }
        while await group.next() != nil {
            if next < chunks.count {
                let c = chunks[next]
                next += 1
                group.addTask { body(c) }
            }
        }
    }
}

func report(_ what: String, records: Int, wall: Double, cpu: Double) {
    print(
        String(
            format: "%@: %.0f records/s wall (load average %.1f); %.3f CPU-ms per record = %.0f records per CPU-second = %.0f records/s on %d unloaded cores",
            what, Double(records) / wall, loadAverage(), cpu / Double(records) * 1000, Double(records) / cpu, Double(records) / cpu * Double(cores), cores))
}

func loadAverage() -> Double {
    var l = [Double](repeating: 0, count: 3)
    return getloadavg(&l, 3) > 0 ? l[0] : .nan
}

let semaphore = DispatchSemaphore(value: 0)
Task.detached {
    // 2. Inference (preprocessing + record embedding + per-lead embeddings), all cores; best of 3.
    if parts.contains("inference") {
        _ = await model.embed(Array(records.prefix(64)))
        var best = (wall: Double.infinity, cpu: Double.infinity)
        for _ in 0..<3 {
            let t0 = now()
            let c0 = cpuTime()
            let e = await model.embed(records)
            precondition(e.count == records.count && e.allSatisfy { $0.perLead.count == 12 })
            best = (min(best.wall, now() - t0), min(best.cpu, cpuTime() - c0))
        }
        report("inference, record + 12 per-lead embeddings, incl. preprocessing", records: records.count, wall: best.wall, cpu: best.cpu)
    }
    // One record per call (as classification calls `embed(_:)`), on one core.
    if parts.contains("single") {
        let sample = Array(records.prefix(400))
        var best = (wall: Double.infinity, cpu: Double.infinity)
        for _ in 0..<3 {
            let t0 = now()
            let c0 = cpuTime()
            for r in sample { precondition(model.embed(r).perLead.count == 12) }
            best = (min(best.wall, now() - t0), min(best.cpu, cpuTime() - c0))
        }
        report("inference one record per call (embed(record)), one core", records: sample.count, wall: best.wall, cpu: best.cpu)
    }
    // Encoder forward on prepared records: record embedding only (what score() needs without
    // per-lead confidences, and what the PyTorch comparison computes), and with per-lead.
    let prepared = records.map(model.preparedLeads)
    let chunks = stride(from: 0, to: prepared.count, by: 64).map { Array(prepared[$0..<min(prepared.count, $0 + 64)]) }
    if parts.contains("forward") {
        for perLead in [false, true] {
            var best = (wall: Double.infinity, cpu: Double.infinity)
            for _ in 0..<3 {
                let t0 = now()
                let c0 = cpuTime()
                await overChunks(chunks) { c in _ = model.embed(prepared: c, perLead: perLead) }
                best = (min(best.wall, now() - t0), min(best.cpu, cpuTime() - c0))
            }
            report(perLead ? "encoder forward, record + per-lead embeddings (prepared records)" : "encoder forward, record embedding only (prepared records)", records: prepared.count, wall: best.wall, cpu: best.cpu)
        }
    }

    // 3. One training epoch over 1,442 records (folds 1–8 size), default options.
    if parts.contains("epoch") {
        let entities = [EntitySpec(id: "NORM", text: "normal ECG"), EntitySpec(id: "MI", text: "myocardial infarction")]
        let train = prepared.prefix(1442).enumerated().map { i, leads in
            TrainingSample(
                id: "\(i)", leads: Dictionary(uniqueKeysWithValues: leads.map { ($0.0, $0.1) }), targets: [Float(i % 2), Float((i / 2) % 2)],
                report: "report \(i % 50)")
        }
        var options = TrainingOptions()
        options.shards = cores
        do {
            let trainer = try Trainer(configuration: model.configuration, entities: entities, heldOut: [], options: options)
            var state = trainer.initialState()
            let t2 = now()
            let c2 = cpuTime()
            _ = await trainer.runEpoch(&state, samples: train)
            let cpu2 = cpuTime() - c2
            print(
                String(
                    format: "training epoch over %d records (dynamic lead masking): %.1f s wall (load average %.1f), %.1f CPU-s = %.1f s on %d unloaded cores",
                    train.count, now() - t2, loadAverage(), cpu2, cpu2 / Double(cores), cores))
        } catch {
            print("training benchmark failed: \(error)")
        }
    }
    semaphore.signal()
}
semaphore.wait()

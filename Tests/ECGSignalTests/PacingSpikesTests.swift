import ECGCore
import ECGSignal
import Foundation
import Testing

@Suite struct PacingSpikesTests {
    /// LUDB records 1–100: spikes are found only in records that LUDB's "Cardiac pacing" column
    /// marks paced, and in every such record with ventricular or atrial pacing stimuli visible in most leads.
    @Test func spikesOnlyInPacedLUDBRecords() throws {
        let detector = PacingSpikeDetector()
        var found: [Int: Int] = [:]
        let paced = try TestRecords.ludbPaced().filter { $0 <= 100 }
        for n in 1...100 {
            let record = try TestRecords.ludb(n)
            let spikes = detector.detect(record.leads.map(\.samples), scales: record.leads.map(\.millivoltsPerUnit), sampleRate: record.samplingRate)
            if !spikes.isEmpty { found[n] = spikes.count }
        }
        print("pacing spikes found:", found.sorted { $0.key < $1.key }, "records labelled paced:", paced.sorted())
        // Record 72 ("P-synchrony": atrial-synchronous ventricular pacing) is marked paced in that
        // column although no header comment says "pacing".
        #expect(paced == [8, 34, 45, 72, 74, 90, 93, 95])
        // No false alarm on the 92 unpaced records.
        #expect(Set(found.keys).isSubset(of: paced))
        // Unipolar pacing (large spikes): every beat's stimulus in 10 s.
        #expect((found[34] ?? 0) >= 9)
        #expect((found[74] ?? 0) >= 9)
        #expect((found[95] ?? 0) >= 5)
        // Bipolar pacing (record 90) gives spikes too small to be told from noise: not detected.
        #expect(found.count >= 5)
    }

    /// Lead II alone and leads I+II (no coincidence across leads to rely on): spikes recognised by
    /// their shape, in none of the 92 unpaced LUDB records 1–100 (LUDB's "Cardiac pacing" column), and in the paced records whose
    /// stimuli are large in those leads (unipolar pacing: 34 and 74 in both, 95 in lead I, 8 in lead II).
    @Test func spikesByShapeInOneOrTwoLeads() throws {
        let detector = PacingSpikeDetector()
        var found: [[Int: Int]] = [[:], [:]]
        let subsets: [Set<StandardLead>] = [[.ii], [.i, .ii]]
        for n in 1...100 {
            let record = try TestRecords.ludb(n)
            for (s, leads) in subsets.enumerated() {
                let kept = record.keeping(leads)
                let spikes = detector.detect(kept.leads.map(\.samples), scales: kept.leads.map(\.millivoltsPerUnit), sampleRate: kept.samplingRate)
                if !spikes.isEmpty { found[s][n] = spikes.count }
            }
        }
        let foundII = found[0], foundIAndII = found[1]
        print("pacing spikes by shape, lead II:", foundII.sorted { $0.key < $1.key }, "I+II:", foundIAndII.sorted { $0.key < $1.key })
        let paced = try TestRecords.ludbPaced()
        #expect(Set(foundII.keys).isSubset(of: paced))
        #expect(Set(foundIAndII.keys).isSubset(of: paced))
        #expect(Set(foundII.keys).isSuperset(of: [8, 34, 74]))
        #expect(Set(foundIAndII.keys).isSuperset(of: [8, 34, 74, 95]))
        #expect((foundIAndII[34] ?? 0) >= 9 && (foundIAndII[95] ?? 0) >= 5)
        // Below the rate at which a spike of a few milliseconds is sampled reliably: not looked for.
        let record = try TestRecords.ludb(74).keeping([.ii])
        let every2nd = record.leads.map { lead in stride(from: 0, to: lead.samples.count, by: 2).map { lead.samples[$0] } }
        #expect(detector.detect(every2nd, scales: record.leads.map(\.millivoltsPerUnit), sampleRate: 250).isEmpty)
    }

    /// The six limb leads alone (derived from two): a stimulus hardly visible in lead II (records 8
    /// and 45) shows in the other five, which is enough; no unpaced record gets spikes.
    @Test func spikesInTheLimbLeadsAlone() throws {
        let detector = PacingSpikeDetector()
        var found: [Int: Int] = [:]
        for n in 1...100 {
            let record = try TestRecords.ludb(n).keeping(Set(StandardLead.limbLeads))
            let spikes = detector.detect(record.leads.map(\.samples), scales: record.leads.map(\.millivoltsPerUnit), sampleRate: record.samplingRate)
            if !spikes.isEmpty { found[n] = spikes.count }
        }
        print("pacing spikes, limb leads alone:", found.sorted { $0.key < $1.key })
        #expect(Set(found.keys).isSubset(of: try TestRecords.ludbPaced()))
        #expect(Set(found.keys).isSuperset(of: [8, 34, 45, 74, 95]))
        #expect((found[45] ?? 0) >= 4)
    }

    /// The coupled-stimulus rule on its own (`detectCoupled`, with the beats the pipeline detects),
    /// from lead II alone, I+II, the limb leads and all twelve of LUDB records 1–100: stimuli only
    /// in records that LUDB marks paced — also where the pipeline would never ask (it asks only
    /// once other rules have shown the record to be paced).
    @Test func coupledStimuliOnlyInPacedLUDBRecords() throws {
        let detector = PacingSpikeDetector()
        let paced = try TestRecords.ludbPaced()
        let subsets: [Set<StandardLead>] = [[.ii], [.i, .ii], Set(StandardLead.limbLeads), Set(StandardLead.allCases)]
        var found: [Int: [Int]] = [:]
        for n in 1...100 {
            let record = try TestRecords.ludb(n)
            for leads in subsets {
                let kept = record.keeping(leads)
                let beats = MeasurementPipeline().measure(kept).beats
                let stimuli = detector.detectCoupled(kept.leads.map(\.samples), scales: kept.leads.map(\.millivoltsPerUnit), beats: beats, sampleRate: kept.samplingRate)
                found[n, default: []].append(stimuli.count)
            }
        }
        let withStimuli = found.filter { $0.value.contains { $0 > 0 } }
        print("coupled stimuli (II, I+II, limb, 12):", withStimuli.sorted { $0.key < $1.key })
        #expect(Set(withStimuli.keys).isSubset(of: paced))
        // Unipolar pacing whose stimuli decay into the QRS: every paced beat from the subsets that
        // show them (45: not lead II; 72: not the limb leads, where the detector's fiducial point
        // lands on the stimulus of every beat, so no interval confirms the coupling).
        #expect(found[45] == [0, 8, 8, 8])
        #expect((found[72] ?? []).enumerated().allSatisfy { $0.offset == 2 || $0.element >= 9 })
    }

    /// Record 45's limb leads: coincidence across leads finds the ventricular stimuli of only four
    /// beats (the others decay too slowly to pass `returnFraction`); their coupling to the QRS
    /// complexes confirms the stimuli of the other beats, and the record is measured as from all
    /// twelve leads — while the atrial stimulus and P wave after an extrasystole, no longer masked
    /// by the ventricular stimuli, is not counted as a beat (the ventricular stimulus after it captures).
    @Test func coupledStimuliCompleteARecordShownToBePaced() throws {
        let record = try TestRecords.ludb(45)
        let detector = PacingSpikeDetector()
        let limb = record.keeping(Set(StandardLead.limbLeads))
        let byCoincidence = detector.detect(limb.leads.map(\.samples), scales: limb.leads.map(\.millivoltsPerUnit), sampleRate: 500)
        #expect(byCoincidence.count == 4)
        let pipeline = MeasurementPipeline()
        let fromLimb = pipeline.measure(limb), from12 = pipeline.measure(record)
        print("record 45, limb leads: stimuli", fromLimb.pacingSpikes ?? [], "HR", fromLimb.heartRate ?? .nan, "QRS", fromLimb.qrsDuration ?? .nan, "ms; 12 leads: QRS", from12.qrsDuration ?? .nan, "ms")
        #expect((fromLimb.pacingSpikes?.count ?? 0) >= 8)
        #expect(abs((fromLimb.heartRate ?? 0) - (from12.heartRate ?? 0)) < 1)
        #expect(abs((fromLimb.qrsDuration ?? 0) - (from12.qrsDuration ?? 0)) <= 12)
        // No stimulus edge coupled to the beats in the other leads of unpaced records: see
        // `MeasurementPipelineTests.leadSubsetsAgree` (no pacing stimuli from any subset).
    }

    @Test func removalInterpolatesOnlyAroundTheSpike() {
        let detector = PacingSpikeDetector()
        var x = [Float](repeating: 0.2, count: 100)
        x[50] = 1.2
        let y = detector.remove([50], from: x, sampleRate: 500)
        #expect(y[50] == 0.2)
        #expect(y[30] == 0.2 && y[70] == 0.2)
        #expect(y.count == x.count)
    }

    @Test func pacedRecordQRSOnsetFollowsTheStimulus() throws {
        // Record 74 (unipolar ventricular pacing): with the spikes left in, the QRS onset is taken
        // at the stimulus, about 35 ms before the experts' onsets; with them removed, much closer.
        let record = try TestRecords.ludb(74)
        var removing = MeasurementPipeline()
        removing.keepBeatBoundaries = true
        var keeping = removing
        keeping.pacing = nil
        func onsetError(_ m: RecordMeasurements) throws -> BoundaryStatistics {
            var score = DelineationScore()
            for (index, lead) in record.leads.enumerated() {
                let std = try #require(lead.lead.standardLead)
                let waves = try TestRecords.ludbWaves(74, lead: TestRecords.ludbSuffix(std))
                score.add(reference: waves, detected: DelineationScore.detectedPositions(beats: m.beats, lead: m.leads[index], sampleRate: 500), sampleRate: 500)
            }
            return score.statistics[0]
        }
        let removed = removing.measure(record), kept = keeping.measure(record)
        #expect((removed.pacingSpikes?.count ?? 0) >= 9)
        #expect(kept.pacingSpikes == nil)
        let withRemoval = try onsetError(removed), without = try onsetError(kept)
        print(String(format: "record 74 QRS onset error: spikes removed %.1f ± %.1f ms, kept %.1f ± %.1f ms", withRemoval.mean, withRemoval.standardDeviation, without.mean, without.standardDeviation))
        #expect(without.mean < -25)
        #expect(abs(withRemoval.mean) < abs(without.mean) - 10)
    }
}


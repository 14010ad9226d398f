import ECGCore
import Foundation
import KMERLTestSupport
import Testing

@testable import ECGFormats

/// The shipped example records (README quick start) must stay readable with their lead subsets.
@Suite("Examples/incoming")
struct ExamplesTests {
    @Test("every example record reads, with 12, 6, 2 and 1 leads")
    func examples() throws {
        let folder = SharedData.projectRoot.appendingPathComponent("Examples/incoming")
        let result = RecordDiscovery.discover([folder])
        #expect(result.skipped.isEmpty, "\(result.skipped)")
        var leads: [String: [StandardLead]] = [:]
        for found in result.records {
            let record = try ECGReader.read(found.primary)
            #expect(record.warnings.isEmpty, "\(found.id): \(record.warnings)")
            #expect(record.samplingRate == 500)
            #expect(abs(record.duration - 10) < 0.01)
            leads[found.id] = record.standardLeads
        }
        #expect(leads["ludb-24"] == StandardLead.allCases)
        #expect(leads["E07500"] == StandardLead.allCases)
        #expect(leads["Example_aECG"] == StandardLead.allCases)
        #expect(leads["ludb-10-limb"] == StandardLead.limbLeads)
        #expect(leads["ludb-44-I-II"] == [.i, .ii])
        #expect(leads["ludb-1-II"] == [.ii])
        #expect(result.records.map(\.format) == [.wfdbMat, .hl7aECG, .wfdb, .wfdb, .wfdb, .csv])
    }

    @Test("the rewritten subsets keep LUDB's digital samples exactly")
    func subsetsMatchLUDB() throws {
        let folder = SharedData.projectRoot.appendingPathComponent("Examples/incoming")
        let limb = try WFDBReader.read(header: folder.appendingPathComponent("ludb-10-limb.hea"))
        let full = try WFDBReader.read(header: try SharedData.url("ludb/data/10.hea"))
        for (a, b) in zip(limb.leads, full.leads.prefix(6)) {
            #expect(a.writtenName == b.writtenName)
            #expect(a.adc?.sum == b.adc?.sum)
            #expect(a.samples == b.samples)
        }
        // Reading through the signal file finds the header beside it.
        let one = try ECGReader.read(folder.appendingPathComponent("ludb-1-II.dat"))
        let ludb1 = try WFDBReader.read(header: try SharedData.url("ludb/data/1.hea"))
        #expect(one.leads[0].adc?.sum == ludb1.leads[1].adc?.sum)
        #expect(one.leads[0].samples == ludb1.leads[1].samples)
        let csv = try ECGReader.read(folder.appendingPathComponent("ludb-44-I-II.csv"))
        let ludb44 = try WFDBReader.read(header: try SharedData.url("ludb/data/44.hea"))
        for k in [0, 1234, 4999] {
            #expect(abs(csv.leads[1].samples[k] - ludb44.leads[1].samples[k]) <= 0.00005)
        }
    }
}

import ECGCore
import ECGSignal
import Foundation
import Testing

@Suite struct MeasurementExportTests {
    @Test func jsonHasTheIssueKeysAndLeavesOutWhatIsMissing() throws {
        let record = try TestRecords.ludb(1)
        var zeroLead = try #require(record.signal(for: .v1))
        zeroLead.samples = [Float](repeating: 0, count: zeroLead.samples.count)
        var withFlat = record.keeping([.i, .ii, .iii, .aVR, .aVL, .aVF])
        withFlat.leads.append(zeroLead)
        let m = MeasurementPipeline().measure(withFlat)
        let data = Data(try MeasurementExport.json([m]).utf8)
        let array = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        let object = try #require(array.first)
        #expect(Set(object.keys) == [
            "record", "heartRate", "rrMean", "rrSD", "prInterval", "qrsDuration", "qtInterval", "qtcBazett", "qtcFridericia",
            "pAxis", "qrsAxis", "tAxis", "leads",
        ])
        #expect(object["record"] as? String == "1")
        let hr = try #require(object["heartRate"] as? Double)
        #expect(hr > 40 && hr < 60)  // sinus bradycardia
        let leads = try #require(object["leads"] as? [[String: Any]])
        #expect(leads.count == 7)
        let ii = try #require(leads.first { $0["name"] as? String == "II" })
        #expect(Set(ii.keys) == ["name", "quality", "status", "pAmplitude", "qAmplitude", "rAmplitude", "sAmplitude", "tAmplitude", "stJ60"])
        #expect(ii["status"] as? String == "ok")
        let flat = try #require(leads.first { $0["name"] as? String == "V1" })
        #expect(flat["status"] as? String == "not-analysable")
        #expect(flat["reasons"] as? [String] == ["flat line"])
        #expect(flat["rAmplitude"] == nil && flat["stJ60"] == nil)
    }

    @Test func csvHasOneRowPerLeadAndEmptyCellsForMissingValues() throws {
        var lead = try #require(try TestRecords.ludb(2).signal(for: .ii))
        lead.units = "NU"  // timing only
        let m = MeasurementPipeline().measure(ECGRecord(id: "nu,record", samplingRate: 500, leads: [lead], sourceFormat: .other))
        let lines = MeasurementExport.csv([m]).split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("record,heartRate,rrMean,rrSD,prInterval,qrsDuration,qtInterval,qtcBazett,qtcFridericia,pAxis,qrsAxis,tAxis,lead,quality,status,pAmplitude"))
        #expect(lines[1].hasPrefix("\"nu,record\","))
        #expect(lines[1].hasSuffix(",II,1.0,ok,,,,,,,"))
    }
}

import ECGCore
import Testing

@Suite struct LeadTests {
    @Test(arguments: [
        ("I", StandardLead.i), ("i", .i), ("D1", .i), ("MLII", .ii), ("ii", .ii), ("III", .iii),
        ("AVR", .aVR), ("avr", .aVR), ("aVR", .aVR), ("aVL", .aVL), ("AVF", .aVF), ("v1", .v1), ("V6", .v6),
        ("Lead II", .ii), (" V5 ", .v5),
    ])
    func resolvesAliases(written: String, expected: StandardLead) {
        #expect(Lead(parsing: written) == .standard(expected))
    }

    @Test func keepsUnknownLeadsByName() {
        #expect(Lead(parsing: "ABP") == .other("ABP"))
        #expect(Lead(parsing: "ABP").name == "ABP")
        #expect(Lead(parsing: "vx") == .other("vx"))
    }

    @Test func ordersStandardLeadsFirst() {
        let sorted = [Lead.other("A"), .standard(.v1), .standard(.i), .standard(.aVR)].sorted()
        #expect(sorted.map(\.name) == ["I", "aVR", "V1", "A"])
    }
}

@Suite struct ECGRecordTests {
    @Test func derivesLimbLeadsOnlyOnRequestAndMarksThem() {
        let leadI = LeadSignal(lead: .standard(.i), writtenName: "I", samples: [1, 2, -1], units: "mV")
        let leadII = LeadSignal(lead: .standard(.ii), writtenName: "II", samples: [3, 0, 1], units: "mV")
        let record = ECGRecord(id: "r", samplingRate: 500, leads: [leadI, leadII], sourceFormat: .csv)
        #expect(record.standardLeads == [.i, .ii])
        let derived = record.withDerivedLimbLeads()
        #expect(derived.standardLeads == [.i, .ii, .iii, .aVR, .aVL, .aVF])
        #expect(derived.signal(for: .iii)?.samples == [2, -2, 2])
        #expect(derived.signal(for: .aVR)?.samples == [-2, -1, 0])
        #expect(derived.signal(for: .aVL)?.samples == [-0.5, 2, -1.5])
        #expect(derived.signal(for: .aVF)?.samples == [2.5, -1, 1.5])
        #expect(derived.signal(for: .iii)?.isDerived == true)
        #expect(derived.signal(for: .i)?.isDerived == false)
    }

    @Test func keepsRequestedLeads() {
        let leads = StandardLead.allCases.map { LeadSignal(lead: .standard($0), writtenName: $0.name, samples: [0], units: "mV") }
        let record = ECGRecord(id: "r", samplingRate: 100, leads: leads, sourceFormat: .wfdb)
        #expect(record.keeping([.ii, .v2]).standardLeads == [.ii, .v2])
        #expect(record.duration == 0.01)
    }
}

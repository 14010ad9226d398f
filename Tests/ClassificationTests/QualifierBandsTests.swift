import Testing

@testable import Classification

@Suite struct QualifierBandsTests {
    @Test func defaultBandsFollowTheAHAStyle() {
        let bands = QualifierBands()
        #expect(bands.qualifier(for: 0.2) == nil)
        #expect(bands.qualifier(for: 0.35) == .consider)
        #expect(bands.qualifier(for: 0.55) == .possible)
        #expect(bands.qualifier(for: 0.7) == .probable)
        #expect(bands.qualifier(for: 0.95) == .definite)
        #expect(bands.qualifier(for: 0.95, nearBound: true) == .borderline)
        #expect(bands.qualifier(for: 0.2, nearBound: true) == nil)
        #expect(Qualifier.probable.phrase("left bundle branch block") == "probable left bundle branch block")
        #expect(Qualifier.definite.phrase("left bundle branch block") == "left bundle branch block")
    }

    @Test func bandsParseAndValidate() throws {
        let bands = try QualifierBands(parsing: "0.3, 0.4,0.6,0.9")
        #expect(bands.consider == 0.3 && bands.possible == 0.4 && bands.probable == 0.6 && bands.definite == 0.9)
        #expect(bands.qualifier(for: 0.85) == .probable)
        #expect(throws: QualifierBands.InvalidBands.self) { try QualifierBands(parsing: "0.5,0.4,0.6,0.9") }
        #expect(throws: QualifierBands.InvalidBands.self) { try QualifierBands(parsing: "0.5,0.6") }
        #expect(throws: QualifierBands.InvalidBands.self) { try QualifierBands(parsing: "0.1,0.2,0.3,1.5") }
    }
}

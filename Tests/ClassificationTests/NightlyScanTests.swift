import ECGCore
import Foundation
import KMERLTestSupport
import Knowledge
import Testing

@testable import Classification

@Suite("Nightly inbox scan")
struct NightlyScanTests {
    @Test("SHA-256 matches the FIPS 180-4 test vectors, in one piece and in chunks")
    func sha256Vectors() throws {
        #expect(SHA256Digest.hex(of: [UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Digest.hex(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256Digest.hex(of: long) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // A real file hashed in one go equals the same bytes fed in odd-sized pieces.
        let url = try SharedData.url("ptbxl/records100/00000/00024_lr.dat")
        let bytes = try [UInt8](Data(contentsOf: url))
        var digest = SHA256Digest()
        var offset = 0
        for size in [1, 63, 64, 65, 1000, 7777] where offset < bytes.count {
            digest.update(bytes[offset..<min(bytes.count, offset + size)])
            offset += size
        }
        digest.update(bytes[min(offset, bytes.count)...])
        #expect(digest.finalizeHex() == (try SHA256Digest.hex(ofFile: url)))
        #expect(bytes.count == 24_000)
    }

    @Test("WFDB records are grouped with their signal and annotation files; incomplete ones wait")
    func grouping() throws {
        let inbox = try NightlyFixtures.inbox(ludb: [1, 2], ptbxl: 1)
        try FileManager.default.removeItem(at: inbox.appendingPathComponent("2.dat"))
        try Data("notes".utf8).write(to: inbox.appendingPathComponent("README.txt"))
        try FileManager.default.copyItem(
            at: try SharedData.url("ptbxl/records100/00000/00043_lr.dat"), to: inbox.appendingPathComponent("00043_lr.dat"))
        try FileManager.default.copyItem(at: try SharedData.url("aecg/Example_aECG.xml"), to: inbox.appendingPathComponent("Example_aECG.xml"))
        let grouping = InboxScanner.groupRecords(inbox: inbox, files: try InboxScanner.listFiles(in: inbox))

        #expect(grouping.records.map(\.key) == ["00024_lr.hea", "1.hea", "Example_aECG.xml"])
        let ludb = try #require(grouping.records.first { $0.key == "1.hea" })
        #expect(ludb.name == "1")
        #expect(ludb.files.count == 14)  // header, .dat and 12 per-lead annotation files
        #expect(ludb.files.contains("1.dat") && ludb.files.contains("1.v6"))
        #expect(grouping.records.first { $0.key == "00024_lr.hea" }?.files == ["00024_lr.dat", "00024_lr.hea"])

        let waiting = Dictionary(uniqueKeysWithValues: grouping.waiting.map { ($0.file, $0.message) })
        #expect(waiting["2.hea"]?.contains("2.dat") == true)
        #expect(waiting["00043_lr.dat"]?.contains("without a WFDB header") == true)
        #expect(grouping.ignored.map(\.file) == ["README.txt"])
    }

    @Test("Unchanged files are not re-hashed; a touched file is re-hashed but the record stays done")
    func memo() async throws {
        let inbox = try NightlyFixtures.inbox(ptbxl: 3)
        let ledger = try KnowledgeStore.inMemory().nightly
        let scanner = InboxScanner(inbox: inbox, minimumAge: 0, settleInterval: 0)
        let first = try await scanner.scan(ledger: ledger)
        #expect(first.toProcess.count == 3)
        #expect(first.hashedFiles == 6)

        // Nothing processed yet: the same three are still to do, but no file is read again.
        let second = try await scanner.scan(ledger: ledger)
        #expect(second.toProcess.map(\.contentHash) == first.toProcess.map(\.contentHash))
        #expect(second.hashedFiles == 0)

        // Mark them processed through a committed run, then touch one file (same content).
        try NightlyFixtures.commit(first.toProcess, ledger: ledger, inbox: inbox)
        let touched = inbox.appendingPathComponent(first.toProcess[0].files[0])
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: touched.path)
        let third = try await scanner.scan(ledger: ledger)
        #expect(third.toProcess.isEmpty)
        #expect(third.unchanged == 3)
        #expect(third.hashedFiles == 1)

        // Change the content: that record (only) is to be processed again.
        let dat = inbox.appendingPathComponent(first.toProcess[1].key.replacingOccurrences(of: ".hea", with: ".dat"))
        var bytes = try Data(contentsOf: dat)
        bytes[100] ^= 0xFF
        try FileManager.default.removeItem(at: dat)
        try bytes.write(to: dat)
        let fourth = try await scanner.scan(ledger: ledger)
        #expect(fourth.toProcess.map(\.key) == [first.toProcess[1].key])
        #expect(fourth.toProcess[0].contentHash != first.toProcess[1].contentHash)
        #expect(fourth.unchanged == 2)
    }

    @Test("Files younger than the minimum age, or growing between two looks, are left for the next run")
    func stability() async throws {
        let inbox = try NightlyFixtures.inbox(ptbxl: 2)
        let ledger = try KnowledgeStore.inMemory().nightly
        let young = try await InboxScanner(inbox: inbox, minimumAge: 3600, settleInterval: 0).scan(ledger: ledger)
        #expect(young.toProcess.isEmpty)
        #expect(young.waiting.count == 2)
        #expect(young.waiting.allSatisfy { $0.message.contains("minimum age 3600 s") })

        // A writer appends to one record's signal file while the scanner looks twice.
        let growing = inbox.appendingPathComponent("00043_lr.dat")
        let writer = Task.detached {
            let handle = try FileHandle(forWritingTo: growing)
            for _ in 0..<30 {
                try handle.seekToEnd()
                try handle.write(contentsOf: Data(repeating: 0, count: 16))
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            try handle.close()
        }
        try await Task.sleep(nanoseconds: 50_000_000)
        let busy = try await InboxScanner(inbox: inbox, minimumAge: 0, settleInterval: 0.3).scan(ledger: ledger)
        _ = try await writer.value
        #expect(busy.toProcess.map(\.key) == ["00024_lr.hea"])
        #expect(busy.waiting.map(\.file) == ["00043_lr.hea"])
        #expect(busy.waiting.first?.message.contains("still being written") == true)
    }
}

import Foundation
import Testing
import TestSupport
@testable import Formats

@Suite struct InflateTests {
    static let streams: [String: [UInt8]] = {
        let data = try! Data(contentsOf: fixtureURL("inflate.json"))
        let encoded = try! JSONDecoder().decode([String: String].self, from: data)
        return encoded.mapValues { [UInt8](Data(base64Encoded: $0)!) }
    }()
    let original = streams["original"]!

    @Test(arguments: ["zlib_stored", "zlib_fixed", "zlib_dynamic"])
    func zlibStreamsInflateToTheOriginal(name: String) throws {
        #expect(try Inflate.zlib(Self.streams[name]!) == original)
    }

    @Test func rawDeflateReportsWhereItEnds() throws {
        let raw = Self.streams["raw_dynamic"]!
        let (output, end) = try Inflate.inflate(raw + [0xAB, 0xCD])
        #expect(output == original && end == raw.count)
    }

    @Test func gzipMembersWithHeadersAndConcatenation() throws {
        #expect(try Inflate.gzip(Self.streams["gzip_named"]!) == original)
        #expect(try Inflate.gzip(Self.streams["gzip_two_members"]!) == original)
        #expect(try Inflate.zlib(Self.streams["empty_zlib"]!) == [])
    }

    @Test func checksumsAreVerified() {
        var zlib = Self.streams["zlib_dynamic"]!
        zlib[zlib.count - 1] ^= 1
        #expect(throws: InflateError.self) { try Inflate.zlib(zlib) }
        var gzip = Self.streams["gzip_named"]!
        gzip[gzip.count - 6] ^= 1   // inside the CRC-32
        do {
            _ = try Inflate.gzip(gzip)
            Issue.record("a damaged gzip CRC was accepted")
        } catch {
            if case .checksumMismatch(let kind, _, _) = error { #expect(kind == "gzip CRC-32") } else { Issue.record("\(error)") }
        }
    }

    @Test func everyTruncationThrowsTruncated() {
        let stream = Self.streams["zlib_dynamic"]!
        for length in stride(from: 0, to: stream.count, by: 7) {
            #expect(throws: InflateError.self) { try Inflate.zlib(Array(stream.prefix(length))) }
        }
    }

    @Test func checksumsMatchKnownValues() {
        let bytes = Array("123456789".utf8)
        #expect(Checksum.crc32(bytes) == 0xCBF4_3926)
        #expect(bytes.withUnsafeBufferPointer { Checksum.adler32($0) } == 0x091E_01DE)
    }
}

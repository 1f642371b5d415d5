import Foundation
import Testing
@testable import Formats

@Suite struct JSONFileTests {
    struct Sample: Decodable { let hidden_size: Int }

    func write(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("json-\(UUID().uuidString).json")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func missingKeyNamesFileAndKey() throws {
        let url = try write("{\"other\": 1}")
        #expect(throws: JSONFileError.missingKey(file: url.path, key: "hidden_size")) {
            try decodeJSONFile(Sample.self, from: url)
        }
    }

    @Test func wrongTypeNamesKey() throws {
        let url = try write("{\"hidden_size\": \"big\"}")
        #expect(throws: JSONFileError.wrongType(file: url.path, key: "hidden_size", expected: "Int")) {
            try decodeJSONFile(Sample.self, from: url)
        }
    }

    @Test func malformedAndMissingFilesAreErrors() throws {
        let url = try write("{\"hidden_size\": ")
        #expect(throws: JSONFileError.self) { try decodeJSONFile(Sample.self, from: url) }
        #expect(throws: JSONFileError.self) {
            try decodeJSONFile(Sample.self, from: URL(fileURLWithPath: "/nonexistent/config.json"))
        }
    }
}

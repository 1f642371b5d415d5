import Foundation
import Testing
@testable import Formats

@Suite struct CSVReaderTests {
    func parse(_ text: String) throws -> [[String]] {
        try CSVReader.parse(Array(text.utf8), file: "t.csv").map(\.fields)
    }

    @Test func quotedFieldsHoldCommasNewlinesAndDoubledQuotes() throws {
        let text = "category,text\r\nfresh,\"A \"\"must\"\",\nsee.\"\n\nrotten,plain\n\"\",x,\n"
        #expect(try parse(text) == [["category", "text"], ["fresh", "A \"must\",\nsee."], ["rotten", "plain"], ["", "x", ""]])
        #expect(try CSVReader.parse(Array("\u{FEFF}a,b".utf8), file: "t.csv") == [CSVReader.Record(line: 1, fields: ["a", "b"])])
        let records = try CSVReader.parse(Array(text.utf8), file: "t.csv")
        #expect(records.map(\.line) == [1, 2, 5, 6])
    }

    @Test func malformedInputNamesLineAndColumn() {
        #expect(throws: CSVError.unterminatedQuote(file: "t.csv", line: 2, column: 3)) { try parse("a,b\nc,\"open\nstill") }
        #expect(throws: CSVError.unexpectedCharacter(file: "t.csv", line: 1, column: 6, character: "x")) { try parse("é,\"q\"x,b") }
        #expect(throws: CSVError.unexpectedCharacter(file: "t.csv", line: 2, column: 3, character: "\"")) { try parse("a\nab\"c") }
        #expect(throws: CSVError.invalidUTF8(file: "t.csv", line: 2)) {
            try CSVReader.parse(Array("a\n".utf8) + [0x62, 0xFF, 0x0A], file: "t.csv")
        }
    }

    @Test func tableChecksFieldCountsAndColumns() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("csv-\(UUID().uuidString).csv")
        try "k,v\n1,\"x\ny\"\n2,z\n".write(to: url, atomically: true, encoding: .utf8)
        let table = try CSVTable(contentsOf: url)
        #expect(table.header == ["k", "v"])
        #expect(table.rows == [["1", "x\ny"], ["2", "z"]])
        #expect(try table.columnIndex(named: "v") == 1)
        #expect(throws: CSVError.missingColumn(file: url.path, name: "w")) { try table.columnIndex(named: "w") }
        try "k,v\n1,\"x\ny\"\n2\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: CSVError.wrongFieldCount(file: url.path, line: 4, expected: 2, found: 1)) { try CSVTable(contentsOf: url) }
        #expect(throws: CSVError.self) { try CSVTable(contentsOf: url.appendingPathExtension("missing")) }
    }
}

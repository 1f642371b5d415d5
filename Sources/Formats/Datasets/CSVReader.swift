import Foundation

/// Errors reading a CSV file, each naming the file and the 1-based line (and column, in
/// Unicode scalars) where the input goes wrong.
public enum CSVError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    /// A quoted field is still open at the end of the file; `line`/`column` is its opening quote.
    case unterminatedQuote(file: String, line: Int, column: Int)
    /// A quote inside an unquoted field, or a character right after a closing quote.
    case unexpectedCharacter(file: String, line: Int, column: Int, character: String)
    /// A field's bytes are not valid UTF-8.
    case invalidUTF8(file: String, line: Int)
    /// A record has another number of fields than the header.
    case wrongFieldCount(file: String, line: Int, expected: Int, found: Int)
    /// `CSVTable.columnIndex(named:)` found no such header.
    case missingColumn(file: String, name: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): "\(file): cannot read: \(reason)"
        case let .unterminatedQuote(file, line, column): "\(file):\(line):\(column): quoted field never closed"
        case let .unexpectedCharacter(file, line, column, character):
            "\(file):\(line):\(column): unexpected \(character.debugDescription) (a quote must open a field or be doubled inside one)"
        case let .invalidUTF8(file, line): "\(file):\(line): field is not valid UTF-8"
        case let .wrongFieldCount(file, line, expected, found): "\(file):\(line): \(found) fields, the header has \(expected)"
        case let .missingColumn(file, name): "\(file): no column named '\(name)'"
        }
    }
}

/// An RFC 4180 CSV reader: fields separated by commas, records by LF or CRLF; a field in double
/// quotes may hold commas, newlines and doubled quotes (`""` for `"`). Blank lines are skipped
/// and a leading UTF-8 byte-order mark is ignored.
///
/// ```swift
/// let records = try CSVReader.read(contentsOf: url)   // [["category", "text"], ["fresh", "A \"must\",\nsee."]]
/// ```
public enum CSVReader {
    /// One record and the line it starts on.
    public struct Record: Equatable, Sendable {
        public let line: Int
        public let fields: [String]
    }

    /// The records of a CSV file, header included.
    public static func read(contentsOf url: URL) throws -> [[String]] {
        try records(contentsOf: url).map(\.fields)
    }

    /// The records of a CSV file with their line numbers.
    public static func records(contentsOf url: URL) throws -> [Record] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CSVError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        return try parse([UInt8](data), file: url.path)
    }

    /// Parses CSV bytes; `file` names the source in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws -> [Record] {
        var parser = Parser(bytes: bytes, file: file)
        return try parser.parse()
    }

    private struct Parser {
        let bytes: [UInt8]
        let file: String
        var position = 0
        var line = 1
        var lineStart = 0

        init(bytes: [UInt8], file: String) {
            self.bytes = bytes
            self.file = file
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3; lineStart = 3 }
        }

        mutating func parse() throws -> [Record] {
            var records: [Record] = []
            while position < bytes.count {
                let recordLine = line
                if isLineEnd(position) {
                    skipLineEnd()
                    continue
                }
                var fields: [String] = []
                while true {
                    fields.append(try field())
                    if position < bytes.count && bytes[position] == UInt8(ascii: ",") {
                        position += 1
                        continue
                    }
                    if position < bytes.count { skipLineEnd() }
                    break
                }
                records.append(Record(line: recordLine, fields: fields))
            }
            return records
        }

        /// Reads one field, leaving `position` at the comma, line end or end of input after it.
        private mutating func field() throws -> String {
            let fieldLine = line
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                let start = position
                while position < bytes.count && bytes[position] != UInt8(ascii: ",") && !isLineEnd(position) {
                    if bytes[position] == UInt8(ascii: "\"") { throw unexpected() }
                    position += 1
                }
                return try text(bytes[start..<position], line: fieldLine)
            }
            let (openLine, openColumn) = (line, column(of: position))
            position += 1
            var content: [UInt8] = []
            while true {
                guard position < bytes.count else {
                    throw CSVError.unterminatedQuote(file: file, line: openLine, column: openColumn)
                }
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    if position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: "\"") {
                        content.append(byte)
                        position += 2
                        continue
                    }
                    position += 1
                    break
                }
                if byte == UInt8(ascii: "\n") {
                    line += 1
                    lineStart = position + 1
                }
                content.append(byte)
                position += 1
            }
            if position < bytes.count && bytes[position] != UInt8(ascii: ",") && !isLineEnd(position) { throw unexpected() }
            return try text(content[...], line: fieldLine)
        }

        private func isLineEnd(_ index: Int) -> Bool {
            bytes[index] == UInt8(ascii: "\n")
                || (bytes[index] == UInt8(ascii: "\r") && index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\n"))
        }

        private mutating func skipLineEnd() {
            position += bytes[position] == UInt8(ascii: "\r") ? 2 : 1
            line += 1
            lineStart = position
        }

        /// The 1-based column of a byte, counting Unicode scalars (UTF-8 lead bytes) from the line start.
        private func column(of index: Int) -> Int {
            bytes[lineStart..<index].reduce(1) { count, byte in byte & 0xC0 == 0x80 ? count : count + 1 }
        }

        private func unexpected() -> CSVError {
            let end = min(bytes.count, position + 4)
            let character = String(decoding: bytes[position..<end], as: UTF8.self).unicodeScalars.first.map(String.init) ?? "?"
            return .unexpectedCharacter(file: file, line: line, column: column(of: position), character: character)
        }

        private func text(_ slice: ArraySlice<UInt8>, line: Int) throws -> String {
            guard let string = String(validating: slice, as: UTF8.self) else { throw CSVError.invalidUTF8(file: file, line: line) }
            return string
        }
    }
}

/// A CSV file with a header row, every record checked to have as many fields as the header.
///
/// ```swift
/// let table = try CSVTable(contentsOf: url)
/// let text = try table.columnIndex(named: "text")
/// let snippets = table.rows.map { $0[text] }
/// ```
public struct CSVTable: Sendable {
    public let file: String
    public let header: [String]
    public let rows: [[String]]

    public init(contentsOf url: URL) throws {
        let records = try CSVReader.records(contentsOf: url)
        file = url.path
        header = records.first?.fields ?? []
        for record in records.dropFirst() where record.fields.count != header.count {
            throw CSVError.wrongFieldCount(file: file, line: record.line, expected: header.count, found: record.fields.count)
        }
        rows = records.dropFirst().map(\.fields)
    }

    /// The index of the column with this header.
    public func columnIndex(named name: String) throws -> Int {
        guard let index = header.firstIndex(of: name) else { throw CSVError.missingColumn(file: file, name: name) }
        return index
    }
}

import Foundation

/// What is wrong with a data file, each case naming the file (and line or column) and what was
/// expected, so the command line can print it as one line.
public enum DataError: Error, CustomStringConvertible, Equatable {
    case missingFile(file: String)
    case unsupportedFormat(file: String)
    case unknownColumn(file: String, column: String, available: [String])
    case missingValue(file: String, line: Int, column: String)
    case emptyDataset(file: String)
    case unknownLabel(file: String, line: Int, label: String, known: [String])
    case invalidUTF8(file: String, line: Int)
    case malformedLine(file: String, line: Int, reason: String)
    case unsupportedImageFormat(file: String)
    case labelOutOfRange(file: String, label: Int, labelCount: Int)

    public var description: String {
        switch self {
        case let .missingFile(file): "\(file): no such file"
        case let .unsupportedFormat(file):
            "\(file): unknown data format; expected a .jsonl, .csv, .tsv or .txt file"
        case let .unknownColumn(file, column, available):
            "\(file): no column '\(column)'; the columns are \(available.joined(separator: ", "))"
        case let .missingValue(file, line, column): "\(file):\(line): no value for column '\(column)'"
        case let .emptyDataset(file): "\(file): the data set is empty; expected at least one example"
        case let .unknownLabel(file, line, label, known):
            "\(file):\(line): label '\(label)' is not in the label set [\(known.joined(separator: ", "))]"
        case let .invalidUTF8(file, line): "\(file):\(line): the line is not valid UTF-8"
        case let .malformedLine(file, line, reason): "\(file):\(line): \(reason)"
        case let .unsupportedImageFormat(file):
            "\(file): unknown image data; expected an IDX images file (*-images-idx3-ubyte[.gz]), a folder with one, or a .csv file"
        case let .labelOutOfRange(file, label, labelCount):
            "\(file): label \(label) is outside the \(labelCount) classes (0...\(labelCount - 1)) of the training data"
        }
    }
}

/// The lines of a text file with their 1-based numbers, each checked to be valid UTF-8; blank
/// lines are skipped. A final line without a newline counts; a trailing CR is dropped.
func readLines(of url: URL) throws -> [(number: Int, text: String)] {
    guard FileManager.default.fileExists(atPath: url.path) else { throw DataError.missingFile(file: url.path) }
    let bytes = [UInt8](try Data(contentsOf: url))
    var lines: [(Int, String)] = []
    var start = 0, number = 1
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
    while start <= bytes.count {
        var end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
        let next = end + 1
        if end > start && bytes[end - 1] == 0x0D { end -= 1 }
        guard let text = String(validating: bytes[start..<end], as: UTF8.self) else {
            throw DataError.invalidUTF8(file: url.path, line: number)
        }
        if !text.allSatisfy(\.isWhitespace) { lines.append((number, text)) }
        start = next
        number += 1
    }
    return lines
}

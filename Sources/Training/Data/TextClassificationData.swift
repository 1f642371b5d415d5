import Formats
import Foundation

/// One text with its label id.
public struct LabeledText: Sendable, Equatable {
    public var text: String
    public var label: Int

    public init(text: String, label: Int) {
        self.text = text
        self.label = label
    }
}

/// A text-classification data set: examples and the label names by id.
///
/// Reads JSON lines (`{"text": ..., "label": ...}` per line), CSV (RFC 4180, with a header) and
/// TSV (a header, tab-separated fields, no quoting), by the file's extension. Labels may be
/// names or numbers; without a given label set, ids follow the sorted names (numerically when
/// all are integers), so `0`/`1` labels keep their ids.
///
/// ```swift
/// let train = try TextClassificationData.load(from: URL(fileURLWithPath: "train.jsonl"))
/// let validation = try TextClassificationData.load(from: url, labelNames: train.labelNames)
/// train.labelNames   // ["negative", "positive"]
/// ```
public struct TextClassificationData: Sendable {
    public var examples: [LabeledText]
    public var labelNames: [String]

    public init(examples: [LabeledText], labelNames: [String]) {
        self.examples = examples
        self.labelNames = labelNames
    }

    /// Loads a file. `labelNames` fixes the label set (a label outside it is an error);
    /// nil derives it from the file.
    public static func load(from url: URL, textColumn: String = "text", labelColumn: String = "label",
                            labelNames: [String]? = nil) throws -> TextClassificationData {
        guard FileManager.default.fileExists(atPath: url.path) else { throw DataError.missingFile(file: url.path) }
        let rows: [(line: Int, text: String, label: String)]
        switch url.pathExtension.lowercased() {
        case "jsonl", "json", "ndjson": rows = try readJSONLines(url, textColumn: textColumn, labelColumn: labelColumn)
        case "csv": rows = try readCSV(url, textColumn: textColumn, labelColumn: labelColumn)
        case "tsv": rows = try readTSV(url, textColumn: textColumn, labelColumn: labelColumn)
        default: throw DataError.unsupportedFormat(file: url.path)
        }
        guard !rows.isEmpty else { throw DataError.emptyDataset(file: url.path) }
        let names = labelNames ?? sortedLabelNames(Set(rows.map(\.label)))
        let ids = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        let examples = try rows.map { row in
            guard let id = ids[row.label] else {
                throw DataError.unknownLabel(file: url.path, line: row.line, label: row.label, known: names)
            }
            return LabeledText(text: row.text, label: id)
        }
        return TextClassificationData(examples: examples, labelNames: names)
    }

    /// Label names in id order: numerically sorted when all are integers, else sorted as text.
    static func sortedLabelNames(_ names: Set<String>) -> [String] {
        if names.allSatisfy({ Int($0) != nil }) { return names.sorted { Int($0)! < Int($1)! } }
        return names.sorted()
    }

    private static func readJSONLines(_ url: URL, textColumn: String, labelColumn: String) throws
        -> [(line: Int, text: String, label: String)] {
        let lines = try readLines(of: url)
        let firstLine = lines.first?.number ?? 1
        return try lines.map { number, line in
            let object: Any
            do { object = try JSONSerialization.jsonObject(with: Data(line.utf8)) } catch {
                throw DataError.malformedLine(file: url.path, line: number, reason: "expected one JSON object per line")
            }
            guard let record = object as? [String: Any] else {
                throw DataError.malformedLine(file: url.path, line: number, reason: "expected a JSON object, found \(type(of: object))")
            }
            // A key absent from the first record is an unknown column; absent later, a missing value.
            for column in [textColumn, labelColumn] where record[column] == nil || record[column] is NSNull {
                if number == firstLine { throw DataError.unknownColumn(file: url.path, column: column, available: record.keys.sorted()) }
                throw DataError.missingValue(file: url.path, line: number, column: column)
            }
            guard let text = record[textColumn] as? String else {
                throw DataError.malformedLine(file: url.path, line: number, reason: "'\(textColumn)' must be a string")
            }
            guard let label = labelString(record[labelColumn]) else {
                throw DataError.malformedLine(file: url.path, line: number, reason: "'\(labelColumn)' must be a string or a number")
            }
            return (number, text, label)
        }
    }

    private static func labelString(_ value: Any?) -> String? {
        switch value {
        case let string as String: string
        case let number as NSNumber:
            number.doubleValue == number.doubleValue.rounded() ? String(number.intValue) : number.stringValue
        default: nil
        }
    }

    private static func readCSV(_ url: URL, textColumn: String, labelColumn: String) throws
        -> [(line: Int, text: String, label: String)] {
        let records = try CSVReader.records(contentsOf: url)
        guard let header = records.first?.fields else { throw DataError.emptyDataset(file: url.path) }
        return try table(records.dropFirst().map { ($0.line, $0.fields) }, header: header, url: url,
                         textColumn: textColumn, labelColumn: labelColumn)
    }

    private static func readTSV(_ url: URL, textColumn: String, labelColumn: String) throws
        -> [(line: Int, text: String, label: String)] {
        let lines = try readLines(of: url)
        guard let header = lines.first else { throw DataError.emptyDataset(file: url.path) }
        let split = { (text: String) in text.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        return try table(lines.dropFirst().map { ($0.number, split($0.text)) }, header: split(header.text), url: url,
                         textColumn: textColumn, labelColumn: labelColumn)
    }

    /// Picks the text and label columns of header-and-rows data.
    private static func table(_ rows: [(line: Int, fields: [String])], header: [String], url: URL,
                              textColumn: String, labelColumn: String) throws -> [(line: Int, text: String, label: String)] {
        guard let textIndex = header.firstIndex(of: textColumn) else {
            throw DataError.unknownColumn(file: url.path, column: textColumn, available: header)
        }
        guard let labelIndex = header.firstIndex(of: labelColumn) else {
            throw DataError.unknownColumn(file: url.path, column: labelColumn, available: header)
        }
        return try rows.map { line, fields in
            guard fields.count == header.count else {
                throw DataError.malformedLine(file: url.path, line: line,
                                              reason: "\(fields.count) fields, the header has \(header.count)")
            }
            return (line, fields[textIndex], fields[labelIndex])
        }
    }
}

import Foundation

/// Prints rows as an aligned text table.
struct TextTable {
    let columns: [String]
    private(set) var rows: [[String]] = []

    init(columns: [String]) { self.columns = columns }

    mutating func append(_ row: [String]) {
        precondition(row.count == columns.count, "TextTable: \(row.count) cells for \(columns.count) columns")
        rows.append(row)
    }

    func rendered() -> String {
        let widths = columns.indices.map { column in
            ([columns[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { String(repeating: " ", count: $1 - $0.count) + $0 }.joined(separator: "  ")
        }
        return ([line(columns), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line))
            .joined(separator: "\n")
    }
}

/// Writes a benchmark's results as pretty-printed JSON with snake_case keys.
enum BenchmarkReport {
    static func writeJSON<Report: Encodable>(_ report: Report, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: path))
    }

    /// A number with `digits` decimals, for table cells.
    static func format(_ value: Double, digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
}

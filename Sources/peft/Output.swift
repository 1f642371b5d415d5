import Foundation

/// Prints one JSON object (sorted keys) to standard output.
func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// A human-readable byte count ("86.7 MiB").
func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB"]
    var value = Double(bytes), unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

/// A count with thousands separators ("22,713,728").
func formatCount(_ count: Int) -> String {
    let digits = String(count)
    var result = ""
    for (index, character) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
        result.append(character)
    }
    return result
}

/// Rows as an aligned plain-text table with a header rule. Columns whose cells all start with a
/// digit are right-aligned, others left-aligned.
func formatTable(_ header: [String], _ rows: [[String]]) -> String {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    let numeric = header.indices.map { column in
        !rows.isEmpty && rows.allSatisfy { $0[column].first?.isNumber ?? false }
    }
    func line(_ cells: [String]) -> String {
        cells.indices.map { column in
            let padding = String(repeating: " ", count: widths[column] - cells[column].count)
            return numeric[column] ? padding + cells[column] : cells[column] + padding
        }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    return ([line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")] + rows.map(line))
        .joined(separator: "\n")
}

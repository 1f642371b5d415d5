import Formats
import Foundation

/// TEMPORARY (until the training branch's data loader lands): labelled texts from a CSV
/// (header row) or JSONL file, for `peft analyze`. Labels are the distinct values of the label
/// column in sorted order (numbers sort numerically). Switch to the Training target's loader
/// when merging.
struct AnalysisData {
    let texts: [String]
    let labels: [Int]
    let labelNames: [String]

    init(url: URL, textColumn: String, labelColumn: String) throws {
        var rows: [(String, String)] = []
        if url.pathExtension.lowercased() == "jsonl" {
            guard let content = try? String(contentsOf: url, encoding: .utf8) else {
                throw AnalysisDataError("--data: cannot read \(url.path) as UTF-8")
            }
            for (number, line) in content.split(whereSeparator: \.isNewline).enumerated() where !line.allSatisfy(\.isWhitespace) {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw AnalysisDataError("\(url.path):\(number + 1): not a JSON object")
                }
                guard let text = object[textColumn] as? String, let label = object[labelColumn] else {
                    throw AnalysisDataError("\(url.path):\(number + 1): needs a string '\(textColumn)' and a '\(labelColumn)'")
                }
                rows.append((text, "\(label)"))
            }
        } else {
            let table = try CSVTable(contentsOf: url)
            let text = try table.columnIndex(named: textColumn), label = try table.columnIndex(named: labelColumn)
            rows = table.rows.map { ($0[text], $0[label]) }
        }
        guard !rows.isEmpty else { throw AnalysisDataError("--data: \(url.path) has no rows") }
        let names = Array(Set(rows.map(\.1))).sorted { first, second in
            if let a = Double(first), let b = Double(second) { return a < b }
            return first < second
        }
        let ids = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        texts = rows.map(\.0)
        labels = rows.map { ids[$0.1]! }
        labelNames = names
    }
}

struct AnalysisDataError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

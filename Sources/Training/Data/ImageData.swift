import Formats
import Foundation
import TensorCore

extension ImageDataset {
    /// Loads labelled images for image classification from `path`:
    /// - an IDX images file (`train-images-idx3-ubyte.gz`), whose labels file lies beside it
    ///   with `labels-idx1` in place of `images-idx3` in its name;
    /// - a folder with such a pair, the one whose name starts with a `prefixes` entry first
    ///   (`train` for training data, `t10k` or `test` for test data);
    /// - a CSV file (`.csv`, `.csv.gz`) with one square gray image per row, label last.
    ///
    /// ```swift
    /// let train = try ImageDataset.load(from: ".cache/assets/fashion-mnist", preferring: ["train"])
    /// let test = try ImageDataset.load(from: ".cache/assets/fashion-mnist", preferring: ["t10k", "test"])
    /// ```
    public static func load(from path: String, preferring prefixes: [String] = ["train"]) throws -> ImageDataset {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw DataError.missingFile(file: path) }
        let url = URL(fileURLWithPath: path)
        if isDirectory.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.contains("images-idx3") }.sorted()
            let ranked = names.sorted { rank($0, prefixes) < rank($1, prefixes) }
            guard let name = ranked.first else { throw DataError.missingFile(file: url.appendingPathComponent("*-images-idx3-ubyte[.gz]").path) }
            return try load(from: url.appendingPathComponent(name).path)
        }
        let name = url.lastPathComponent
        if name.hasSuffix(".csv") || name.hasSuffix(".csv.gz") { return try csv(url) }
        guard name.contains("images-idx3") else {
            throw DataError.unsupportedImageFormat(file: path)
        }
        let labels = url.deletingLastPathComponent().appendingPathComponent(name.replacingOccurrences(of: "images-idx3", with: "labels-idx1"))
        guard FileManager.default.fileExists(atPath: labels.path) else { throw DataError.missingFile(file: labels.path) }
        let dataset = try idx(images: url, labels: labels)
        guard dataset.count > 0 else { throw DataError.emptyDataset(file: path) }
        return dataset
    }

    /// The position of the first prefix `name` starts with (prefixes.count when none).
    private static func rank(_ name: String, _ prefixes: [String]) -> Int {
        prefixes.firstIndex { name.hasPrefix($0) } ?? prefixes.count
    }

    /// The number of classes: the largest label plus one.
    public var labelCount: Int { (labels.max() ?? -1) + 1 }

    /// At most `count` examples, drawn with `seed`, as evenly from each class as the classes
    /// allow (a class with too few gives them all, the rest is shared by the others), in the
    /// data set's order. `count` 0, or at least the size, keeps everything.
    ///
    /// ```swift
    /// let small = train.balancedSubset(6000, seed: 42)   // 600 of each Fashion-MNIST class
    /// ```
    public func balancedSubset(_ count: Int, seed: UInt64) -> ImageDataset {
        guard count > 0, count < self.count else { return self }
        var generator = RandomGenerator(seed: seed)
        var byClass = [[Int]](repeating: [], count: labelCount)
        for (index, label) in labels.enumerated() { byClass[label].append(index) }
        for label in byClass.indices { byClass[label] = shuffled(byClass[label], using: &generator) }
        var taken = [Int](repeating: 0, count: byClass.count)
        var remaining = count
        // Round-robin over the classes that still have images: each round gives one to each.
        while remaining > 0 {
            let open = byClass.indices.filter { taken[$0] < byClass[$0].count }
            let share = max(1, remaining / open.count)
            for label in open where remaining > 0 {
                let extra = min(share, byClass[label].count - taken[label], remaining)
                taken[label] += extra
                remaining -= extra
            }
        }
        let chosen = byClass.indices.flatMap { byClass[$0].prefix(taken[$0]) }.sorted()
        return ImageDataset(images: chosen.map { images[$0] }, labels: chosen.map { labels[$0] })
    }
}

/// At most `limit` indices of `0..<count`, drawn with `seed`, in increasing order; all of
/// them when `limit` is 0 or not below `count`.
func seededSubset(count: Int, limit: Int, seed: UInt64) -> [Int] {
    guard limit > 0, limit < count else { return Array(0..<count) }
    var generator = RandomGenerator(seed: seed)
    return shuffled(Array(0..<count), using: &generator).prefix(limit).sorted()
}

/// Fisher-Yates with our own generator, stable across Swift versions.
func shuffled(_ values: [Int], using generator: inout RandomGenerator) -> [Int] {
    var result = values
    for index in stride(from: result.count - 1, to: 0, by: -1) {
        result.swapAt(index, Int(generator.next() % UInt64(index + 1)))
    }
    return result
}

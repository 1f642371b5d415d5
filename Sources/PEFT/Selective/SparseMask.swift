import NN
import TensorCore

/// A fixed set of trainable elements per parameter (FISH-mask style): the top fraction of
/// elements by a sensitivity score, chosen once before training.
///
/// ```swift
/// let scores = analysis.scores(.fisher)
/// let mask = SparseMask(topFraction: 0.005, of: scores, scope: .global)
/// print(mask.selectedCount)   // 0.5% of the scored elements
/// ```
public struct SparseMask: Sendable, Equatable {
    /// How the top fraction is taken.
    public enum Scope: String, Codable, Sendable, CaseIterable {
        /// The top fraction of all scored elements together (tensors compete).
        case global
        /// The top fraction of each tensor separately (every tensor gets its share).
        case perTensor = "per-tensor"
    }

    /// Selected flat (row-major) element indices per parameter path, ascending.
    public private(set) var indices: [String: [Int]]
    /// Element count per parameter path (the tensor's size).
    public private(set) var elementCounts: [String: Int]

    public init(indices: [String: [Int]], elementCounts: [String: Int]) {
        for (path, selected) in indices {
            let count = elementCounts[path] ?? 0
            precondition(selected.allSatisfy { (0..<count).contains($0) },
                         "SparseMask: indices of '\(path)' must lie in 0..<\(count)")
        }
        self.indices = indices.mapValues { Array(Set($0)).sorted() }
        self.elementCounts = elementCounts
    }

    /// The `fraction` (0...1) of elements with the highest `scores`. Exactly
    /// round(fraction × count) elements are taken (of all tensors for `.global`, of each for
    /// `.perTensor`); ties are broken by path order, then by index, so masks repeat.
    public init(topFraction fraction: Double, of scores: [String: Tensor], scope: Scope = .global) {
        precondition((0...1).contains(fraction), "SparseMask: fraction \(fraction) is outside [0, 1]")
        let paths = scores.keys.sorted()
        let values = Dictionary(uniqueKeysWithValues: paths.map { ($0, scores[$0]!.toArray()) })
        var selected: [String: [Int]] = [:]
        switch scope {
        case .perTensor:
            for path in paths {
                let take = Int((fraction * Double(values[path]!.count)).rounded())
                selected[path] = Self.top(take, of: [path], values: values)[path] ?? []
            }
        case .global:
            let total = values.values.reduce(0) { $0 + $1.count }
            selected = Self.top(Int((fraction * Double(total)).rounded()), of: paths, values: values)
        }
        self.init(indices: selected, elementCounts: values.mapValues(\.count))
    }

    /// Every element of the given tensors (e.g. a new classification head that trains fully).
    public mutating func selectAll(of tensors: [String: Tensor]) {
        for (path, tensor) in tensors {
            indices[path] = Array(0..<tensor.count)
            elementCounts[path] = tensor.count
        }
    }

    /// Selected elements in all tensors.
    public var selectedCount: Int { indices.values.reduce(0) { $0 + $1.count } }
    /// Elements in all tensors the mask covers.
    public var elementCount: Int { elementCounts.values.reduce(0, +) }
    /// Paths with at least one selected element.
    public var selectedPaths: [String] { indices.filter { !$0.value.isEmpty }.keys.sorted() }

    /// The mask of one tensor as 0/1 values, shaped `shape`.
    public func dense(path: String, shape: [Int]) -> Tensor {
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        for index in indices[path] ?? [] { values[index] = 1 }
        return Tensor(values, shape: shape)
    }

    /// The `count` highest-scoring (path, index) pairs: everything above the threshold value,
    /// then threshold ties in path and index order.
    private static func top(_ count: Int, of paths: [String], values: [String: [Float]]) -> [String: [Int]] {
        guard count > 0 else { return [:] }
        var all: [Float] = []
        for path in paths { all += values[path]! }
        guard count < all.count else { return Dictionary(uniqueKeysWithValues: paths.map { ($0, Array(0..<values[$0]!.count)) }) }
        all.sort(by: >)
        let threshold = all[count - 1]
        var remainingTies = count - all.prefix(count).filter { $0 > threshold }.count
        var result: [String: [Int]] = [:]
        for path in paths {
            var chosen: [Int] = []
            for (index, value) in values[path]!.enumerated() {
                if value > threshold {
                    chosen.append(index)
                } else if value == threshold && remainingTies > 0 {
                    chosen.append(index)
                    remainingTies -= 1
                }
            }
            result[path] = chosen
        }
        return result
    }
}

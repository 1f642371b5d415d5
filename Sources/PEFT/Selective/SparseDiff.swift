import Foundation
import Formats
import NN
import TensorCore

/// The trained changes of selective fine-tuning: for each changed tensor, the flat indices of
/// the trained elements and their float32 deltas (trained − base).
///
/// File format (safetensors, see docs/sparse-diff.md), for each tensor path `p`:
///
/// - `p.indices`: I32 flat row-major indices, ascending (I64 when a tensor has 2^31 elements
///   or more), shape [k];
/// - `p.values`: F32 deltas, shape [k]; applying sets `w[i] = w[i] + delta` in float32;
/// - `p.absolute_indices` / `p.absolute_values` (rare, usually absent): elements whose trained
///   value no float32 delta reaches from the base (an element that shrank to far below its
///   base value), stored as the trained value itself and written after the deltas;
/// - `__metadata__`: `format` = `swiftpeft.sparse_diff`, `format_version` = `1`, `shapes` = a
///   JSON object of each tensor's full shape, plus the caller's entries (base model, density ...).
///
/// With the absolute entries, load + apply reproduces the trained weights bit for bit.
///
/// ```swift
/// try selective.sparseDiff(metadata: ["base_model": "all-MiniLM-L6-v2"]).write(to: url)
/// let diff = try SparseDiff(contentsOf: url)
/// try diff.apply(to: freshModel)   // now equal to the trained model
/// ```
public struct SparseDiff: Sendable, Equatable {
    public static let formatName = "swiftpeft.sparse_diff"

    /// The changes of one tensor.
    public struct Entry: Sendable, Equatable {
        public let shape: [Int]
        /// Flat indices of elements changed by a delta, ascending.
        public let indices: [Int]
        /// trained − base per index.
        public let deltas: [Float]
        /// Elements stored as their trained value (no delta reaches it from the base).
        public let absoluteIndices: [Int]
        public let absoluteValues: [Float]

        public init(shape: [Int], indices: [Int], deltas: [Float], absoluteIndices: [Int] = [], absoluteValues: [Float] = []) {
            precondition(indices.count == deltas.count && absoluteIndices.count == absoluteValues.count,
                         "SparseDiff.Entry: \(indices.count) indices for \(deltas.count) deltas, \(absoluteIndices.count) for \(absoluteValues.count) values")
            self.shape = shape
            self.indices = indices
            self.deltas = deltas
            self.absoluteIndices = absoluteIndices
            self.absoluteValues = absoluteValues
        }

        /// The entry that turns `base` into `trained` at `indices` exactly: each delta is
        /// trained − base, moved by a few units in the last place where the float32 sum would
        /// round elsewhere; elements no delta reaches are stored as absolute values.
        public init(shape: [Int], indices: [Int], base: [Float], trained: [Float]) {
            var kept: [Int] = [], deltas: [Float] = [], absoluteIndices: [Int] = [], absoluteValues: [Float] = []
            for index in indices {
                if let delta = Self.exactDelta(from: base[index], to: trained[index]) {
                    kept.append(index)
                    deltas.append(delta)
                } else {
                    absoluteIndices.append(index)
                    absoluteValues.append(trained[index])
                }
            }
            self.init(shape: shape, indices: kept, deltas: deltas, absoluteIndices: absoluteIndices, absoluteValues: absoluteValues)
        }

        /// A delta d with base + d == trained in float32, or nil when none is near trained − base.
        static func exactDelta(from base: Float, to trained: Float) -> Float? {
            let delta = trained - base
            if base + delta == trained { return delta }
            var up = delta, down = delta
            for _ in 0..<16 {
                up = up.nextUp
                down = down.nextDown
                if base + up == trained { return up }
                if base + down == trained { return down }
            }
            return nil
        }

        /// Elements this entry changes.
        public var count: Int { indices.count + absoluteIndices.count }
    }

    public var entries: [String: Entry]
    public var metadata: [String: String]

    public init(entries: [String: Entry], metadata: [String: String] = [:]) {
        self.entries = entries
        self.metadata = metadata
    }

    /// Elements changed in all tensors.
    public var changedCount: Int { entries.values.reduce(0) { $0 + $1.count } }

    /// Adds the deltas to the model's parameters in place (then sets the absolute elements).
    /// Throws `SparseDiffError` when a path is missing or a shape differs; nothing changes then.
    public func apply(to model: Module) throws {
        let parameters = Dictionary(model.namedParameters().map { ($0.path, $0.tensor) }, uniquingKeysWith: { first, _ in first })
        for (path, entry) in entries {
            guard let tensor = parameters[path] else { throw SparseDiffError.missingParameter(path: path) }
            guard tensor.shape == entry.shape else {
                throw SparseDiffError.shapeMismatch(path: path, expected: tensor.shape, found: entry.shape)
            }
        }
        for (path, entry) in entries.sorted(by: { $0.key < $1.key }) {
            var values = parameters[path]!.toArray()
            for (index, delta) in zip(entry.indices, entry.deltas) { values[index] += delta }
            for (index, value) in zip(entry.absoluteIndices, entry.absoluteValues) { values[index] = value }
            model.replaceTensor(at: path, with: Tensor(values, shape: entry.shape))
        }
    }
}

/// What can be wrong with a sparse diff file or with applying one.
public enum SparseDiffError: Error, CustomStringConvertible, Equatable {
    case invalidFile(file: String, reason: String)
    case missingParameter(path: String)
    case shapeMismatch(path: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case let .invalidFile(file, reason): "\(file): not a valid sparse diff: \(reason)"
        case let .missingParameter(path): "the model has no parameter '\(path)' that the sparse diff changes"
        case let .shapeMismatch(path, expected, found):
            "parameter '\(path)' has shape \(expected) in the model but \(found) in the sparse diff"
        }
    }
}

/// An n-dimensional array of numbers with optional gradient tracking.
///
/// A tensor is a view (shape, strides, offset) over shared, immutable-by-convention storage:
/// `reshaped`, `transposed` and `sliced` make new views without copying where the layout
/// allows. Compute is float32; storage may be float16 or bfloat16 for frozen weights.
///
/// ```swift
/// let x = Tensor([1, 2, 3, 4], shape: [2, 2])
/// let w = Tensor.randomNormal([2, 3], seed: 0).requiringGradient()
/// let loss = matmul(x, w).sum()
/// loss.backward()
/// print(w.grad!.shape) // [2, 3]
/// ```
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    /// Element strides per axis; 0 marks a broadcast axis.
    public let strides: [Int]
    /// Element offset of the first element in `storage`.
    public let offset: Int
    public let storage: Storage

    /// Whether gradients flow to this tensor (a trainable leaf or the result of an op on one).
    public internal(set) var requiresGradient: Bool
    /// The accumulated gradient of a leaf tensor after `backward()`.
    public var grad: Tensor?
    /// The recorded op that produced this tensor, if it was recorded.
    var gradientNode: GradientNode?

    public init(storage: Storage, shape: [Int], strides: [Int]? = nil, offset: Int = 0) {
        self.storage = storage
        self.shape = shape
        self.strides = strides ?? Tensor.contiguousStrides(for: shape)
        self.offset = offset
        self.requiresGradient = false
    }

    /// The number of axes.
    public var rank: Int { shape.count }
    /// The number of elements.
    public var count: Int { shape.reduce(1, *) }
    public var dtype: DType { storage.dtype }

    /// Whether elements are laid out row-major without gaps, starting at `offset`.
    public var isContiguous: Bool {
        var expected = 1
        for axis in stride(from: rank - 1, through: 0, by: -1) where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// The size of `axis`, which may be negative (counted from the end).
    public func size(_ axis: Int) -> Int { shape[normalizedAxis(axis)] }

    func normalizedAxis(_ axis: Int) -> Int {
        let result = axis < 0 ? axis + rank : axis
        precondition(result >= 0 && result < Swift.max(rank, 1), "axis \(axis) out of range for shape \(shape)")
        return result
    }

    static func contiguousStrides(for shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// Whether no recorded op produced this tensor (a leaf of the gradient graph).
    public var isLeaf: Bool { gradientNode == nil }

    /// Marks this leaf as trainable and returns it.
    @discardableResult
    public func requiringGradient(_ flag: Bool = true) -> Tensor {
        requiresGradient = flag
        return self
    }

    /// A new leaf with the same values and no gradient history.
    public func detached() -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = toArray()
        let shown = values.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), dtype: \(dtype), [\(shown)\(values.count > 8 ? ", ..." : "")])"
    }
}

import TensorCore

/// A lookup table of vectors: `weight` [V, C]; ids -> [ids.shape..., C].
public final class Embedding: Module {
    public let count: Int
    public let dimensions: Int

    public init(count: Int, dimensions: Int, generator: inout RandomGenerator) {
        self.count = count
        self.dimensions = dimensions
        super.init()
        register(parameter: "weight", normalInitialization([count, dimensions], generator: &generator))
    }

    public convenience init(count: Int, dimensions: Int) {
        var generator = makeDefaultSeededGenerator()
        self.init(count: count, dimensions: dimensions, generator: &generator)
    }

    public var weight: Tensor { parameter("weight") }   // [V, C]

    /// ids: `shape` elements in row-major order -> [shape..., C]
    public func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor {
        embedding(weight, indices: ids, shape: shape)
    }
}

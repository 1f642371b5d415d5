import TensorCore

/// Inverted dropout, active only in training mode. Each layer owns a seeded generator, so runs
/// are reproducible and the state can be checkpointed (`generator`).
public final class Dropout: Module, UnaryLayer {
    public let probability: Float
    public var generator: RandomGenerator

    public init(probability: Float, seed: UInt64? = nil) {
        precondition((0..<1).contains(probability), "Dropout: probability \(probability) must lie in [0, 1)")
        self.probability = probability
        self.generator = seed.map { RandomGenerator(seed: $0) } ?? makeDefaultSeededGenerator()
        super.init()
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        guard isTraining, probability > 0 else { return input }
        return input.dropout(probability: probability, generator: &generator)
    }
}

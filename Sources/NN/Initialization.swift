import Synchronization
import TensorCore

/// The generator layers use when none is given: seeded, process-wide, reseedable so a whole
/// model build is reproducible (`seedDefaultGenerator(42)` before constructing it).
private let defaultGenerator = Mutex(RandomGenerator(seed: 0))

/// Reseeds the generator that layer initializers use by default.
public func seedDefaultGenerator(_ seed: UInt64) {
    defaultGenerator.withLock { $0 = RandomGenerator(seed: seed) }
}

/// A fresh generator seeded from the default one, for initializers called without a generator.
func makeDefaultSeededGenerator() -> RandomGenerator {
    RandomGenerator(seed: defaultGenerator.withLock { $0.next() })
}

/// PyTorch's default for Linear and Conv2d weights and biases: U(-1/sqrt(fanIn), 1/sqrt(fanIn))
/// (kaiming_uniform with a = sqrt(5)).
func uniformFanIn(_ shape: [Int], fanIn: Int, generator: inout RandomGenerator) -> Tensor {
    let bound = 1 / Float(max(fanIn, 1)).squareRoot()
    return Tensor.randomUniform(shape, low: -bound, high: bound, generator: &generator)
}

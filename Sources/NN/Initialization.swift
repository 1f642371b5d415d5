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

/// Whether layer initializers draw random values; see `withoutParameterInitialization`.
@TaskLocal private var isInitializingParameters = true

/// Builds modules whose weights are loaded next: layers made inside `body` get zero tensors
/// instead of random draws, which makes building a pretrained model's skeleton nearly free
/// (drawing 22M random numbers for MiniLM took most of its load time).
///
/// ```swift
/// let model = withoutParameterInitialization { BertModel(configuration: configuration) }
/// try model.loadWeights(from: folder)
/// ```
public func withoutParameterInitialization<Result>(_ body: () throws -> Result) rethrows -> Result {
    try $isInitializingParameters.withValue(false, operation: body)
}

/// Draws N(0, std²) values, or zeros inside `withoutParameterInitialization`.
func normalInitialization(_ shape: [Int], standardDeviation: Float = 1, generator: inout RandomGenerator) -> Tensor {
    guard isInitializingParameters else { return .zeros(shape) }
    return Tensor.randomNormal(shape, standardDeviation: standardDeviation, generator: &generator)
}

/// PyTorch's default for Linear and Conv2d weights and biases: U(-1/sqrt(fanIn), 1/sqrt(fanIn))
/// (kaiming_uniform with a = sqrt(5)).
func uniformFanIn(_ shape: [Int], fanIn: Int, generator: inout RandomGenerator) -> Tensor {
    guard isInitializingParameters else { return .zeros(shape) }
    let bound = 1 / Float(max(fanIn, 1)).squareRoot()
    return Tensor.randomUniform(shape, low: -bound, high: bound, generator: &generator)
}

import TensorCore

/// y = x Wᵀ + b with PyTorch's layout: `weight` [C_out, C_in], `bias` [C_out].
///
/// ```swift
/// let projection = Linear(inputDimensions: 384, outputDimensions: 384)
/// let y = projection(x)   // x: [B, T, 384] -> [B, T, 384]
/// ```
public final class Linear: Module, UnaryLayer {
    public let inputDimensions: Int
    public let outputDimensions: Int

    public init(inputDimensions: Int, outputDimensions: Int, bias: Bool = true, generator: inout RandomGenerator) {
        self.inputDimensions = inputDimensions
        self.outputDimensions = outputDimensions
        super.init()
        register(parameter: "weight", uniformFanIn([outputDimensions, inputDimensions], fanIn: inputDimensions, generator: &generator))
        if bias {
            register(parameter: "bias", uniformFanIn([outputDimensions], fanIn: inputDimensions, generator: &generator))
        }
    }

    public convenience init(inputDimensions: Int, outputDimensions: Int, bias: Bool = true) {
        var generator = makeDefaultSeededGenerator()
        self.init(inputDimensions: inputDimensions, outputDimensions: outputDimensions, bias: bias, generator: &generator)
    }

    public var weight: Tensor { parameter("weight") }   // [C_out, C_in]
    public var bias: Tensor? { optionalParameter("bias") }   // [C_out]

    /// x: [..., C_in] -> [..., C_out]
    public func callAsFunction(_ input: Tensor) -> Tensor {
        linear(input, weight: weight, bias: bias)
    }
}

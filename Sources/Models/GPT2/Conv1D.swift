import NN
import TensorCore

/// GPT-2's "Conv1D": a linear layer whose weight is stored transposed, `weight` [C_in, C_out]
/// and `bias` [C_out], so y = x·W + b (transformers' `pytorch_utils.Conv1D`).
///
/// ```swift
/// let projection = Conv1D(inputDimensions: 768, outputDimensions: 2304)   // GPT-2's c_attn
/// let qkv = projection(x)   // [B, T, 768] -> [B, T, 2304]
/// ```
public final class Conv1D: Module, UnaryLayer {
    public let inputDimensions: Int
    public let outputDimensions: Int

    /// Weights drawn from N(0, 0.02²) and zero biases, as transformers initialises GPT-2.
    public init(inputDimensions: Int, outputDimensions: Int, generator: inout RandomGenerator) {
        self.inputDimensions = inputDimensions
        self.outputDimensions = outputDimensions
        super.init()
        register(parameter: "weight", Tensor.randomNormal([inputDimensions, outputDimensions], standardDeviation: 0.02,
                                                          generator: &generator))
        register(parameter: "bias", .zeros([outputDimensions]))
    }

    public var weight: Tensor { parameter("weight") }   // [C_in, C_out]
    public var bias: Tensor { parameter("bias") }       // [C_out]

    /// x: [..., C_in] -> [..., C_out]
    public func callAsFunction(_ input: Tensor) -> Tensor {
        linear(input, weight: weight.transposed(), bias: bias)
    }
}

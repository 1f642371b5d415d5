import TensorCore

/// Layer normalisation over the last axis with PyTorch's parameters `weight` and `bias` [C].
public final class LayerNorm: Module, UnaryLayer {
    public let epsilon: Float

    public init(dimensions: Int, epsilon: Float = 1e-5, affine: Bool = true) {
        self.epsilon = epsilon
        super.init()
        if affine {
            register(parameter: "weight", .ones([dimensions]))
            register(parameter: "bias", .zeros([dimensions]))
        }
    }

    /// x: [..., C] -> [..., C]
    public func callAsFunction(_ input: Tensor) -> Tensor {
        layerNorm(input, weight: optionalParameter("weight"), bias: optionalParameter("bias"), epsilon: epsilon)
    }
}

/// RMS normalisation over the last axis (LLaMA's), with `weight` [C].
public final class RMSNorm: Module, UnaryLayer {
    public let epsilon: Float

    public init(dimensions: Int, epsilon: Float = 1e-6) {
        self.epsilon = epsilon
        super.init()
        register(parameter: "weight", .ones([dimensions]))
    }

    /// x: [..., C] -> [..., C]
    public func callAsFunction(_ input: Tensor) -> Tensor {
        rmsNorm(input, weight: parameter("weight"), epsilon: epsilon)
    }
}

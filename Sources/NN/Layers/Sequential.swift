import TensorCore

/// Layers applied in order; children are named "0", "1", ... as in PyTorch's nn.Sequential.
public final class Sequential: Module, UnaryLayer {
    public init(_ layers: [any Module & UnaryLayer]) {
        super.init()
        for (index, layer) in layers.enumerated() { register(String(index), layer) }
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        var value = input
        for name in childNames { value = layer(name)(value) }
        return value
    }
}

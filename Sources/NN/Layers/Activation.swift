import TensorCore

/// A parameter-free elementwise non-linearity as a layer.
public final class Activation: Module, UnaryLayer {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case relu, relu6, gelu, geluTanh = "gelu_new", silu, tanh, sigmoid, identity
    }

    public let kind: Kind

    public init(_ kind: Kind) {
        self.kind = kind
        super.init()
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        Activation.apply(kind, input)
    }

    public static func apply(_ kind: Kind, _ input: Tensor) -> Tensor {
        switch kind {
        case .relu: input.relu()
        case .relu6: input.relu6()
        case .gelu: input.gelu()
        case .geluTanh: input.gelu(approximate: true)
        case .silu: input.silu()
        case .tanh: input.tanh()
        case .sigmoid: input.sigmoid()
        case .identity: input
        }
    }
}

extension Activation.Kind {
    /// Parses Hugging Face's `hidden_act` names ("gelu", "gelu_new", "gelu_pytorch_tanh", "silu", "swish", "relu" ...).
    public init?(huggingFaceName name: String) {
        switch name {
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        case "silu", "swish": self = .silu
        case "relu": self = .relu
        case "relu6": self = .relu6
        case "tanh": self = .tanh
        case "sigmoid": self = .sigmoid
        case "linear", "identity": self = .identity
        default: return nil
        }
    }
}

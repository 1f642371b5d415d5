import TensorCore

/// Which sub-block of a transformer layer a residual step closes.
public enum ResidualBlockKind: String, Sendable {
    /// After multi-head attention (Houlsby's first adapter).
    case attention
    /// After the feed-forward block (Houlsby's second, Pfeiffer's only adapter).
    case feedForward
}

/// A transformer sub-block's closing step "add the residual, then normalise" (post-norm, as BERT's
/// `attention.output` and `output`) that adapter methods hook into. When the block has a child
/// named `adapters` that is a `ResidualAdapterHook`, the step runs through it; otherwise it is
/// `norm(sublayerOutput + residual)`.
public protocol ResidualBlock: Module {
    var residualKind: ResidualBlockKind { get }
    /// The hidden size C of the block's output.
    var residualDimensions: Int { get }
}

/// Bottleneck adapters: replaces a residual block's closing step.
public protocol ResidualAdapterHook: AnyObject {
    /// sublayerOutput: [..., C] (after dropout), residual: [..., C] (the block's input),
    /// norm: the block's normalisation -> [..., C]
    func closeResidual(_ sublayerOutput: Tensor, residual: Tensor, norm: (Tensor) -> Tensor) -> Tensor
}

extension ResidualBlock {
    /// norm(sublayerOutput + residual), or what the attached adapters make of it.
    public func closeResidual(_ sublayerOutput: Tensor /* [..., C] */, residual: Tensor /* [..., C] */,
                              norm: (Tensor) -> Tensor) -> Tensor {
        if let hook = child("adapters") as? any ResidualAdapterHook {
            return hook.closeResidual(sublayerOutput, residual: residual, norm: norm)
        }
        return norm(sublayerOutput + residual)
    }
}

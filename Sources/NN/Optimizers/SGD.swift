import TensorCore

/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and
/// (coupled, L2) weight decay, computed as PyTorch's `torch.optim.SGD`.
public final class SGD: Optimizer, @unchecked Sendable {
    public var momentum: Float
    public var dampening: Float
    public var isNesterov: Bool
    public var weightDecay: Float

    public init(learningRate: Float, momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false,
                weightDecay: Float = 0) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov needs momentum > 0 and no dampening")
        self.momentum = momentum
        self.dampening = dampening
        self.isNesterov = nesterov
        self.weightDecay = weightDecay
        super.init(learningRate: learningRate)
    }

    override public func update(_ parameter: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, count: Int,
                                state: inout ParameterState) {
        let isFirstStep = state.buffers["momentum_buffer"] == nil
        let velocity = momentum != 0 ? buffer("momentum_buffer", in: &state, count: count) : nil
        for index in 0..<count {
            var g = gradient[index] + weightDecay * parameter[index]
            if let velocity {
                velocity[index] = isFirstStep ? g : momentum * velocity[index] + (1 - dampening) * g
                g = isNesterov ? g + momentum * velocity[index] : velocity[index]
            }
            parameter[index] -= learningRate * g
        }
    }
}

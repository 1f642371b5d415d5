import Foundation
import TensorCore

/// Adam with decoupled weight decay (Loshchilov & Hutter), computed as PyTorch's
/// `torch.optim.AdamW`: bias-corrected moments, `p -= lr·wd·p` before the Adam step.
public final class AdamW: Optimizer, @unchecked Sendable {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "AdamW: betas must lie in [0, 1)")
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        super.init(learningRate: learningRate)
    }

    override public func update(_ parameter: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, count: Int,
                                state: inout ParameterState) {
        let m = buffer("exp_avg", in: &state, count: count)
        let v = buffer("exp_avg_sq", in: &state, count: count)
        let step = Float(state.step)
        let correction1 = 1 - Foundation.pow(beta1, step)
        let correction2Root = (1 - Foundation.pow(beta2, step)).squareRoot()
        let stepSize = learningRate / correction1
        let decay = 1 - learningRate * weightDecay
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        // Large tensors (embeddings, full fine-tuning's matrices) are split across the threads.
        Parallel.forEachChunk(count, granularity: 1 << 16) { range in
            for index in range {
                let g = gradient[index]
                parameter[index] *= decay
                m[index] = b1 * m[index] + (1 - b1) * g
                v[index] = b2 * v[index] + (1 - b2) * g * g
                parameter[index] -= stepSize * m[index] / (v[index].squareRoot() / correction2Root + eps)
            }
        }
    }
}

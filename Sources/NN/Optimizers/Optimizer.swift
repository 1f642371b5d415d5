import TensorCore

/// Updates trainable parameters from their gradients. A concrete optimizer only says how one
/// parameter is updated (`update`); this base class walks the model, keeps per-parameter state
/// by path (so it can be checkpointed) and makes borrowed weights writable before the first step.
///
/// ```swift
/// let optimizer = AdamW(learningRate: 1e-3)
/// loss.backward()
/// optimizer.step(model)
/// model.zeroGradients()
/// ```
open class Optimizer: @unchecked Sendable {
    public var learningRate: Float
    /// Per-parameter state by parameter path, e.g. Adam's moments. Settable so a checkpoint can
    /// restore it.
    public var states: [String: ParameterState] = [:]

    public struct ParameterState: Sendable {
        /// Updates applied to this parameter so far.
        public var step: Int = 0
        /// Named state buffers (e.g. "exp_avg"), each shaped like the parameter.
        public var buffers: [String: Tensor] = [:]

        public init(step: Int = 0, buffers: [String: Tensor] = [:]) {
            self.step = step
            self.buffers = buffers
        }
    }

    public init(learningRate: Float) {
        precondition(learningRate >= 0, "Optimizer: learning rate \(learningRate) is negative")
        self.learningRate = learningRate
    }

    /// Updates one parameter in place: `parameter` and `gradient` hold `count` floats.
    open func update(_ parameter: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, count: Int,
                     state: inout ParameterState) {
        fatalError("\(type(of: self)) must override update(_:gradient:count:state:)")
    }

    /// Applies one update to every trainable parameter of `model` that has a gradient.
    public func step(_ model: Module) {
        Tensor.withoutGradient {
            for (path, original) in model.trainableParameters() {
                guard let gradient = original.grad?.contiguous() else { continue }
                var parameter = original
                if !(parameter.storage.isOwned && parameter.isContiguous && parameter.dtype == .float32) {
                    parameter = original.copied().detached()
                    parameter.grad = original.grad
                    model.replaceTensor(at: path, with: parameter)
                }
                var state = states[path] ?? ParameterState()
                state.step += 1
                update(parameter.storage.floats + parameter.offset, gradient: gradient.storage.floats + gradient.offset,
                       count: parameter.count, state: &state)
                states[path] = state
            }
        }
    }

    /// The buffer `name` of `state`, created as zeros of `count` elements on first use.
    func buffer(_ name: String, in state: inout ParameterState, count: Int) -> UnsafeMutablePointer<Float> {
        if state.buffers[name] == nil { state.buffers[name] = Tensor.zeros([count]) }
        return state.buffers[name]!.storage.floats
    }
}

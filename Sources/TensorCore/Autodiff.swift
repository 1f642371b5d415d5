/// Reverse-mode automatic differentiation.
///
/// Each op that has an input requiring a gradient records a `GradientNode` on its output:
/// the inputs and a closure mapping the output's gradient to the inputs' gradients. The
/// closure captures only what the derivative reads, and `backward()` drops it as soon as it
/// has run, which releases the saved activations. Inside `Tensor.withoutGradient` nothing is
/// recorded.
final class GradientNode {
    var inputs: [Tensor]
    /// Maps the output gradient to one gradient per input (nil where none is needed).
    var derivative: ((Tensor) -> [Tensor?])?
    let name: String

    init(name: String, inputs: [Tensor], derivative: @escaping (Tensor) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.derivative = derivative
    }
}

extension Tensor {
    @TaskLocal static var isRecordingGradients = true

    /// Runs `body` without recording any op for differentiation (evaluation, inference,
    /// optimizer updates).
    ///
    /// ```swift
    /// let logits = Tensor.withoutGradient { model(batch) }
    /// ```
    public static func withoutGradient<Result>(_ body: () throws -> Result) rethrows -> Result {
        try $isRecordingGradients.withValue(false, operation: body)
    }

    /// Whether ops run now are recorded for differentiation.
    public static var isRecording: Bool { isRecordingGradients }

    /// Attaches the derivative of an op to its freshly computed `output` when recording and
    /// when any input requires a gradient; otherwise returns `output` unchanged.
    /// `derivative` must return one entry per input; it is called without recording.
    static func record(_ name: String, _ output: Tensor, inputs: [Tensor],
                       derivative: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard isRecordingGradients, inputs.contains(where: { $0.requiresGradient }) else { return output }
        output.requiresGradient = true
        output.gradientNode = GradientNode(name: name, inputs: inputs, derivative: derivative)
        return output
    }

    /// Back-propagates from this tensor. A non-scalar tensor needs an explicit `gradient` of
    /// its shape. Leaf tensors that require gradients accumulate into `grad`, so several
    /// backward passes add up (gradient accumulation); set `grad = nil` to reset.
    public func backward(_ gradient: Tensor? = nil) {
        precondition(requiresGradient, "backward: tensor of shape \(shape) does not require a gradient")
        let seed = gradient ?? {
            precondition(count == 1, "backward: a gradient is needed for non-scalar shape \(shape)")
            return Tensor.ones(shape)
        }()
        precondition(seed.shape == shape, "backward: gradient shape \(seed.shape) differs from \(shape)")

        // Processed tensors are dropped from `order` at once, so an activation (and the storage it
        // shares with saved values) is freed as soon as the backward pass is past it.
        var order: [Tensor?] = topologicalOrder()
        var gradients: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        Tensor.withoutGradient {
            for index in order.indices.reversed() {
                guard let tensor = order[index] else { continue }
                order[index] = nil
                guard let outputGradient = gradients.removeValue(forKey: ObjectIdentifier(tensor)) else { continue }
                guard let node = tensor.gradientNode, let derivative = node.derivative else {
                    tensor.accumulate(outputGradient)
                    continue
                }
                let inputGradients = derivative(outputGradient)
                precondition(inputGradients.count == node.inputs.count, "\(node.name): derivative arity mismatch")
                for (input, inputGradient) in zip(node.inputs, inputGradients) where input.requiresGradient {
                    guard let inputGradient else { continue }
                    precondition(inputGradient.shape == input.shape,
                                 "\(node.name): gradient shape \(inputGradient.shape) for input \(input.shape)")
                    let key = ObjectIdentifier(input)
                    gradients[key] = gradients[key].map { $0 + inputGradient } ?? inputGradient
                }
                // Release saved activations and the graph behind this node.
                node.derivative = nil
                node.inputs = []
                tensor.gradientNode = nil
            }
        }
    }

    private func accumulate(_ gradient: Tensor) {
        grad = grad.map { $0 + gradient } ?? gradient.contiguous()
    }

    /// Tensors reachable from this one through recorded nodes, inputs before outputs.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (tensor, expanded) = stack.popLast() {
            if expanded { order.append(tensor); continue }
            guard visited.insert(ObjectIdentifier(tensor)).inserted else { continue }
            stack.append((tensor, true))
            for input in tensor.gradientNode?.inputs ?? [] where input.requiresGradient
                && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        return order
    }
}

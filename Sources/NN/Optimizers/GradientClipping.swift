import TensorCore

extension Module {
    /// Scales all gradients so their global L2 norm is at most `maxNorm`, as PyTorch's
    /// `clip_grad_norm_`. Returns the norm before clipping.
    @discardableResult
    public func clipGradientNorm(maxNorm: Float) -> Float {
        let gradients = trainableParameters().compactMap { $0.tensor.grad }
        var total: Double = 0
        for gradient in gradients {
            for value in gradient.toArray() { total += Double(value) * Double(value) }
        }
        let norm = Float(total.squareRoot())
        let scale = maxNorm / (norm + 1e-6)
        if scale < 1 {
            for (_, parameter) in trainableParameters() {
                if let gradient = parameter.grad { parameter.grad = Tensor.withoutGradient { gradient * scale } }
            }
        }
        return norm
    }
}

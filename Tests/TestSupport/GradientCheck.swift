import TensorCore

/// Checks the analytic gradients of `function` at `inputs` against central finite
/// differences (computed in Double from float32 evaluations).
///
/// The function's output is reduced to a scalar with a fixed random projection, so every
/// output element contributes with a distinct weight. Returns the largest error relative to
/// max(1, |numeric|) over all elements of all inputs.
public func gradientError(of function: ([Tensor]) -> Tensor, at inputs: [Tensor],
                          step: Float = 1e-2, seed: UInt64 = 7) -> Float {
    let leaves = inputs.map { $0.contiguous().copied().detached().requiringGradient() }
    let probe = function(leaves)
    let projection = Tensor.randomNormal(probe.shape, seed: seed)
    func scalar(_ values: [Tensor]) -> Double {
        let output = Tensor.withoutGradient { function(values) }
        return zip(output.toArray(), projection.toArray()).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
    (probe * projection).sum().backward()

    var worst: Float = 0
    for (index, leaf) in leaves.enumerated() {
        let analytic = leaf.grad?.toArray() ?? [Float](repeating: 0, count: leaf.count)
        let base = leaf.toArray()
        for element in 0..<base.count {
            var plus = base, minus = base
            plus[element] += step
            minus[element] -= step
            var upper = leaves.map { $0.detached() }, lower = upper
            upper[index] = Tensor(plus, shape: leaf.shape)
            lower[index] = Tensor(minus, shape: leaf.shape)
            let numeric = (scalar(upper) - scalar(lower)) / (2 * Double(step))
            let error = Swift.abs(Double(analytic[element]) - numeric) / Swift.max(1, Swift.abs(numeric))
            worst = Swift.max(worst, Float(error))
        }
    }
    return worst
}

/// The affine map of a linear layer, `x · Wᵀ + b`, as one op (PyTorch's `F.linear`).
///
/// One op instead of a product and a bias add: the output is written once (each row starts as
/// the bias and the GEMM accumulates onto it), and backward keeps only `x` and `W` — not the
/// product, which a separate add would hold until backward reaches it.
///
/// x: [..., in], weight: [out, in], bias: [out] -> [..., out]
///
/// ```swift
/// let y = linear(x, weight: dense.weight, bias: dense.bias)   // x: [B, T, 384], weight: [1536, 384]
/// ```
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    precondition(weight.rank == 2 && x.rank >= 1 && x.shape[x.rank - 1] == weight.shape[1],
                 "linear: input \(x.shape) does not match weight \(weight.shape) ([out, in])")
    guard let bias else { return matmul(x, weight.transposed()) }
    let (inputs, outputs) = (weight.shape[1], weight.shape[0])
    precondition(bias.shape == [outputs], "linear: bias \(bias.shape) must be [\(outputs)] for weight \(weight.shape)")
    let rows = x.count / Swift.max(inputs, 1)
    let outputShape = Array(x.shape.dropLast()) + [outputs]
    // [rows, in], float32 bias [out]; neither recorded (the op records itself below).
    let (flat, biasValues) = Tensor.withoutGradient { (x.contiguous().reshaped([rows, inputs]), bias.contiguous()) }
    let output = Tensor.uninitialized(outputShape)
    let destination = output.storage.floats, source = biasValues.storage.floats + biasValues.offset
    for row in 0..<rows { (destination + row * outputs).update(from: source, count: outputs) }
    matmul(flat, weight.transposed(), into: output.reshaped([rows, outputs]), accumulating: true)

    let needsInput = x.requiresGradient, needsWeight = weight.requiresGradient, needsBias = bias.requiresGradient
    let inputShape = x.shape
    return Tensor.record("linear", output, inputs: [x, weight, bias]) { gradient in
        let upstream = gradient.contiguous().reshaped([rows, outputs])   // [rows, out]
        return [needsInput ? matmul(upstream, weight.detached()).reshaped(inputShape) : nil,      // [rows, in]
                needsWeight ? matmul(upstream.transposed(), flat.detached()) : nil,               // [out, in]
                needsBias ? upstream.summed(toShape: [outputs]) : nil]
    }
}

import CKernels

/// Cross-entropy of logits against class targets: a fused log-softmax and negative
/// log-likelihood with a hand-written derivative.

/// The mean cross-entropy over rows whose target is not `ignoreIndex`, as
/// `torch.nn.functional.cross_entropy(logits, targets, ignore_index:, label_smoothing:)`.
///
/// With label smoothing ε the target distribution is (1 - ε)·one-hot + ε/C. The gradient is
/// (softmax - target distribution) / (non-ignored rows), zero on ignored rows.
///
/// When every row is ignored the loss is 0 with a zero gradient. PyTorch returns NaN there
/// (0/0); a batch made only of padding should not poison a training run.
///
/// ```swift
/// let loss = crossEntropy(logits: logits.reshaped([-1, V]), targets: labels)   // scalar
/// loss.backward()
/// ```
public func crossEntropy(logits: Tensor /* [N, C] */, targets: [Int], ignoreIndex: Int = -100,
                         labelSmoothing: Float = 0) -> Tensor {
    precondition(logits.rank == 2, "crossEntropy: logits must be [N, C], got \(logits.shape)")
    let rows = logits.shape[0], classes = logits.shape[1]
    precondition(targets.count == rows,
                 "crossEntropy: \(targets.count) targets for logits of shape \(logits.shape)")
    precondition(labelSmoothing >= 0 && labelSmoothing <= 1,
                 "crossEntropy: label smoothing \(labelSmoothing) is outside [0, 1]")
    for target in targets where target != ignoreIndex {
        precondition(target >= 0 && target < classes,
                     "crossEntropy: target \(target) out of range for logits of shape \(logits.shape)")
    }
    let source = logits.contiguous()
    let x = source.storage.floats + source.offset
    // Per row: the log-sum-exp (saved for the backward pass) and the row's loss.
    let logSumExps = Tensor.zeros([rows])
    let lse = logSumExps.storage.floats
    var losses = [Float](repeating: 0, count: rows)
    let counted = targets.filter { $0 != ignoreIndex }.count
    losses.withUnsafeMutableBufferPointer { losses in
        forEachRowChunk(rows: rows, rowLength: classes) { chunk in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * classes)
            defer { scratch.deallocate() }
            for row in chunk where targets[row] != ignoreIndex {
                let xRow = x + row * classes
                let logSumExp = logSoftmaxRow(xRow, scratch, classes, scratch: scratch + classes)
                lse[row] = logSumExp
                let total = peft_vsum(scratch, classes)
                let negativeLogLikelihood = -scratch[targets[row]]
                losses[row] = (1 - labelSmoothing) * negativeLogLikelihood - labelSmoothing * total / Float(classes)
            }
        }
    }
    let loss = counted == 0 ? 0 : losses.reduce(0, +) / Float(counted)
    let output = Tensor(scalar: loss)
    let savedLogits = source.detached()
    return Tensor.record("cross_entropy", output, inputs: [logits]) { gradient in
        let result = Tensor.zeros([rows, classes])
        guard counted > 0 else { return [result] }
        let r = result.storage.floats, lse = logSumExps.storage.floats
        let x = savedLogits.storage.floats + savedLogits.offset
        let scale = gradient.item / Float(counted)
        let smoothing = labelSmoothing / Float(classes)
        forEachRowChunk(rows: rows, rowLength: classes) { chunk in
            for row in chunk where targets[row] != ignoreIndex {
                let xRow = x + row * classes, rRow = r + row * classes
                for c in 0..<classes { rRow[c] = xRow[c] - lse[row] }
                peft_vexp(rRow, rRow, classes)
                for c in 0..<classes { rRow[c] = (rRow[c] - smoothing) * scale }
                rRow[targets[row]] -= (1 - labelSmoothing) * scale
            }
        }
        return [result]
    }
}

import TensorCore

/// Mean squared error, averaged over all elements.
public func meanSquaredError(_ prediction: Tensor, _ target: Tensor) -> Tensor {
    precondition(prediction.shape == target.shape, "meanSquaredError: shapes \(prediction.shape) and \(target.shape) differ")
    return (prediction - target).squared().mean()
}

/// Binary cross-entropy on logits, averaged over all elements, computed stably as
/// max(x, 0) - x·y + log(1 + exp(-|x|)), as PyTorch's `binary_cross_entropy_with_logits`.
public func binaryCrossEntropyWithLogits(_ logits: Tensor, _ target: Tensor) -> Tensor {
    precondition(logits.shape == target.shape, "binaryCrossEntropyWithLogits: shapes \(logits.shape) and \(target.shape) differ")
    let softplus = ((-logits.abs()).exp() + 1).log()
    return (logits.relu() - logits * target + softplus).mean()
}

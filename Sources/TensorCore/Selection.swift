/// Elementwise choice between tensors by a condition: `where` and masked fill.

/// `x` where `condition` is non-zero, otherwise `y`, broadcasting all three (`torch.where`).
/// The gradient flows to whichever operand was picked; the condition gets none.
///
/// ```swift
/// let merged = selecting(where: keep, updated, otherwise: original)   // keep: [B, 1], updated, original: [B, C]
/// ```
public func selecting(where condition: Tensor, _ x: Tensor, otherwise y: Tensor) -> Tensor {
    let output = select(condition, x, y)
    let savedCondition = condition.detached()
    return Tensor.record("where", output, inputs: [x, y]) { gradient in
        let zero = Tensor(scalar: 0)
        return [x.requiresGradient ? select(savedCondition, gradient, zero).summed(toShape: x.shape) : nil,
                y.requiresGradient ? select(savedCondition, zero, gradient).summed(toShape: y.shape) : nil]
    }
}

extension Tensor {
    /// This tensor with `value` wherever `mask` (broadcast to this shape) is non-zero
    /// (`torch.masked_fill`). The gradient is zero where filled.
    ///
    /// ```swift
    /// let scores = logits.maskedFilled(where: padding, with: -.infinity)   // padding: [B, 1, 1, T]
    /// ```
    public func maskedFilled(where mask: Tensor, with value: Float) -> Tensor {
        precondition(broadcastShape(shape, mask.shape) == shape,
                     "maskedFilled: mask of shape \(mask.shape) does not broadcast to \(shape)")
        let output = select(mask, Tensor(scalar: value), self)
        let savedMask = mask.detached()
        return Tensor.record("masked_fill", output, inputs: [self]) { gradient in
            [select(savedMask, Tensor(scalar: 0), gradient)]
        }
    }
}

/// The unrecorded kernel: a new tensor of the broadcast shape holding `x` where `condition`
/// is non-zero and `y` elsewhere.
private func select(_ condition: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor {
    let shape = broadcastShape(broadcastShape(condition.shape, x.shape), y.shape)
    let operands = [condition, x, y].map { $0.dtype == .float32 ? $0 : $0.contiguous() }
    let layouts = operands.map { $0.expandedLayout(to: shape) }
    let output = Tensor.zeros(shape)
    let destination = output.storage.floats
    let c = operands[0].storage.floats, a = operands[1].storage.floats, b = operands[2].storage.floats
    let cStride = layouts[0].strides.last ?? 0, aStride = layouts[1].strides.last ?? 0, bStride = layouts[2].strides.last ?? 0
    var written = 0
    forEachRow(shape: shape, strides: layouts.map(\.strides), offsets: layouts.map(\.offset)) { offsets, length in
        let cStart = offsets[0], aStart = offsets[1], bStart = offsets[2]
        for element in 0..<length {
            destination[written + element] = c[cStart + element * cStride] != 0
                ? a[aStart + element * aStride] : b[bStart + element * bStride]
        }
        written += length
    }
    return output
}

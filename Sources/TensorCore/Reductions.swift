import CKernels

/// Reductions over axes: sum, mean, variance, max, argmax.
extension Tensor {
    /// Sums over `axes` (all axes when nil). With `keepingDimensions`, reduced axes stay as 1.
    public func sum(axes: [Int]? = nil, keepingDimensions: Bool = false) -> Tensor {
        let reduced = Set((axes ?? Array(0..<rank)).map(normalizedAxis))
        let keptShape = shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        let source = dtype == .float32 ? self : contiguous()
        let output = Tensor.zeros(keptShape)
        let accumulatorStrides = output.expandedLayout(to: shape).strides
        let x = source.storage.floats, y = output.storage.floats
        let xStride = source.strides.last ?? 0, yStride = accumulatorStrides.last ?? 0
        forEachRow(shape: shape, strides: [source.strides, accumulatorStrides], offsets: [source.offset, 0]) { offsets, length in
            let xRow = x + offsets[0], yRow = y + offsets[1]
            switch (xStride, yStride) {
            case (1, 0): yRow[0] += peft_vsum(xRow, length)                          // along a contiguous row
            case (1, 1): for element in 0..<length { yRow[element] += xRow[element] } // rows into a row: vectorised
            case (_, 0):
                var total: Float = 0
                for element in 0..<length { total += xRow[element * xStride] }
                yRow[0] += total
            default:
                for element in 0..<length { yRow[element * yStride] += xRow[element * xStride] }
            }
        }
        let finalShape = keepingDimensions ? keptShape : shape.enumerated().filter { !reduced.contains($0.offset) }.map(\.element)
        let result = Tensor(storage: output.storage, shape: finalShape)
        let inputShape = shape
        return Tensor.record("sum", result, inputs: [self]) { gradient in
            [gradient.reshaped(keptShape).expanded(to: inputShape)]
        }
    }

    /// Sums a broadcast gradient back to `target` (the shape before broadcasting).
    public func summed(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        var axes = Array(0..<lead)
        for axis in 0..<target.count where target[axis] == 1 && shape[lead + axis] != 1 { axes.append(lead + axis) }
        return sum(axes: axes, keepingDimensions: true).reshaped(target)
    }

    public func mean(axes: [Int]? = nil, keepingDimensions: Bool = false) -> Tensor {
        let reduced = (axes ?? Array(0..<rank)).map(normalizedAxis)
        let n = reduced.reduce(1) { $0 * shape[$1] }
        return sum(axes: axes, keepingDimensions: keepingDimensions) * (1 / Float(n))
    }

    /// Population variance (divides by n), or sample variance with `unbiased`.
    public func variance(axes: [Int]? = nil, keepingDimensions: Bool = false, unbiased: Bool = false) -> Tensor {
        let reduced = (axes ?? Array(0..<rank)).map(normalizedAxis)
        let n = reduced.reduce(1) { $0 * shape[$1] }
        let centered = self - mean(axes: axes, keepingDimensions: true)
        let total = centered.squared().sum(axes: axes, keepingDimensions: keepingDimensions)
        return total * (1 / Float(unbiased ? n - 1 : n))
    }

    /// The maximum along `axis`; the gradient flows to the first maximal element.
    public func max(axis: Int, keepingDimensions: Bool = false) -> Tensor {
        let (values, indices) = maxWithIndices(axis: axis)
        let axis = normalizedAxis(axis)
        var keptShape = shape
        keptShape[axis] = 1
        let result = keepingDimensions ? values.reshaped(keptShape) : values
        let inputShape = shape
        return Tensor.record("max", result, inputs: [self]) { gradient in
            [scatterAlongAxis(gradient.reshaped(keptShape), indices: indices, axis: axis, shape: inputShape)]
        }
    }

    /// Indices of the maximum along `axis`, as floats (the first maximal element wins).
    public func argmax(axis: Int) -> Tensor { maxWithIndices(axis: axis).1 }

    /// Values and indices (as floats) of the maximum along `axis`, axis removed.
    func maxWithIndices(axis: Int) -> (Tensor, Tensor) {
        let axis = normalizedAxis(axis)
        let source = contiguous()
        let outer = shape[..<axis].reduce(1, *), length = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        var outShape = shape
        outShape.remove(at: axis)
        let values = Tensor.zeros(outShape), indices = Tensor.zeros(outShape)
        let x = source.storage.floats + source.offset, v = values.storage.floats, i = indices.storage.floats
        for o in 0..<outer {
            for n in 0..<inner {
                var best = -Float.infinity, bestIndex = 0
                for l in 0..<length {
                    let value = x[(o * length + l) * inner + n]
                    if value > best || (value.isNaN && !best.isNaN) { best = value; bestIndex = l }
                }
                v[o * inner + n] = best
                i[o * inner + n] = Float(bestIndex)
            }
        }
        return (values, indices)
    }
}

/// Places `values` (size 1 along `axis`) at `indices` along `axis` of a zero tensor of `shape`.
func scatterAlongAxis(_ values: Tensor, indices: Tensor, axis: Int, shape: [Int]) -> Tensor {
    let source = values.contiguous()
    let outer = shape[..<axis].reduce(1, *), length = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
    let output = Tensor.zeros(shape)
    let v = source.storage.floats + source.offset, i = indices.contiguous().storage.floats, y = output.storage.floats
    for o in 0..<outer {
        for n in 0..<inner { y[(o * length + Int(i[o * inner + n])) * inner + n] = v[o * inner + n] }
    }
    return output
}

/// Layout ops: views without copying where the layout allows, each with its derivative.
extension Tensor {
    /// This tensor as contiguous float32: itself when it already is, otherwise a copy
    /// (widening float16/bfloat16). Gradients pass straight through.
    public func contiguous() -> Tensor {
        if isContiguous && dtype == .float32 { return self }
        let output = Tensor.uninitialized(shape)   // forEachRow visits every element once
        let destination = output.storage.floats
        var written = 0
        let innerStride = strides.last ?? 1
        forEachRow(shape: shape, strides: [strides], offsets: [offset]) { offsets, length in
            let start = offsets[0]
            if innerStride == 1 {
                storage.widen(from: start, count: length, into: destination + written)
            } else if dtype == .float32 {
                let source = storage.floats
                for element in 0..<length { destination[written + element] = source[start + element * innerStride] }
            } else {
                var value: Float = 0
                for element in 0..<length {
                    storage.widen(from: start + element * innerStride, count: 1, into: &value)
                    destination[written + element] = value
                }
            }
            written += length
        }
        return Tensor.record("contiguous", output, inputs: [self]) { [$0] }
    }

    /// A copy with its own storage.
    public func copied() -> Tensor {
        let source = contiguous()
        let output = Tensor.zeros(shape)
        output.storage.floats.update(from: source.storage.floats + source.offset, count: count)
        return Tensor.record("copy", output, inputs: [self]) { [$0] }
    }

    /// The same elements in a new shape; one dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshaped: cannot reshape \(shape) to \(newShape)")
            resolved[inferred] = count / known
        }
        precondition(resolved.reduce(1, *) == count, "reshaped: cannot reshape \(shape) to \(newShape)")
        let source = isContiguous ? self : contiguous()
        let output = Tensor(storage: source.storage, shape: resolved, offset: source.offset)
        let originalShape = shape
        return Tensor.record("reshape", output, inputs: [self]) { [$0.reshaped(originalShape)] }
    }

    /// Reorders the axes: output axis i is input axis `order[i]`. A view, no copy.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permuted: \(order) is not a permutation of \(rank) axes")
        let output = Tensor(storage: storage, shape: order.map { shape[$0] },
                            strides: order.map { strides[$0] }, offset: offset)
        var inverse = [Int](repeating: 0, count: rank)
        for (position, axis) in order.enumerated() { inverse[axis] = position }
        return Tensor.record("permute", output, inputs: [self]) { [$0.permuted(inverse)] }
    }

    /// Swaps two axes (by default the last two). A view, no copy.
    public func transposed(_ first: Int = -2, _ second: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(normalizedAxis(first), normalizedAxis(second))
        return permuted(order)
    }

    /// The elements `range` along `axis`. A view, no copy.
    public func sliced(axis: Int, _ range: Range<Int>) -> Tensor {
        let axis = normalizedAxis(axis)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[axis],
                     "sliced: range \(range) out of bounds for axis \(axis) of shape \(shape)")
        var newShape = shape
        newShape[axis] = range.count
        let output = Tensor(storage: storage, shape: newShape, strides: strides,
                            offset: offset + range.lowerBound * strides[axis])
        let originalShape = shape
        return Tensor.record("slice", output, inputs: [self]) { gradient in
            [gradient.padded(axis: axis, before: range.lowerBound,
                             after: originalShape[axis] - range.upperBound)]
        }
    }

    /// Zero padding along one axis.
    public func padded(axis: Int, before: Int, after: Int) -> Tensor {
        let axis = normalizedAxis(axis)
        var parts: [Tensor] = []
        var padShape = shape
        if before > 0 { padShape[axis] = before; parts.append(.zeros(padShape)) }
        parts.append(self)
        if after > 0 { padShape[axis] = after; parts.append(.zeros(padShape)) }
        return parts.count == 1 ? self : concatenate(parts, axis: axis)
    }

    /// Broadcasts size-1 axes (and missing leading axes) to `newShape`. A view, no copy.
    public func expanded(to newShape: [Int]) -> Tensor {
        if newShape == shape { return self }
        precondition(newShape.count >= rank, "expanded: cannot expand \(shape) to \(newShape)")
        let lead = newShape.count - rank
        var newStrides = [Int](repeating: 0, count: newShape.count)
        for axis in 0..<rank {
            let target = newShape[lead + axis]
            precondition(shape[axis] == target || shape[axis] == 1,
                         "expanded: cannot expand \(shape) to \(newShape)")
            newStrides[lead + axis] = shape[axis] == target ? strides[axis] : 0
        }
        let output = Tensor(storage: storage, shape: newShape, strides: newStrides, offset: offset)
        let originalShape = shape
        return Tensor.record("expand", output, inputs: [self]) { [$0.summed(toShape: originalShape)] }
    }

    /// Inserts a size-1 axis at `axis`.
    public func unsqueezed(_ axis: Int) -> Tensor {
        let axis = axis < 0 ? axis + rank + 1 : axis
        var newShape = shape
        newShape.insert(1, at: axis)
        return reshaped(newShape)
    }

    /// Removes a size-1 axis.
    public func squeezed(_ axis: Int) -> Tensor {
        let axis = normalizedAxis(axis)
        precondition(shape[axis] == 1, "squeezed: axis \(axis) of shape \(shape) is not 1")
        var newShape = shape
        newShape.remove(at: axis)
        return reshaped(newShape)
    }
}

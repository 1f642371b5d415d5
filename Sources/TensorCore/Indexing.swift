/// Gathering by integer indices (embedding lookup, index-select) and splitting along an axis.

/// The rows of `table` at `indices`, arranged as `shape + [C]`. A float16/bfloat16 table is
/// widened row by row; the gradient scatter-adds into `[V, C]`.
///
/// ```swift
/// let hidden = embedding(tokenTable, indices: tokenIDs, shape: [B, T])   // [B, T, C]
/// ```
public func embedding(_ table: Tensor /* [V, C] */, indices: [Int], shape: [Int]) -> Tensor /* shape + [C] */ {
    precondition(table.rank == 2, "embedding: table must be [V, C], got \(table.shape)")
    precondition(indices.count == shape.reduce(1, *),
                 "embedding: \(indices.count) indices do not fill shape \(shape)")
    let vocabulary = table.shape[0], channels = table.shape[1]
    for index in indices {
        precondition(index >= 0 && index < vocabulary,
                     "embedding: index \(index) out of range for a table of \(vocabulary) rows (shape \(table.shape))")
    }
    let source = table.strides[1] == 1 || channels == 1 ? table : table.contiguous()
    let output = Tensor.zeros(shape + [channels])
    let y = output.storage.floats
    for (position, index) in indices.enumerated() {
        source.storage.widen(from: source.offset + index * source.strides[0], count: channels,
                             into: y + position * channels)
    }
    return Tensor.record("embedding", output, inputs: [table]) { gradient in
        let upstream = gradient.contiguous()
        let result = Tensor.zeros([vocabulary, channels])
        let g = upstream.storage.floats + upstream.offset, r = result.storage.floats
        for (position, index) in indices.enumerated() {
            let row = r + index * channels, gRow = g + position * channels
            for c in 0..<channels { row[c] += gRow[c] }
        }
        return [result]
    }
}

extension Tensor {
    /// The slices at `indices` along `axis`, in that order (indices may repeat), as
    /// `torch.index_select`. The gradient scatter-adds back.
    ///
    /// ```swift
    /// let picked = x.indexSelected(axis: 0, indices: [2, 0, 2])   // [5, 4] -> [3, 4]
    /// ```
    public func indexSelected(axis: Int, indices: [Int]) -> Tensor {
        let axis = normalizedAxis(axis)
        let length = shape[axis]
        for index in indices {
            precondition(index >= 0 && index < length,
                         "indexSelected: index \(index) out of range for axis \(axis) of shape \(shape)")
        }
        let source = contiguous()
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        var outputShape = shape
        outputShape[axis] = indices.count
        let output = Tensor.zeros(outputShape)
        let x = source.storage.floats + source.offset, y = output.storage.floats
        for o in 0..<outer {
            for (position, index) in indices.enumerated() {
                (y + (o * indices.count + position) * inner).update(from: x + (o * length + index) * inner, count: inner)
            }
        }
        let inputShape = shape
        return Tensor.record("index_select", output, inputs: [self]) { gradient in
            let upstream = gradient.contiguous()
            let result = Tensor.zeros(inputShape)
            let g = upstream.storage.floats + upstream.offset, r = result.storage.floats
            for o in 0..<outer {
                for (position, index) in indices.enumerated() {
                    let target = r + (o * length + index) * inner, from = g + (o * indices.count + position) * inner
                    for element in 0..<inner { target[element] += from[element] }
                }
            }
            return [result]
        }
    }

    /// Consecutive pieces of `sizes` along `axis` (views, no copies); the inverse of
    /// `concatenate`.
    ///
    /// ```swift
    /// let parts = qkv.split(sizes: [768, 256, 256], axis: -1)
    /// ```
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let axis = normalizedAxis(axis)
        precondition(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[axis],
                     "split: sizes \(sizes) do not add up to axis \(axis) of shape \(shape)")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return sliced(axis: axis, start..<(start + size))
        }
    }

    /// `count` equal pieces along `axis` (views, no copies). Note the difference from
    /// `torch.split(int)`, whose argument is the size of a piece: this is `torch.chunk` for an
    /// axis that divides evenly.
    ///
    /// ```swift
    /// let (query, key, value) = { ($0[0], $0[1], $0[2]) }(qkv.split(count: 3, axis: -1))
    /// ```
    public func split(count: Int, axis: Int) -> [Tensor] {
        let length = shape[normalizedAxis(axis)]
        precondition(count > 0 && length % count == 0,
                     "split: axis \(axis) of shape \(shape) does not split into \(count) equal pieces")
        return split(sizes: [Int](repeating: length / count, count: count), axis: axis)
    }
}

/// Joins tensors along an existing axis; the inverse of `split`.
///
/// ```swift
/// let joined = concatenate([a, b], axis: -1)   // [2, 3] + [2, 5] -> [2, 8]
/// ```
public func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
    precondition(!tensors.isEmpty, "concatenate: no tensors")
    let first = tensors[0]
    let axis = first.normalizedAxis(axis)
    for tensor in tensors {
        var expected = first.shape, actual = tensor.shape
        precondition(expected.count == actual.count, "concatenate: shapes \(first.shape) and \(tensor.shape) differ in rank")
        expected[axis] = 0
        actual[axis] = 0
        precondition(expected == actual, "concatenate: shapes \(first.shape) and \(tensor.shape) differ off axis \(axis)")
    }
    var shape = first.shape
    shape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
    let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
    let output = Tensor.zeros(shape)
    let y = output.storage.floats
    var axisStart = 0
    for tensor in tensors {
        let source = tensor.contiguous()
        let x = source.storage.floats + source.offset
        let block = tensor.shape[axis] * inner
        for o in 0..<outer {
            (y + o * shape[axis] * inner + axisStart * inner).update(from: x + o * block, count: block)
        }
        axisStart += tensor.shape[axis]
    }
    let sizes = tensors.map { $0.shape[axis] }
    return Tensor.record("concatenate", output, inputs: tensors) { gradient in
        var start = 0
        return zip(tensors, sizes).map { tensor, size in
            defer { start += size }
            return tensor.requiresGradient ? gradient.sliced(axis: axis, start..<(start + size)) : nil
        }
    }
}

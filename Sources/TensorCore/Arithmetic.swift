/// Broadcasting elementwise arithmetic (+, -, *, /) with derivatives.

/// The NumPy broadcast of two shapes.
public func broadcastShape(_ first: [Int], _ second: [Int]) -> [Int] {
    let rank = max(first.count, second.count)
    var result = [Int](repeating: 1, count: rank)
    for axis in 0..<rank {
        let a = axis < rank - first.count ? 1 : first[axis - (rank - first.count)]
        let b = axis < rank - second.count ? 1 : second[axis - (rank - second.count)]
        precondition(a == b || a == 1 || b == 1, "broadcast: shapes \(first) and \(second) do not broadcast")
        result[axis] = a == 1 ? b : a
    }
    return result
}

/// Applies `operation` elementwise over the broadcast of `a` and `b` into a new tensor.
@inline(__always)
func mapElementwise(_ a: Tensor, _ b: Tensor, _ operation: (Float, Float) -> Float) -> Tensor {
    let shape = broadcastShape(a.shape, b.shape)
    let output = Tensor.uninitialized(shape)   // every element is written below
    let destination = output.storage.floats
    if a.shape == b.shape, a.isContiguous, b.isContiguous, a.dtype == .float32, b.dtype == .float32 {
        let x = a.storage.floats + a.offset, y = b.storage.floats + b.offset
        for index in 0..<output.count { destination[index] = operation(x[index], y[index]) }
        return output
    }
    let left = a.dtype == .float32 ? a : a.contiguous()
    let right = b.dtype == .float32 ? b : b.contiguous()
    let x = left.expandedLayout(to: shape), y = right.expandedLayout(to: shape)
    let xs = left.storage.floats, ys = right.storage.floats
    let xStride = x.strides.last ?? 0, yStride = y.strides.last ?? 0
    var written = 0
    // Rows along the last axis; the common strides (a bias row, a broadcast scalar) get loops
    // the compiler can vectorise.
    forEachRow(shape: shape, strides: [x.strides, y.strides], offsets: [x.offset, y.offset]) { offsets, length in
        let xRow = xs + offsets[0], yRow = ys + offsets[1], out = destination + written
        switch (xStride, yStride) {
        case (1, 1): for element in 0..<length { out[element] = operation(xRow[element], yRow[element]) }
        case (1, 0): let value = yRow[0]; for element in 0..<length { out[element] = operation(xRow[element], value) }
        case (0, 1): let value = xRow[0]; for element in 0..<length { out[element] = operation(value, yRow[element]) }
        default:
            for element in 0..<length { out[element] = operation(xRow[element * xStride], yRow[element * yStride]) }
        }
        written += length
    }
    return output
}

extension Tensor {
    /// A broadcast view's layout (shape, strides, offset) without recording anything.
    func expandedLayout(to newShape: [Int]) -> (strides: [Int], offset: Int) {
        let lead = newShape.count - rank
        var newStrides = [Int](repeating: 0, count: newShape.count)
        for axis in 0..<rank where shape[axis] == newShape[lead + axis] { newStrides[lead + axis] = strides[axis] }
        return (newStrides, offset)
    }
}

public func + (lhs: Tensor, rhs: Tensor) -> Tensor {
    let output = mapElementwise(lhs, rhs, +)
    return Tensor.record("add", output, inputs: [lhs, rhs]) { gradient in
        [lhs.requiresGradient ? gradient.summed(toShape: lhs.shape) : nil,
         rhs.requiresGradient ? gradient.summed(toShape: rhs.shape) : nil]
    }
}

public func - (lhs: Tensor, rhs: Tensor) -> Tensor {
    let output = mapElementwise(lhs, rhs, -)
    return Tensor.record("subtract", output, inputs: [lhs, rhs]) { gradient in
        [lhs.requiresGradient ? gradient.summed(toShape: lhs.shape) : nil,
         rhs.requiresGradient ? (-gradient).summed(toShape: rhs.shape) : nil]
    }
}

public func * (lhs: Tensor, rhs: Tensor) -> Tensor {
    let output = mapElementwise(lhs, rhs, *)
    return Tensor.record("multiply", output, inputs: [lhs, rhs]) { gradient in
        [lhs.requiresGradient ? (gradient * rhs.detached()).summed(toShape: lhs.shape) : nil,
         rhs.requiresGradient ? (gradient * lhs.detached()).summed(toShape: rhs.shape) : nil]
    }
}

public func / (lhs: Tensor, rhs: Tensor) -> Tensor {
    let output = mapElementwise(lhs, rhs, /)
    let quotient = output.detached()
    return Tensor.record("divide", output, inputs: [lhs, rhs]) { gradient in
        let denominator = rhs.detached()
        return [lhs.requiresGradient ? (gradient / denominator).summed(toShape: lhs.shape) : nil,
                rhs.requiresGradient ? (-gradient * quotient / denominator).summed(toShape: rhs.shape) : nil]
    }
}

public prefix func - (operand: Tensor) -> Tensor { operand * -1 }

public func + (lhs: Tensor, rhs: Float) -> Tensor { lhs.mapped("add scalar", { $0 + rhs }, derivative: { _, _ in 1 }) }
public func + (lhs: Float, rhs: Tensor) -> Tensor { rhs + lhs }
public func - (lhs: Tensor, rhs: Float) -> Tensor { lhs + (-rhs) }
public func - (lhs: Float, rhs: Tensor) -> Tensor { rhs * -1 + lhs }
public func * (lhs: Tensor, rhs: Float) -> Tensor { lhs.mapped("scale", { $0 * rhs }, derivative: { _, _ in rhs }) }
public func * (lhs: Float, rhs: Tensor) -> Tensor { rhs * lhs }
public func / (lhs: Tensor, rhs: Float) -> Tensor { lhs * (1 / rhs) }

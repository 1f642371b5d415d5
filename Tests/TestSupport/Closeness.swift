import TensorCore

/// The largest absolute difference between two equally shaped tensors.
public func maxAbsoluteDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "maxAbsoluteDifference: shapes \(a.shape) and \(b.shape) differ")
    return zip(a.toArray(), b.toArray()).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
}

/// Whether `actual` is within `tolerance` of `expected` elementwise, relative to the
/// magnitude of `expected` with an absolute floor of `tolerance`.
public func isClose(_ actual: [Float], _ expected: [Float], relative tolerance: Float) -> Bool {
    guard actual.count == expected.count else { return false }
    return zip(actual, expected).allSatisfy { Swift.abs($0 - $1) <= tolerance * Swift.max(1, Swift.abs($1)) }
}

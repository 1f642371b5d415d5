import CKernels
import Foundation

/// Softmax and log-softmax along one axis: fused, max-subtracted forward passes over each
/// lane with hand-written derivatives.
extension Tensor {
    /// exp(x - max) / Σ exp(x - max) along `axis`.
    ///
    /// A lane that is entirely -inf (fully masked) gives zeros rather than NaN. Over an axis
    /// other than the last, the result is a transposed view of a last-axis softmax.
    ///
    /// ```swift
    /// let probabilities = logits.softmax()   // [B, T, V], each row sums to 1
    /// ```
    public func softmax(axis: Int = -1) -> Tensor {
        let axis = normalizedAxis(axis)
        if axis != rank - 1 { return transposed(axis, -1).softmax(axis: -1).transposed(axis, -1) }
        let source = contiguous()
        let output = Tensor.zeros(shape)
        let length = shape.last ?? 1
        let x = source.storage.floats + source.offset, y = output.storage.floats
        forEachRowChunk(rows: count / Swift.max(length, 1), rowLength: length) { rows in
            for row in rows { softmaxRow(x + row * length, y + row * length, length) }
        }
        let probabilities = output.detached()
        return Tensor.record("softmax", output, inputs: [self]) { gradient in
            // dx = y ⊙ (g - Σ g⊙y)
            let upstream = gradient.contiguous()
            let result = Tensor.zeros(upstream.shape)
            let g = upstream.storage.floats + upstream.offset
            let p = probabilities.storage.floats, r = result.storage.floats
            forEachRowChunk(rows: result.count / Swift.max(length, 1), rowLength: length) { rows in
                for row in rows {
                    let gRow = g + row * length, pRow = p + row * length, rRow = r + row * length
                    let dot = peft_vdot(gRow, pRow, length)
                    for j in 0..<length { rRow[j] = pRow[j] * (gRow[j] - dot) }
                }
            }
            return [result]
        }
    }

    /// x - max - log Σ exp(x - max) along `axis`.
    ///
    /// A lane that is entirely -inf gives -inf rather than NaN. Over an axis other than the
    /// last, the result is a transposed view of a last-axis log-softmax.
    ///
    /// ```swift
    /// let logProbabilities = logits.logSoftmax()   // [N, C]
    /// ```
    public func logSoftmax(axis: Int = -1) -> Tensor {
        let axis = normalizedAxis(axis)
        if axis != rank - 1 { return transposed(axis, -1).logSoftmax(axis: -1).transposed(axis, -1) }
        let source = contiguous()
        let output = Tensor.zeros(shape)
        let length = shape.last ?? 1
        let x = source.storage.floats + source.offset, y = output.storage.floats
        forEachRowChunk(rows: count / Swift.max(length, 1), rowLength: length) { rows in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: length)
            defer { scratch.deallocate() }
            for row in rows { logSoftmaxRow(x + row * length, y + row * length, length, scratch: scratch) }
        }
        let logProbabilities = output.detached()
        return Tensor.record("log_softmax", output, inputs: [self]) { gradient in
            // dx = g - softmax ⊙ Σ g
            let upstream = gradient.contiguous()
            let result = Tensor.zeros(upstream.shape)
            let g = upstream.storage.floats + upstream.offset
            let l = logProbabilities.storage.floats, r = result.storage.floats
            forEachRowChunk(rows: result.count / Swift.max(length, 1), rowLength: length) { rows in
                for row in rows {
                    let gRow = g + row * length, lRow = l + row * length, rRow = r + row * length
                    let total = peft_vsum(gRow, length)
                    peft_vexp(lRow, rRow, length)
                    for j in 0..<length { rRow[j] = gRow[j] - rRow[j] * total }
                }
            }
            return [result]
        }
    }
}

/// Softmax of one contiguous row of `length` elements from `x` into `y`; an all -inf row gives
/// zeros.
func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ length: Int) {
    let maximum = peft_vmax(x, length)
    if maximum == -.infinity {
        y.update(repeating: 0, count: length)
        return
    }
    let inverse = 1 / peft_vexp_shifted_sum(x, y, length, maximum)
    for j in 0..<length { y[j] *= inverse }
}

/// Log-softmax of one contiguous row; `scratch` holds `length` floats. Returns the row's
/// log-sum-exp (-inf for an all -inf row, whose outputs are -inf).
@discardableResult
func logSoftmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ length: Int,
                   scratch: UnsafeMutablePointer<Float>) -> Float {
    let maximum = peft_vmax(x, length)
    if maximum == -.infinity {
        y.update(repeating: -.infinity, count: length)
        return -.infinity
    }
    let logTotal = Foundation.log(peft_vexp_shifted_sum(x, scratch, length, maximum))
    for j in 0..<length { y[j] = (x[j] - maximum) - logTotal }
    return maximum + logTotal
}

/// Runs `body` over chunks of `0..<rows`, threaded when the rows hold enough work to pay for it.
func forEachRowChunk(rows: Int, rowLength: Int, _ body: (Range<Int>) -> Void) {
    guard rows > 0 else { return }
    if rows * rowLength < 1 << 15 || rows == 1 {
        body(0..<rows)
    } else {
        Parallel.forEachChunk(rows, body)
    }
}

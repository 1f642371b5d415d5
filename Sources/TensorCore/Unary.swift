import CKernels
import Foundation

/// Elementwise functions of one tensor with their derivatives.
extension Tensor {
    /// Applies `function` elementwise. `derivative(x, y)` gives dy/dx from the input x and
    /// output y; only the values it needs are kept for the backward pass.
    @inline(__always)
    func mapped(_ name: String, _ function: (Float) -> Float,
                derivative: @escaping (_ input: Float, _ output: Float) -> Float) -> Tensor {
        let source = contiguous()
        let output = Tensor.uninitialized(shape)
        let x = source.storage.floats + source.offset, y = output.storage.floats
        for index in 0..<count { y[index] = function(x[index]) }
        return recordMapped(name, output, input: source, derivative: derivative)
    }

    /// Records an elementwise op whose derivative is `derivative(x, y)`.
    func recordMapped(_ name: String, _ output: Tensor, input source: Tensor,
                      derivative: @escaping (_ input: Float, _ output: Float) -> Float) -> Tensor {
        let savedInput = source.detached(), savedOutput = output.detached()
        return Tensor.record(name, output, inputs: [self]) { gradient in
            let upstream = gradient.contiguous()
            let result = Tensor.zeros(upstream.shape)
            let g = upstream.storage.floats + upstream.offset, r = result.storage.floats
            let x = savedInput.storage.floats + savedInput.offset, y = savedOutput.storage.floats
            for index in 0..<result.count { r[index] = g[index] * derivative(x[index], y[index]) }
            return [result]
        }
    }

    /// Applies a vectorised kernel over the elements.
    func vectorMapped(_ name: String, _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                      derivative: @escaping (_ input: Float, _ output: Float) -> Float) -> Tensor {
        let source = contiguous()
        let output = Tensor.uninitialized(shape)
        kernel(source.storage.floats + source.offset, output.storage.floats, count)
        return recordMapped(name, output, input: source, derivative: derivative)
    }

    public func exp() -> Tensor { vectorMapped("exp", { peft_vexp($0, $1, $2) }) { _, y in y } }
    public func log() -> Tensor { mapped("log", { Foundation.log($0) }) { x, _ in 1 / x } }
    public func sqrt() -> Tensor { mapped("sqrt", { $0.squareRoot() }) { _, y in 0.5 / y } }
    public func rsqrt() -> Tensor { mapped("rsqrt", { 1 / $0.squareRoot() }) { _, y in -0.5 * y * y * y } }
    public func tanh() -> Tensor { vectorMapped("tanh", { peft_vtanh($0, $1, $2) }) { _, y in 1 - y * y } }
    public func erf() -> Tensor {
        vectorMapped("erf", { peft_verf($0, $1, $2) }) { x, _ in 2 / Float.pi.squareRoot() * Foundation.exp(-x * x) }
    }
    public func sigmoid() -> Tensor { mapped("sigmoid", { 1 / (1 + Foundation.exp(-$0)) }) { _, y in y * (1 - y) } }
    public func squared() -> Tensor { mapped("square", { $0 * $0 }) { x, _ in 2 * x } }
    public func abs() -> Tensor { mapped("abs", { Swift.abs($0) }) { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) } }
    public func pow(_ exponent: Float) -> Tensor {
        mapped("pow", { Foundation.pow($0, exponent) }) { x, _ in exponent * Foundation.pow(x, exponent - 1) }
    }
    public func relu() -> Tensor { mapped("relu", { Swift.max($0, 0) }) { x, _ in x > 0 ? 1 : 0 } }
    /// min(max(x, 0), 6). Its derivative reads the output alone (1 where 0 < y < 6), so only
    /// the output is kept, and both loops vectorise (MobileNet/EfficientNet-Lite's activation).
    public func relu6() -> Tensor {
        let source = contiguous()
        let output = Tensor.zeros(shape)
        let x = source.storage.floats + source.offset, y = output.storage.floats
        for index in 0..<count { y[index] = Swift.min(Swift.max(x[index], 0), 6) }
        let savedOutput = output.detached()
        return Tensor.record("relu6", output, inputs: [self]) { gradient in
            let upstream = gradient.contiguous()
            let result = Tensor.zeros(upstream.shape)
            let g = upstream.storage.floats + upstream.offset, r = result.storage.floats, y = savedOutput.storage.floats
            for index in 0..<result.count { r[index] = y[index] > 0 && y[index] < 6 ? g[index] : 0 }
            return [result]
        }
    }
    public func silu() -> Tensor {
        mapped("silu", { $0 / (1 + Foundation.exp(-$0)) }) { x, _ in
            let s = 1 / (1 + Foundation.exp(-x))
            return s * (1 + x * (1 - s))
        }
    }
    public func clamped(min low: Float, max high: Float) -> Tensor {
        mapped("clamp", { Swift.min(Swift.max($0, low), high) }) { x, _ in x >= low && x <= high ? 1 : 0 }
    }

    /// GELU, exact (x·Φ(x) with erf) or with the tanh approximation. Threaded, in chunks that
    /// stay in cache across the three passes (argument, erf or tanh, product).
    public func gelu(approximate: Bool = false) -> Tensor {
        let source = contiguous()
        let output = Tensor.uninitialized(shape)
        let x = UncheckedSendable(source.storage.floats + source.offset), y = UncheckedSendable(output.storage.floats)
        Parallel.forEachChunk(count, granularity: 4096) { range in
            for start in stride(from: range.lowerBound, to: range.upperBound, by: 4096) {
                let n = Swift.min(4096, range.upperBound - start)
                let xs = x.value + start, ys = y.value + start
                if approximate {
                    let c: Float = (2 / Float.pi).squareRoot()
                    for i in 0..<n { ys[i] = c * (xs[i] + 0.044715 * xs[i] * xs[i] * xs[i]) }
                    peft_vtanh(ys, ys, n)
                } else {
                    let invSqrt2: Float = 1 / Float(2).squareRoot()
                    for i in 0..<n { ys[i] = xs[i] * invSqrt2 }
                    peft_verf(ys, ys, n)
                }
                for i in 0..<n { ys[i] = 0.5 * xs[i] * (1 + ys[i]) }
            }
        }
        return recordGELU(approximate ? "gelu_tanh" : "gelu", output, input: source, approximate: approximate)
    }

    /// Records GELU with a derivative computed by the vector kernels in chunks, threaded:
    /// exact Φ(x) + x·φ(x), or the tanh form's 0.5(1+t) + 0.5x(1-t²)·c(1 + 3·0.044715x²).
    private func recordGELU(_ name: String, _ output: Tensor, input source: Tensor, approximate: Bool) -> Tensor {
        let savedInput = source.detached()
        return Tensor.record(name, output, inputs: [self]) { gradient in
            let upstream = gradient.contiguous()
            let result = Tensor.zeros(upstream.shape)
            let g = UncheckedSendable(upstream.storage.floats + upstream.offset)
            let x = UncheckedSendable(savedInput.storage.floats + savedInput.offset)
            let r = UncheckedSendable(result.storage.floats)
            Parallel.forEachChunk(result.count, granularity: 4096) { range in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 4096)
                defer { scratch.deallocate() }
                for start in stride(from: range.lowerBound, to: range.upperBound, by: 4096) {
                    let n = Swift.min(4096, range.upperBound - start)
                    geluDerivative(x.value + start, count: n, approximate: approximate, scratch: scratch, into: r.value + start)
                    for index in start..<(start + n) { r.value[index] *= g.value[index] }
                }
            }
            return [result]
        }
    }
}

/// dGELU/dx at `count` elements of `x`, written to `output`; `s` is scratch for `count` floats.
private func geluDerivative(_ x: UnsafePointer<Float>, count: Int, approximate: Bool, scratch s: UnsafeMutablePointer<Float>,
                            into output: UnsafeMutablePointer<Float>) {
    if approximate {
        let c: Float = (2 / Float.pi).squareRoot()
        for i in 0..<count { s[i] = c * (x[i] + 0.044715 * x[i] * x[i] * x[i]) }
        peft_vtanh(s, s, count)
        for i in 0..<count {
            let t = s[i]
            output[i] = 0.5 * (1 + t) + 0.5 * x[i] * (1 - t * t) * c * (1 + 3 * 0.044715 * x[i] * x[i])
        }
    } else {
        let invSqrt2: Float = 1 / Float(2).squareRoot(), invSqrt2Pi: Float = 1 / (2 * Float.pi).squareRoot()
        for i in 0..<count { s[i] = x[i] * invSqrt2 }
        peft_verf(s, s, count)
        for i in 0..<count { output[i] = -0.5 * x[i] * x[i] }
        peft_vexp(output, output, count)
        for i in 0..<count { output[i] = 0.5 * (1 + s[i]) + x[i] * output[i] * invSqrt2Pi }
    }
}

extension Tensor {
    /// Inverted dropout: zeroes each element with `probability` and scales the survivors by
    /// 1/(1 - probability), so the expectation is unchanged. The keep mask (one byte per
    /// element) is kept for the backward pass. `probability == 0` returns `self`; `1` gives zeros.
    /// Callers decide when to apply it (training only).
    ///
    /// ```swift
    /// var generator = RandomGenerator(seed: 42)
    /// let hidden = attentionOutput.dropout(probability: 0.1, generator: &generator)
    /// ```
    public func dropout(probability: Float, generator: inout RandomGenerator) -> Tensor {
        precondition(probability >= 0 && probability <= 1, "dropout: probability \(probability) is outside [0, 1]")
        if probability == 0 { return self }
        let scale: Float = probability == 1 ? 0 : 1 / (1 - probability)
        let source = contiguous()
        let output = Tensor.zeros(shape)
        let x = source.storage.floats + source.offset, y = output.storage.floats
        var keep = [Bool](repeating: false, count: count)
        for index in 0..<count where generator.nextUniform() >= probability {
            keep[index] = true
            y[index] = x[index] * scale
        }
        return Tensor.record("dropout", output, inputs: [self]) { gradient in
            let upstream = gradient.contiguous()
            let result = Tensor.zeros(upstream.shape)
            let g = upstream.storage.floats + upstream.offset, r = result.storage.floats
            for index in 0..<keep.count where keep[index] { r[index] = g[index] * scale }
            return [result]
        }
    }
}

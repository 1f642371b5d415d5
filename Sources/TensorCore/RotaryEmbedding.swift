import Foundation

/// Rotary position embedding (RoPE) in Hugging Face LLaMA's `rotate_half` convention: channel
/// i is paired with channel i + D/2 and the pair is rotated by position · θ^(-2i/D).
///
///     out[i]       = x[i] · cos - x[i + D/2] · sin
///     out[i + D/2] = x[i + D/2] · cos + x[i] · sin
///
/// The derivative is the inverse rotation of the output gradient. Works on any `[..., T, D]`
/// layout; the usual one is `[B, H, T, D]`.
///
/// ```swift
/// let rotatedQuery = applyRotaryEmbedding(query, positions: Array(0..<T))   // [B, H, T, D]
/// ```
public func applyRotaryEmbedding(_ x: Tensor /* [B, H, T, D] */, positions: [Int] /* T */,
                                 base theta: Float = 10000) -> Tensor {
    precondition(x.rank >= 2, "applyRotaryEmbedding: input must be [..., T, D], got \(x.shape)")
    let tokens = x.shape[x.rank - 2], dimensions = x.shape[x.rank - 1]
    precondition(positions.count == tokens,
                 "applyRotaryEmbedding: \(positions.count) positions for input of shape \(x.shape)")
    precondition(dimensions % 2 == 0, "applyRotaryEmbedding: head dimension of shape \(x.shape) is odd")
    let table = rotationTable(positions: positions, dimensions: dimensions, theta: theta)
    let output = rotate(x.contiguous(), table: table, tokens: tokens, inverse: false)
    return Tensor.record("rotary_embedding", output, inputs: [x]) { gradient in
        [rotate(gradient.contiguous(), table: table, tokens: tokens, inverse: true)]
    }
}

/// cos and sin of each (position, frequency) pair: `[T, D/2]` each, computed in float32
/// like Hugging Face (`inv_freq = 1 / θ^(2i/D)`, angle = position · inv_freq).
private func rotationTable(positions: [Int], dimensions: Int, theta: Float) -> (cos: [Float], sin: [Float]) {
    let half = dimensions / 2
    let inverseFrequencies = (0..<half).map { 1 / Foundation.pow(theta, Float(2 * $0) / Float(dimensions)) }
    var cosines = [Float](repeating: 0, count: positions.count * half), sines = cosines
    for (token, position) in positions.enumerated() {
        for i in 0..<half {
            let angle = Float(position) * inverseFrequencies[i]
            cosines[token * half + i] = Foundation.cos(angle)
            sines[token * half + i] = Foundation.sin(angle)
        }
    }
    return (cosines, sines)
}

/// Rotates each row pair of a contiguous `[..., T, D]` tensor forward or back (the transpose).
private func rotate(_ source: Tensor, table: (cos: [Float], sin: [Float]), tokens: Int, inverse: Bool) -> Tensor {
    let dimensions = source.shape.last!, half = dimensions / 2
    let output = Tensor.zeros(source.shape)
    let x = source.storage.floats + source.offset, y = output.storage.floats
    let direction: Float = inverse ? -1 : 1
    for row in 0..<(source.count / Swift.max(dimensions, 1)) {
        let token = row % tokens
        let xRow = x + row * dimensions, yRow = y + row * dimensions
        for i in 0..<half {
            let cosine = table.cos[token * half + i], sine = direction * table.sin[token * half + i]
            let first = xRow[i], second = xRow[i + half]
            yRow[i] = first * cosine - second * sine
            yRow[i + half] = second * cosine + first * sine
        }
    }
    return output
}

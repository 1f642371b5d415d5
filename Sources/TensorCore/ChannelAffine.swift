/// A per-channel scale and shift with its derivative: batch normalisation with fixed
/// statistics folded into one pass.
///
/// Shapes: `N` batch, `C` channels (axis 1), `P` the product of the remaining axes (H·W for
/// images), one "plane" per (n, c).

/// `y[n, c, …] = x[n, c, …] · scale[c] + shift[c]` in one pass over the planes, split across
/// threads. It equals `x * scale.reshaped([1, C, 1, 1]) + shift.reshaped([1, C, 1, 1])`
/// without the intermediate tensor and the strided broadcast loops.
///
/// ```swift
/// let scale = weight * (runningVariance + 1e-3).rsqrt()       // [C]
/// let y = channelAffine(x, scale: scale, shift: bias - runningMean * scale)   // x: [N, C, H, W]
/// ```
public func channelAffine(_ x: Tensor /* [N, C, ...] */, scale: Tensor /* [C] */, shift: Tensor /* [C] */) -> Tensor {
    precondition(x.rank >= 2 && scale.shape == [x.shape[1]] && shift.shape == [x.shape[1]],
                 "channelAffine: x \(x.shape) needs [N, C, ...] with scale \(scale.shape) and shift \(shift.shape) of [C]")
    let (batch, channels) = (x.shape[0], x.shape[1])
    let plane = x.count / Swift.max(batch * channels, 1)
    let source = x.contiguous(), s = scale.contiguous(), t = shift.contiguous()
    let output = Tensor.zeros(x.shape)
    let input = UncheckedSendable(source.storage.floats + source.offset), destination = UncheckedSendable(output.storage.floats)
    let scales = UncheckedSendable(s.storage.floats + s.offset), shifts = UncheckedSendable(t.storage.floats + t.offset)
    Parallel.forEachChunk(batch * channels, granularity: Swift.max(1, 4096 / Swift.max(plane, 1))) { planes in
        for index in planes {
            let channel = index % channels, a = scales.value[channel], b = shifts.value[channel]
            let from = input.value + index * plane, to = destination.value + index * plane
            for element in 0..<plane { to[element] = from[element] * a + b }
        }
    }
    // The input is kept only for the scale's gradient, the scale only for the input's.
    let savedInput = scale.requiresGradient ? source.detached() : nil
    let savedScale = x.requiresGradient ? s.detached() : nil
    return Tensor.record("channel_affine", output, inputs: [x, scale, shift]) { gradient in
        let upstream = gradient.contiguous()
        let g = UncheckedSendable(upstream.storage.floats + upstream.offset)
        var inputGradient: Tensor?
        if let savedScale {
            let result = Tensor.zeros(upstream.shape)
            let r = UncheckedSendable(result.storage.floats), a = UncheckedSendable(savedScale.storage.floats + savedScale.offset)
            Parallel.forEachChunk(batch * channels, granularity: Swift.max(1, 4096 / Swift.max(plane, 1))) { planes in
                for index in planes {
                    let factor = a.value[index % channels], from = g.value + index * plane, to = r.value + index * plane
                    for element in 0..<plane { to[element] = from[element] * factor }
                }
            }
            inputGradient = result
        }
        let scaleGradient = savedInput.map { saved in
            channelSums(g.value, times: saved.storage.floats + saved.offset, batch: batch, channels: channels, plane: plane)
        }
        let shiftGradient = shift.requiresGradient
            ? channelSums(g.value, times: nil, batch: batch, channels: channels, plane: plane) : nil
        return [inputGradient, scaleGradient, shiftGradient]
    }
}

/// `Σ_n Σ_p g[n, c, p] · x[n, c, p]` (or of g alone) per channel: [C].
private func channelSums(_ g: UnsafeMutablePointer<Float>, times x: UnsafeMutablePointer<Float>?,
                         batch: Int, channels: Int, plane: Int) -> Tensor {
    let sums = Tensor.zeros([channels])
    let upstream = UncheckedSendable(g), input = UncheckedSendable(x), destination = UncheckedSendable(sums.storage.floats)
    Parallel.forEachChunk(channels) { chunk in
        for channel in chunk {
            var total: Float = 0
            for image in 0..<batch {
                let offset = (image * channels + channel) * plane
                if let x = input.value {
                    for element in 0..<plane { total += upstream.value[offset + element] * x[offset + element] }
                } else {
                    for element in 0..<plane { total += upstream.value[offset + element] }
                }
            }
            destination.value[channel] = total
        }
    }
    return sums
}

import CKernels
import Foundation

/// Layer norm and RMS norm over the last axis: fused forward passes that keep per-row
/// statistics, and hand-written backward passes for the input, weight and bias.

/// (x - mean) / sqrt(var + ε) · weight + bias over the last axis (population variance), as
/// `torch.nn.functional.layer_norm`.
///
/// ```swift
/// let y = layerNorm(hidden, weight: gamma, bias: beta)   // hidden: [B, T, C], gamma, beta: [C]
/// ```
public func layerNorm(_ x: Tensor /* [..., C] */, weight: Tensor? /* [C] */, bias: Tensor? /* [C] */,
                      epsilon: Float = 1e-5) -> Tensor {
    let channels = x.shape.last ?? 1
    checkChannelParameter(weight, named: "weight", for: x, op: "layerNorm")
    checkChannelParameter(bias, named: "bias", for: x, op: "layerNorm")
    let source = x.contiguous(), gamma = weight?.contiguous(), beta = bias?.contiguous()
    let rows = x.count / Swift.max(channels, 1)
    let output = Tensor.zeros(x.shape)
    let statistics = Tensor.zeros([rows, 2])   // mean, reciprocal standard deviation
    let input = source.storage.floats + source.offset, y = output.storage.floats, stats = statistics.storage.floats
    let w = gamma.map { $0.storage.floats + $0.offset }, b = beta.map { $0.storage.floats + $0.offset }
    forEachRowChunk(rows: rows, rowLength: channels) { chunk in
        for row in chunk {
            let xRow = input + row * channels, yRow = y + row * channels
            let mean = peft_vsum(xRow, channels) / Float(channels)
            for c in 0..<channels { yRow[c] = xRow[c] - mean }   // centred, then scaled in place
            let squares = peft_vdot(yRow, yRow, channels)
            let reciprocal = 1 / (squares / Float(channels) + epsilon).squareRoot()
            stats[2 * row] = mean
            stats[2 * row + 1] = reciprocal
            for c in 0..<channels {
                var value = yRow[c] * reciprocal
                if let w { value *= w[c] }
                if let b { value += b[c] }
                yRow[c] = value
            }
        }
    }
    let inputs = [x] + [weight, bias].compactMap { $0 }
    let savedInput = source.detached(), savedWeight = gamma?.detached()
    return Tensor.record("layer_norm", output, inputs: inputs) { gradient in
        let upstream = gradient.contiguous()
        let g = upstream.storage.floats + upstream.offset
        let x = savedInput.storage.floats + savedInput.offset
        let w = savedWeight.map { $0.storage.floats + $0.offset }
        let stats = statistics.storage.floats
        let needsParameters = (weight?.requiresGradient ?? false) || (bias?.requiresGradient ?? false)
        let (inputGradient, weightGradient, biasGradient) = normalizationBackward(
            rows: rows, channels: channels, inputShape: savedInput.shape, needsParameters: needsParameters
        ) { row, dx, dw, db, normalized in
            // x̂ = (x - μ)·r;  dx̂ = g·w;  dx = r·(dx̂ - mean(dx̂) - x̂·mean(dx̂·x̂))
            let gRow = g + row * channels, xRow = x + row * channels
            let mean = stats[2 * row], reciprocal = stats[2 * row + 1]
            for c in 0..<channels { normalized[c] = (xRow[c] - mean) * reciprocal }
            if let w { for c in 0..<channels { dx[c] = gRow[c] * w[c] } } else { dx.update(from: gRow, count: channels) }
            let meanGradient = peft_vsum(dx, channels) / Float(channels)
            let meanProjection = peft_vdot(dx, normalized, channels) / Float(channels)
            if let dw { for c in 0..<channels { dw[c] += gRow[c] * normalized[c] } }
            if let db { for c in 0..<channels { db[c] += gRow[c] } }
            for c in 0..<channels { dx[c] = reciprocal * (dx[c] - meanGradient - normalized[c] * meanProjection) }
        }
        var result: [Tensor?] = [inputGradient]
        if let weight { result.append(weight.requiresGradient ? weightGradient : nil) }
        if let bias { result.append(bias.requiresGradient ? biasGradient : nil) }
        return result
    }
}

/// x / sqrt(mean(x²) + ε) · weight over the last axis, as LLaMA's `LlamaRMSNorm`.
///
/// ```swift
/// let y = rmsNorm(hidden, weight: gamma)   // hidden: [B, T, C], gamma: [C]
/// ```
public func rmsNorm(_ x: Tensor /* [..., C] */, weight: Tensor? /* [C] */, epsilon: Float = 1e-6) -> Tensor {
    let channels = x.shape.last ?? 1
    checkChannelParameter(weight, named: "weight", for: x, op: "rmsNorm")
    let source = x.contiguous(), gamma = weight?.contiguous()
    let rows = x.count / Swift.max(channels, 1)
    let output = Tensor.zeros(x.shape)
    let reciprocals = Tensor.zeros([rows])
    let input = source.storage.floats + source.offset, y = output.storage.floats, r = reciprocals.storage.floats
    let w = gamma.map { $0.storage.floats + $0.offset }
    forEachRowChunk(rows: rows, rowLength: channels) { chunk in
        for row in chunk {
            let xRow = input + row * channels, yRow = y + row * channels
            let reciprocal = 1 / (peft_vdot(xRow, xRow, channels) / Float(channels) + epsilon).squareRoot()
            r[row] = reciprocal
            for c in 0..<channels { yRow[c] = xRow[c] * reciprocal * (w?[c] ?? 1) }
        }
    }
    let inputs = [x] + [weight].compactMap { $0 }
    let savedInput = source.detached(), savedWeight = gamma?.detached()
    return Tensor.record("rms_norm", output, inputs: inputs) { gradient in
        let upstream = gradient.contiguous()
        let g = upstream.storage.floats + upstream.offset
        let x = savedInput.storage.floats + savedInput.offset
        let w = savedWeight.map { $0.storage.floats + $0.offset }
        let r = reciprocals.storage.floats
        let (inputGradient, weightGradient, _) = normalizationBackward(
            rows: rows, channels: channels, inputShape: savedInput.shape,
            needsParameters: weight?.requiresGradient ?? false
        ) { row, dx, dw, _, _ in
            // x̂ = x·r;  dx̂ = g·w;  dx = r·(dx̂ - x̂·mean(dx̂·x̂))
            let gRow = g + row * channels, xRow = x + row * channels, reciprocal = r[row]
            if let w { for c in 0..<channels { dx[c] = gRow[c] * w[c] } } else { dx.update(from: gRow, count: channels) }
            let meanProjection = reciprocal * peft_vdot(dx, xRow, channels) / Float(channels)
            if let dw { for c in 0..<channels { dw[c] += gRow[c] * xRow[c] * reciprocal } }
            for c in 0..<channels { dx[c] = reciprocal * (dx[c] - xRow[c] * reciprocal * meanProjection) }
        }
        return [inputGradient] + (weight.map { [$0.requiresGradient ? weightGradient : nil] } ?? [])
    }
}

private func checkChannelParameter(_ parameter: Tensor?, named name: String, for x: Tensor, op: String) {
    guard let parameter else { return }
    precondition(parameter.shape == [x.shape.last ?? 1],
                 "\(op): \(name) of shape \(parameter.shape) does not match the last axis of input \(x.shape)")
}

/// Shared backward loop of the normalisations: calls `body(row, dx, dw, db, scratch)` for each
/// row, threaded in chunks; `dx` points at the row of the input gradient, `dw` and `db` at the
/// chunk's private parameter-gradient accumulators (nil unless `needsParameters`), which are
/// summed afterwards, and `scratch` at `channels` floats of the chunk's own.
private func normalizationBackward(
    rows: Int, channels: Int, inputShape: [Int], needsParameters: Bool,
    _ body: (_ row: Int, _ dx: UnsafeMutablePointer<Float>, _ dw: UnsafeMutablePointer<Float>?,
             _ db: UnsafeMutablePointer<Float>?, _ scratch: UnsafeMutablePointer<Float>) -> Void
) -> (Tensor, Tensor, Tensor) {
    let inputGradient = Tensor.zeros(inputShape)
    let weightGradient = Tensor.zeros([channels]), biasGradient = Tensor.zeros([channels])
    let dx = inputGradient.storage.floats
    let chunkCount = rows * channels < 1 << 15 ? 1 : Swift.max(1, Swift.min(Parallel.threadCount, rows))
    let partials = Tensor.zeros(needsParameters ? [chunkCount, 2, channels] : [0])
    let partial = partials.storage.floats
    let perChunk = (rows + chunkCount - 1) / chunkCount
    Parallel.forEach(chunkCount) { chunk in
        let dw = needsParameters ? partial + chunk * 2 * channels : nil
        let db = dw.map { $0 + channels }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(channels, 1))
        defer { scratch.deallocate() }
        for row in (chunk * perChunk)..<Swift.min(rows, (chunk + 1) * perChunk) {
            body(row, dx + row * channels, dw, db, scratch)
        }
    }
    if needsParameters {
        let w = weightGradient.storage.floats, b = biasGradient.storage.floats
        for chunk in 0..<chunkCount {
            for c in 0..<channels {
                w[c] += partial[chunk * 2 * channels + c]
                b[c] += partial[chunk * 2 * channels + channels + c]
            }
        }
    }
    return (inputGradient, weightGradient, biasGradient)
}

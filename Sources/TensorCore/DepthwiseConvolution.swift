/// The direct kernel for depthwise convolution (`groups == C_in == C_out`): every channel
/// has its own `kH × kW` filter. Work is split over the `N · C` planes (over the channels for
/// the weight gradient), each written by one thread only.
///
/// Each kernel tap `(kh, kw)` touches a run of output columns whose inputs lie inside the
/// image (`WindowAxis.validOutputs`), so the inner loops carry no bounds checks.

/// Per kernel column: the output columns it reaches and the input column of the first one.
private func columnRuns(_ columns: WindowAxis) -> [(outputs: Range<Int>, firstInput: Int)] {
    (0..<columns.kernelSize).map { tap in
        let outputs = columns.validOutputs(tap: tap)
        return (outputs, columns.inputIndex(output: outputs.lowerBound, tap: tap))
    }
}

/// `destination[i · destinationStep] += scale · source[i · sourceStep]` for `i < count`,
/// with a unit-stride loop the compiler vectorises.
@inline(__always)
private func multiplyAdd(_ count: Int, _ scale: Float, _ source: UnsafePointer<Float>, step sourceStep: Int,
                         into destination: UnsafeMutablePointer<Float>, step destinationStep: Int) {
    if sourceStep == 1 && destinationStep == 1 {
        for index in 0..<count { destination[index] += scale * source[index] }
    } else {
        for index in 0..<count { destination[index * destinationStep] += scale * source[index * sourceStep] }
    }
}

/// `y[n, c] = b[c] + Σ_taps w[c, tap] · x[n, c] (shifted by the tap)`.
func depthwiseConvolution(_ x: Tensor /* [N, C, H, W] */, weight: Tensor /* [C, 1, kH, kW] */,
                          bias: Tensor? /* [C] */, _ geometry: ConvolutionGeometry,
                          into output: Tensor /* [N, C, H_out, W_out] */) {
    let rows = geometry.rows, columns = geometry.columns, runs = columnRuns(columns)
    let channels = geometry.inputChannels, taps = geometry.kernelArea
    let inputWidth = columns.inputSize, outputWidth = columns.outputSize, step = columns.stride
    let source = UncheckedSendable(x.storage.floats + x.offset)
    let weights = UncheckedSendable(weight.storage.floats + weight.offset)
    let biases = UncheckedSendable(bias.map { $0.storage.floats + $0.offset })
    let destination = UncheckedSendable(output.storage.floats)
    Parallel.forEachChunk(geometry.batch * channels) { planes in
        for plane in planes {
            let channel = plane % channels
            let image = source.value + plane * geometry.inputPlane
            let filter = weights.value + channel * taps
            let biasValue = biases.value?[channel] ?? 0
            for oh in 0..<rows.outputSize {
                let outputRow = destination.value + plane * geometry.outputPlane + oh * outputWidth
                outputRow.update(repeating: biasValue, count: outputWidth)
                for kh in 0..<rows.kernelSize {
                    let ih = rows.inputIndex(output: oh, tap: kh)
                    guard ih >= 0 && ih < rows.inputSize else { continue }
                    for (kw, run) in runs.enumerated() {
                        let scale = filter[kh * columns.kernelSize + kw]
                        multiplyAdd(run.outputs.count, scale, image + ih * inputWidth + run.firstInput, step: step,
                                    into: outputRow + run.outputs.lowerBound, step: 1)
                    }
                }
            }
        }
    }
}

/// Gradients of `depthwiseConvolution` for the input (needs the weight) and the weight
/// (needs the input).
func depthwiseConvolutionGradients(
    _ upstream: Tensor /* [N, C, H_out, W_out] */, input x: Tensor? /* [N, C, H, W] */,
    weight: Tensor? /* [C, 1, kH, kW] */, _ geometry: ConvolutionGeometry
) -> (input: Tensor?, weight: Tensor?) {
    let inputGradient = weight.map { weight in
        let result = Tensor.zeros(geometry.inputShape)
        depthwiseInputGradient(upstream, weight: weight, geometry, into: result)
        return result
    }
    let weightGradient = x.map { x in
        let result = Tensor.zeros(geometry.weightShape)
        depthwiseWeightGradient(upstream, input: x, geometry, into: result)
        return result
    }
    return (inputGradient, weightGradient)
}

/// `dx[n, c]` gathers `w[c, tap] · dy[n, c]` back at the positions each tap read.
private func depthwiseInputGradient(_ upstream: Tensor, weight: Tensor, _ geometry: ConvolutionGeometry,
                                    into result: Tensor) {
    let rows = geometry.rows, columns = geometry.columns, runs = columnRuns(columns)
    let channels = geometry.inputChannels, taps = geometry.kernelArea
    let inputWidth = columns.inputSize, outputWidth = columns.outputSize, step = columns.stride
    let gradients = UncheckedSendable(upstream.storage.floats + upstream.offset)
    let weights = UncheckedSendable(weight.storage.floats + weight.offset)
    let destination = UncheckedSendable(result.storage.floats)
    Parallel.forEachChunk(geometry.batch * channels) { planes in
        for plane in planes {
            let image = destination.value + plane * geometry.inputPlane
            let filter = weights.value + plane % channels * taps
            for oh in 0..<rows.outputSize {
                let gradientRow = gradients.value + plane * geometry.outputPlane + oh * outputWidth
                for kh in 0..<rows.kernelSize {
                    let ih = rows.inputIndex(output: oh, tap: kh)
                    guard ih >= 0 && ih < rows.inputSize else { continue }
                    for (kw, run) in runs.enumerated() {
                        let scale = filter[kh * columns.kernelSize + kw]
                        multiplyAdd(run.outputs.count, scale, gradientRow + run.outputs.lowerBound, step: 1,
                                    into: image + ih * inputWidth + run.firstInput, step: step)
                    }
                }
            }
        }
    }
}

/// `dw[c, tap] = Σ_n Σ_positions dy[n, c] · x[n, c]` (shifted by the tap), one channel per
/// task. Products accumulate elementwise in one row per tap (a vectorisable loop) and are
/// summed once per channel.
private func depthwiseWeightGradient(_ upstream: Tensor, input x: Tensor, _ geometry: ConvolutionGeometry,
                                     into result: Tensor) {
    let rows = geometry.rows, columns = geometry.columns, runs = columnRuns(columns)
    let channels = geometry.inputChannels, taps = geometry.kernelArea
    let inputWidth = columns.inputSize, outputWidth = columns.outputSize, step = columns.stride
    let gradients = UncheckedSendable(upstream.storage.floats + upstream.offset)
    let source = UncheckedSendable(x.storage.floats + x.offset)
    let destination = UncheckedSendable(result.storage.floats)
    Parallel.forEachChunk(channels) { channelRange in
        let products = UnsafeMutablePointer<Float>.allocate(capacity: taps * outputWidth)
        defer { products.deallocate() }
        for channel in channelRange {
            products.update(repeating: 0, count: taps * outputWidth)
            for image in 0..<geometry.batch {
                let plane = image * channels + channel
                let inputPlane = source.value + plane * geometry.inputPlane
                for oh in 0..<rows.outputSize {
                    let gradientRow = gradients.value + plane * geometry.outputPlane + oh * outputWidth
                    for kh in 0..<rows.kernelSize {
                        let ih = rows.inputIndex(output: oh, tap: kh)
                        guard ih >= 0 && ih < rows.inputSize else { continue }
                        for (kw, run) in runs.enumerated() {
                            let inputRow = inputPlane + ih * inputWidth + run.firstInput
                            let gradient = gradientRow + run.outputs.lowerBound
                            let row = products + (kh * columns.kernelSize + kw) * outputWidth
                            if step == 1 {
                                for index in 0..<run.outputs.count { row[index] += gradient[index] * inputRow[index] }
                            } else {
                                for index in 0..<run.outputs.count { row[index] += gradient[index] * inputRow[index * step] }
                            }
                        }
                    }
                }
            }
            let filterGradient = destination.value + channel * taps
            for tap in 0..<taps {
                filterGradient[tap] = UnsafeBufferPointer(start: products + tap * outputWidth, count: outputWidth).reduce(0, +)
            }
        }
    }
}

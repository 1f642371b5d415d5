/// 2-D pooling with PyTorch semantics and derivatives: average, max and adaptive average.
/// Work is split over the `N · C` planes; each plane is written by one thread only.

/// The input range one output position averages along an axis, and its share of the divisor.
private struct AverageWindow {
    let inputs: Range<Int>
    let divisor: Int
}

/// Averages `input` over rectangular windows: output `(oh, ow)` is the sum over
/// `rowWindows[oh] × columnWindows[ow]` divided by the product of their divisors.
private func averagePooled(_ name: String, _ input: Tensor /* [N, C, H, W] */,
                           rowWindows: [AverageWindow], columnWindows: [AverageWindow]) -> Tensor {
    let x = input.contiguous()
    let height = input.shape[2], width = input.shape[3]
    let outputHeight = rowWindows.count, outputWidth = columnWindows.count
    let planes = input.shape[0] * input.shape[1]
    let output = Tensor.zeros([input.shape[0], input.shape[1], outputHeight, outputWidth])
    let source = UncheckedSendable(x.storage.floats + x.offset), destination = UncheckedSendable(output.storage.floats)
    Parallel.forEachChunk(planes) { planeRange in
        for plane in planeRange {
            let image = source.value + plane * height * width
            let result = destination.value + plane * outputHeight * outputWidth
            for (oh, rowWindow) in rowWindows.enumerated() {
                for (ow, columnWindow) in columnWindows.enumerated() {
                    var total: Float = 0
                    for ih in rowWindow.inputs {
                        for iw in columnWindow.inputs { total += image[ih * width + iw] }
                    }
                    result[oh * outputWidth + ow] = total / Float(rowWindow.divisor * columnWindow.divisor)
                }
            }
        }
    }
    let inputShape = input.shape
    return Tensor.record(name, output, inputs: [input]) { gradient in
        let upstream = gradient.contiguous()
        let inputGradient = Tensor.zeros(inputShape)
        let gradients = UncheckedSendable(upstream.storage.floats + upstream.offset)
        let target = UncheckedSendable(inputGradient.storage.floats)
        Parallel.forEachChunk(planes) { planeRange in
            for plane in planeRange {
                let image = target.value + plane * height * width
                let outputGradient = gradients.value + plane * outputHeight * outputWidth
                for (oh, rowWindow) in rowWindows.enumerated() {
                    for (ow, columnWindow) in columnWindows.enumerated() {
                        let share = outputGradient[oh * outputWidth + ow] / Float(rowWindow.divisor * columnWindow.divisor)
                        for ih in rowWindow.inputs {
                            for iw in columnWindow.inputs { image[ih * width + iw] += share }
                        }
                    }
                }
            }
        }
        return [inputGradient]
    }
}

/// PyTorch's average-pooling windows along one axis: the window may overhang the input by
/// `padding`; the divisor counts the overhang only with `countIncludePad`.
private func averageWindows(_ axis: WindowAxis, countIncludePad: Bool) -> [AverageWindow] {
    (0..<axis.outputSize).map { output in
        let start = axis.inputIndex(output: output, tap: 0)
        let end = Swift.min(start + axis.kernelSize, axis.inputSize + axis.padding)
        let inputs = Swift.max(start, 0)..<Swift.min(end, axis.inputSize)
        return AverageWindow(inputs: inputs, divisor: countIncludePad ? end - start : inputs.count)
    }
}

/// Average pooling over `kernelSize` windows (`(height, width)` pairs), moved by `stride`
/// (the kernel size when nil), over an input zero-padded by `padding`. With
/// `countIncludePad` the padding counts in the divisor, as in PyTorch's default.
///
/// ```swift
/// let y = avgPool2d(x, kernelSize: (2, 2))   // [1, 8, 32, 32] -> [1, 8, 16, 16]
/// ```
public func avgPool2d(_ input: Tensor /* [N, C, H, W] */, kernelSize: (Int, Int), stride: (Int, Int)? = nil,
                      padding: (Int, Int) = (0, 0), countIncludePad: Bool = true) -> Tensor /* [N, C, H_out, W_out] */ {
    let (rows, columns) = poolingAxes("avgPool2d", input, kernelSize: kernelSize, stride: stride,
                                      padding: padding, dilation: (1, 1))
    return averagePooled("avgPool2d", input,
                         rowWindows: averageWindows(rows, countIncludePad: countIncludePad),
                         columnWindows: averageWindows(columns, countIncludePad: countIncludePad))
}

/// Average pooling to a fixed `outputSize` `(height, width)`: output `i` averages the
/// inputs `floor(i · H / H_out) ..< ceil((i + 1) · H / H_out)`, as PyTorch's
/// `adaptive_avg_pool2d`. `outputSize: (1, 1)` is global average pooling.
///
/// ```swift
/// let pooled = adaptiveAvgPool2d(features, outputSize: (1, 1))   // [N, 1280, 7, 7] -> [N, 1280, 1, 1]
/// ```
public func adaptiveAvgPool2d(_ input: Tensor /* [N, C, H, W] */, outputSize: (Int, Int)) -> Tensor /* [N, C, oH, oW] */ {
    precondition(input.rank == 4, "adaptiveAvgPool2d: input \(input.shape) must be [N, C, H, W]")
    precondition(outputSize.0 > 0 && outputSize.1 > 0,
                 "adaptiveAvgPool2d: output size \(outputSize) must be positive for input \(input.shape)")
    func windows(inputSize: Int, outputSize: Int) -> [AverageWindow] {
        (0..<outputSize).map { output in
            let start = output * inputSize / outputSize
            let end = ((output + 1) * inputSize + outputSize - 1) / outputSize
            return AverageWindow(inputs: start..<end, divisor: end - start)
        }
    }
    return averagePooled("adaptiveAvgPool2d", input,
                         rowWindows: windows(inputSize: input.shape[2], outputSize: outputSize.0),
                         columnWindows: windows(inputSize: input.shape[3], outputSize: outputSize.1))
}

/// Max pooling over `kernelSize` windows with taps `dilation` apart, moved by `stride` (the
/// kernel size when nil), over an input padded with -∞ by `padding`. The gradient flows to
/// the first maximal element of each window (NaN counts as maximal, as in PyTorch).
///
/// ```swift
/// let y = maxPool2d(x, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1))   // [1, 64, 112, 112] -> [1, 64, 56, 56]
/// ```
public func maxPool2d(_ input: Tensor /* [N, C, H, W] */, kernelSize: (Int, Int), stride: (Int, Int)? = nil,
                      padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1)) -> Tensor /* [N, C, H_out, W_out] */ {
    let (rows, columns) = poolingAxes("maxPool2d", input, kernelSize: kernelSize, stride: stride,
                                      padding: padding, dilation: dilation)
    let x = input.contiguous()
    let width = columns.inputSize, inputPlane = rows.inputSize * width
    let outputPlane = rows.outputSize * columns.outputSize, planes = input.shape[0] * input.shape[1]
    let output = Tensor.zeros([input.shape[0], input.shape[1], rows.outputSize, columns.outputSize])
    // The winner of each window as an index into its plane.
    var winners = [Int32](repeating: 0, count: planes * outputPlane)
    winners.withUnsafeMutableBufferPointer { buffer in
        let source = UncheckedSendable(x.storage.floats + x.offset), destination = UncheckedSendable(output.storage.floats)
        let indices = UncheckedSendable(buffer.baseAddress!)
        Parallel.forEachChunk(planes) { planeRange in
            for plane in planeRange {
                let image = source.value + plane * inputPlane
                for oh in 0..<rows.outputSize {
                    for ow in 0..<columns.outputSize {
                        var best = -Float.infinity, winner = -1
                        for kh in 0..<rows.kernelSize {
                            let ih = rows.inputIndex(output: oh, tap: kh)
                            guard ih >= 0 && ih < rows.inputSize else { continue }
                            for kw in 0..<columns.kernelSize {
                                let iw = columns.inputIndex(output: ow, tap: kw)
                                guard iw >= 0 && iw < width else { continue }
                                let value = image[ih * width + iw]
                                if winner < 0 || value > best || (value.isNaN && !best.isNaN) {
                                    best = value
                                    winner = ih * width + iw
                                }
                            }
                        }
                        let position = plane * outputPlane + oh * columns.outputSize + ow
                        destination.value[position] = best
                        indices.value[position] = Int32(winner)
                    }
                }
            }
        }
    }
    let inputShape = input.shape
    return Tensor.record("maxPool2d", output, inputs: [input]) { gradient in
        let upstream = gradient.contiguous()
        let inputGradient = Tensor.zeros(inputShape)
        let gradients = UncheckedSendable(upstream.storage.floats + upstream.offset)
        let target = UncheckedSendable(inputGradient.storage.floats)
        winners.withUnsafeBufferPointer { buffer in
            let indices = UncheckedSendable(buffer.baseAddress!)
            Parallel.forEachChunk(planes) { planeRange in
                for plane in planeRange {
                    let image = target.value + plane * inputPlane
                    // A window of padding only (possible with dilation) has no winner.
                    for position in plane * outputPlane..<(plane + 1) * outputPlane where indices.value[position] >= 0 {
                        image[Int(indices.value[position])] += gradients.value[position]
                    }
                }
            }
        }
        return [inputGradient]
    }
}

/// Checks a pooling call and describes its two axes. PyTorch allows padding of at most half
/// the (dilated) kernel, so every window holds at least one input.
private func poolingAxes(_ name: String, _ input: Tensor, kernelSize: (Int, Int), stride: (Int, Int)?,
                         padding: (Int, Int), dilation: (Int, Int)) -> (rows: WindowAxis, columns: WindowAxis) {
    precondition(input.rank == 4, "\(name): input \(input.shape) must be [N, C, H, W]")
    let stride = stride ?? kernelSize
    precondition(kernelSize.0 > 0 && kernelSize.1 > 0 && stride.0 > 0 && stride.1 > 0 && dilation.0 > 0 && dilation.1 > 0,
                 "\(name): kernel size \(kernelSize), stride \(stride) and dilation \(dilation) must be positive for input \(input.shape)")
    let rows = WindowAxis(inputSize: input.shape[2], kernelSize: kernelSize.0, stride: stride.0,
                          padding: padding.0, dilation: dilation.0)
    let columns = WindowAxis(inputSize: input.shape[3], kernelSize: kernelSize.1, stride: stride.1,
                             padding: padding.1, dilation: dilation.1)
    for axis in [rows, columns] {
        precondition(axis.padding >= 0 && 2 * axis.padding <= (axis.kernelSize - 1) * axis.dilation + 1,
                     "\(name): padding \(padding) must be at most half the kernel size \(kernelSize) (dilation \(dilation)) for input \(input.shape)")
    }
    precondition(rows.outputSize > 0 && columns.outputSize > 0,
                 "\(name): input \(input.shape) is smaller than the kernel size \(kernelSize) with padding \(padding)")
    return (rows, columns)
}

/// Unfolding an image into convolution patches (im2col) and folding patch gradients back
/// (col2im), for convolution as a matrix product.
///
/// The patch matrix of one image `[C, H, W]` is `[C · kH · kW, H_out · W_out]`: row
/// `(c · kH + kh) · kW + kw` holds, for every output position, the input that kernel tap
/// `(kh, kw)` of channel `c` reads (zero where it reads padding). A group's rows are
/// contiguous, so grouped convolutions use one block of rows each.

/// Writes the patch matrix of `image` (`[channels, H, W]`, contiguous) into `matrix`.
func im2col(_ image: UnsafePointer<Float>, channels: Int, rows: WindowAxis, columns: WindowAxis,
            into matrix: UnsafeMutablePointer<Float>) {
    let inputWidth = columns.inputSize, outputWidth = columns.outputSize
    let inputPlane = rows.inputSize * inputWidth, outputPlane = rows.outputSize * outputWidth
    let taps = rows.kernelSize * columns.kernelSize
    let source = UncheckedSendable(image), destination = UncheckedSendable(matrix)
    Parallel.forEachChunk(channels * taps) { patchRows in
        for patchRow in patchRows {
            let channel = patchRow / taps, kh = patchRow % taps / columns.kernelSize, kw = patchRow % columns.kernelSize
            let plane = source.value + channel * inputPlane
            let row = destination.value + patchRow * outputPlane
            row.update(repeating: 0, count: outputPlane)
            let validColumns = columns.validOutputs(tap: kw)
            guard !validColumns.isEmpty else { continue }
            let firstColumn = columns.inputIndex(output: validColumns.lowerBound, tap: kw)
            for oh in rows.validOutputs(tap: kh) {
                let inputRow = plane + rows.inputIndex(output: oh, tap: kh) * inputWidth + firstColumn
                let outputRow = row + oh * outputWidth + validColumns.lowerBound
                for index in 0..<validColumns.count { outputRow[index] = inputRow[index * columns.stride] }
            }
        }
    }
}

/// Adds the patch-matrix gradient `matrix` back into the image gradient `image`
/// (`[channels, H, W]`, contiguous): the adjoint of `im2col`.
func col2im(_ matrix: UnsafePointer<Float>, channels: Int, rows: WindowAxis, columns: WindowAxis,
            addingInto image: UnsafeMutablePointer<Float>) {
    let inputWidth = columns.inputSize, outputWidth = columns.outputSize
    let inputPlane = rows.inputSize * inputWidth, outputPlane = rows.outputSize * outputWidth
    let source = UncheckedSendable(matrix), destination = UncheckedSendable(image)
    Parallel.forEachChunk(channels) { channelRange in
        for channel in channelRange {
            let plane = destination.value + channel * inputPlane
            for kh in 0..<rows.kernelSize {
                for kw in 0..<columns.kernelSize {
                    let patchRow = (channel * rows.kernelSize + kh) * columns.kernelSize + kw
                    let row = source.value + patchRow * outputPlane
                    let validColumns = columns.validOutputs(tap: kw)
                    guard !validColumns.isEmpty else { continue }
                    let firstColumn = columns.inputIndex(output: validColumns.lowerBound, tap: kw)
                    for oh in rows.validOutputs(tap: kh) {
                        let inputRow = plane + rows.inputIndex(output: oh, tap: kh) * inputWidth + firstColumn
                        let outputRow = row + oh * outputWidth + validColumns.lowerBound
                        for index in 0..<validColumns.count { inputRow[index * columns.stride] += outputRow[index] }
                    }
                }
            }
        }
    }
}

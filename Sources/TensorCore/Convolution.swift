/// 2-D convolution with PyTorch semantics and its derivative.
///
/// Shapes: `N` batch, `C_in`/`C_out` channels, `H`/`W` input and `H_out`/`W_out` output
/// extents, `kH`/`kW` kernel extents, `G` groups, `P = H_out · W_out`, `K = C_in/G · kH · kW`.
///
/// Three kernels: a direct one for depthwise convolutions (`G == C_in == C_out`), a plain
/// matrix product for 1×1 stride-1 unpadded convolutions, and im2col followed by a matrix
/// product for everything else. Weights stored as float16/bfloat16 are widened once per call.

/// The sizes of one convolution call.
struct ConvolutionGeometry {
    let batch: Int
    let inputChannels: Int
    let outputChannels: Int
    let groups: Int
    let rows: WindowAxis
    let columns: WindowAxis

    var groupInputChannels: Int { inputChannels / groups }
    var groupOutputChannels: Int { outputChannels / groups }
    var kernelArea: Int { rows.kernelSize * columns.kernelSize }
    /// Rows of one group's block of the patch matrix: `K = C_in/G · kH · kW`.
    var patchSize: Int { groupInputChannels * kernelArea }
    var inputPlane: Int { rows.inputSize * columns.inputSize }
    var outputPlane: Int { rows.outputSize * columns.outputSize }
    var inputShape: [Int] { [batch, inputChannels, rows.inputSize, columns.inputSize] }
    var weightShape: [Int] { [outputChannels, groupInputChannels, rows.kernelSize, columns.kernelSize] }
    var outputShape: [Int] { [batch, outputChannels, rows.outputSize, columns.outputSize] }

    var isDepthwise: Bool { groups == inputChannels && groups == outputChannels }
    /// A 1×1 kernel that reads every input position once: the image itself is the patch matrix.
    var isPointwise: Bool {
        kernelArea == 1 && rows.stride == 1 && columns.stride == 1 && rows.padding == 0 && columns.padding == 0
    }
}

/// Convolves `input` with `weight` (cross-correlation, as PyTorch's `conv2d`), with
/// symmetric zero `padding`, `stride`, `dilation` and channel `groups`. Pass `(height, width)`
/// pairs. For asymmetric ("same") padding, pad first with `Tensor.padded(axis:before:after:)`.
///
/// ```swift
/// let x = Tensor.randomNormal([1, 32, 112, 112], seed: 0)
/// let depthwise = Tensor.randomNormal([32, 1, 3, 3], seed: 1)
/// let y = conv2d(x, weight: depthwise, padding: (1, 1), groups: 32)   // [1, 32, 112, 112]
/// ```
public func conv2d(_ input: Tensor /* [N, C_in, H, W] */, weight: Tensor /* [C_out, C_in/groups, kH, kW] */,
                   bias: Tensor? = nil /* [C_out] */, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                   dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor /* [N, C_out, H_out, W_out] */ {
    precondition(input.rank == 4 && weight.rank == 4,
                 "conv2d: input \(input.shape) must be [N, C_in, H, W] and weight \(weight.shape) [C_out, C_in/groups, kH, kW]")
    precondition(groups >= 1 && input.shape[1] % groups == 0 && weight.shape[0] % groups == 0,
                 "conv2d: groups \(groups) must divide the channels of input \(input.shape) and weight \(weight.shape)")
    precondition(weight.shape[1] * groups == input.shape[1],
                 "conv2d: input \(input.shape) has \(input.shape[1]) channels, weight \(weight.shape) with groups \(groups) expects \(weight.shape[1] * groups)")
    if let bias {
        precondition(bias.shape == [weight.shape[0]],
                     "conv2d: bias \(bias.shape) does not match the output channels of weight \(weight.shape)")
    }
    precondition(stride.0 > 0 && stride.1 > 0 && dilation.0 > 0 && dilation.1 > 0 && padding.0 >= 0 && padding.1 >= 0,
                 "conv2d: stride \(stride) and dilation \(dilation) must be positive, padding \(padding) non-negative")
    let geometry = ConvolutionGeometry(
        batch: input.shape[0], inputChannels: input.shape[1], outputChannels: weight.shape[0], groups: groups,
        rows: WindowAxis(inputSize: input.shape[2], kernelSize: weight.shape[2], stride: stride.0,
                         padding: padding.0, dilation: dilation.0),
        columns: WindowAxis(inputSize: input.shape[3], kernelSize: weight.shape[3], stride: stride.1,
                            padding: padding.1, dilation: dilation.1))
    precondition(geometry.rows.outputSize > 0 && geometry.columns.outputSize > 0,
                 "conv2d: input \(input.shape) is smaller than the dilated kernel of weight \(weight.shape) with padding \(padding) and dilation \(dilation)")

    let x = input.contiguous(), w = weight.contiguous(), b = bias?.contiguous()
    let output = Tensor.zeros(geometry.outputShape)
    if geometry.isDepthwise {
        depthwiseConvolution(x, weight: w, bias: b, geometry, into: output)
    } else {
        matrixConvolution(x, weight: w, bias: b, geometry, into: output)
    }

    // Keep only what the derivative reads: the input for the weight's gradient, the weight
    // for the input's.
    let savedInput = weight.requiresGradient ? x.detached() : nil
    let savedWeight = input.requiresGradient ? w.detached() : nil
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    return Tensor.record("conv2d", output, inputs: inputs) { gradient in
        let upstream = gradient.contiguous()
        let (inputGradient, weightGradient) = geometry.isDepthwise
            ? depthwiseConvolutionGradients(upstream, input: savedInput, weight: savedWeight, geometry)
            : matrixConvolutionGradients(upstream, input: savedInput, weight: savedWeight, geometry)
        let biasGradient = bias?.requiresGradient == true ? upstream.sum(axes: [0, 2, 3]) : nil
        return [inputGradient, weightGradient] + (bias == nil ? [] : [biasGradient])
    }
}

/// A row-major `[rows, columns]` matrix in `storage`.
private func rowMajor(_ storage: Storage, rows: Int, columns: Int) -> MatrixOperand {
    MatrixOperand(rows: rows, columns: columns, rowStride: columns, columnStride: 1, storage: storage)!
}

/// The transpose `[rows, columns]` of a row-major `[columns, rows]` matrix in `storage`.
private func transposedRowMajor(_ storage: Storage, rows: Int, columns: Int) -> MatrixOperand {
    MatrixOperand(rows: rows, columns: columns, rowStride: 1, columnStride: rows, storage: storage)!
}

/// `y[n, group] = weight[group] · patches(x[n], group)` for every image and group, with the
/// output starting from the bias when there is one.
private func matrixConvolution(_ x: Tensor /* [N, C_in, H, W] */, weight: Tensor /* [C_out, C_in/G, kH, kW] */,
                               bias: Tensor? /* [C_out] */, _ geometry: ConvolutionGeometry,
                               into output: Tensor /* [N, C_out, H_out, W_out] */) {
    let plane = geometry.outputPlane, patchSize = geometry.patchSize, groupOutputs = geometry.groupOutputChannels
    let y = output.storage.floats
    if let bias {
        let values = bias.storage.floats + bias.offset
        for image in 0..<geometry.batch {
            for channel in 0..<geometry.outputChannels {
                (y + (image * geometry.outputChannels + channel) * plane).update(repeating: values[channel], count: plane)
            }
        }
    }
    let patches = geometry.isPointwise ? nil : Storage(count: geometry.inputChannels * geometry.kernelArea * plane)
    let weights = rowMajor(weight.storage, rows: geometry.outputChannels, columns: patchSize)
    for image in 0..<geometry.batch {
        let imageOffset = x.offset + image * geometry.inputChannels * geometry.inputPlane
        let matrix = patches ?? x.storage
        let matrixOffset = patches == nil ? imageOffset : 0
        if let patches {
            im2col(x.storage.floats + imageOffset, channels: geometry.inputChannels,
                   rows: geometry.rows, columns: geometry.columns, into: patches.floats)
        }
        for group in 0..<geometry.groups {
            gemm(m: groupOutputs, n: plane, k: patchSize,
                 a: weights, aOffset: weight.offset + group * groupOutputs * patchSize,
                 b: rowMajor(matrix, rows: patchSize, columns: plane), bOffset: matrixOffset + group * patchSize * plane,
                 c: y + (image * geometry.outputChannels + group * groupOutputs) * plane, accumulate: bias != nil)
        }
    }
}

/// Gradients of `matrixConvolution` for the input (needs the weight) and the weight (needs
/// the input): `dW[group] = Σ_n dY[n, group] · patchesᵀ` and
/// `dX[n] = col2im(W[group]ᵀ · dY[n, group])`.
private func matrixConvolutionGradients(
    _ upstream: Tensor /* [N, C_out, H_out, W_out] */, input x: Tensor? /* [N, C_in, H, W] */,
    weight: Tensor? /* [C_out, C_in/G, kH, kW] */, _ geometry: ConvolutionGeometry
) -> (input: Tensor?, weight: Tensor?) {
    let plane = geometry.outputPlane, patchSize = geometry.patchSize, groupOutputs = geometry.groupOutputChannels
    let inputGradient = weight.map { _ in Tensor.zeros(geometry.inputShape) }
    let weightGradient = x.map { _ in Tensor.zeros(geometry.weightShape) }
    let patches = geometry.isPointwise ? nil : Storage(count: geometry.inputChannels * geometry.kernelArea * plane)
    let upstreamMatrix = rowMajor(upstream.storage, rows: geometry.outputChannels, columns: plane)
    for image in 0..<geometry.batch {
        let upstreamOffset = upstream.offset + image * geometry.outputChannels * plane
        if let x, let weightGradient {
            let imageOffset = x.offset + image * geometry.inputChannels * geometry.inputPlane
            if let patches {
                im2col(x.storage.floats + imageOffset, channels: geometry.inputChannels,
                       rows: geometry.rows, columns: geometry.columns, into: patches.floats)
            }
            let patchesTransposed = transposedRowMajor(patches ?? x.storage, rows: plane, columns: patchSize)
            for group in 0..<geometry.groups {
                gemm(m: groupOutputs, n: patchSize, k: plane,
                     a: upstreamMatrix, aOffset: upstreamOffset + group * groupOutputs * plane,
                     b: patchesTransposed, bOffset: (patches == nil ? imageOffset : 0) + group * patchSize * plane,
                     c: weightGradient.storage.floats + group * groupOutputs * patchSize, accumulate: image > 0)
            }
        }
        if let weight, let inputGradient {
            let imageGradient = inputGradient.storage.floats + image * geometry.inputChannels * geometry.inputPlane
            let target = patches?.floats ?? imageGradient
            let weightsTransposed = transposedRowMajor(weight.storage, rows: patchSize, columns: groupOutputs)
            for group in 0..<geometry.groups {
                gemm(m: patchSize, n: plane, k: groupOutputs,
                     a: weightsTransposed, aOffset: weight.offset + group * groupOutputs * patchSize,
                     b: upstreamMatrix, bOffset: upstreamOffset + group * groupOutputs * plane,
                     c: target + group * patchSize * plane)
            }
            if let patches {
                col2im(patches.floats, channels: geometry.inputChannels, rows: geometry.rows,
                       columns: geometry.columns, addingInto: imageGradient)
            }
        }
    }
    return (inputGradient, weightGradient)
}

/// A window sliding along one spatial axis, shared by convolution and pooling.
///
/// Output position `o` reads input `o · stride − padding + tap · dilation` for each kernel
/// tap; positions outside `0..<inputSize` are padding.
struct WindowAxis {
    let inputSize: Int
    let kernelSize: Int
    let stride: Int
    let padding: Int
    let dilation: Int
    /// PyTorch's floor((inputSize + 2·padding − dilation·(kernelSize − 1) − 1) / stride) + 1.
    let outputSize: Int

    init(inputSize: Int, kernelSize: Int, stride: Int, padding: Int, dilation: Int) {
        self.inputSize = inputSize
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        let span = inputSize + 2 * padding - dilation * (kernelSize - 1) - 1
        outputSize = span < 0 ? 0 : span / stride + 1
    }

    /// The input index that output `output` reads for kernel tap `tap` (may be padding).
    @inline(__always)
    func inputIndex(output: Int, tap: Int) -> Int { output * stride - padding + tap * dilation }

    /// The output positions whose input for `tap` lies inside the input (not padding).
    func validOutputs(tap: Int) -> Range<Int> {
        let shift = tap * dilation - padding
        let lower = shift >= 0 ? 0 : (-shift + stride - 1) / stride
        let last = inputSize - 1 - shift
        let upper = last < 0 ? 0 : Swift.min(outputSize, last / stride + 1)
        let start = Swift.min(lower, outputSize)
        return start..<Swift.max(start, upper)
    }
}

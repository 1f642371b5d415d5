import TensorCore

/// 2-D convolution with PyTorch's layout: `weight` [C_out, C_in/groups, kH, kW], `bias` [C_out].
public final class Conv2d: Module, UnaryLayer {
    public let inputChannels: Int
    public let outputChannels: Int
    public let kernelSize: (Int, Int)
    public let stride: (Int, Int)
    public let padding: (Int, Int)
    public let dilation: (Int, Int)
    public let groups: Int

    public init(inputChannels: Int, outputChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true,
                generator: inout RandomGenerator) {
        precondition(inputChannels % groups == 0 && outputChannels % groups == 0,
                     "Conv2d: channels \(inputChannels) -> \(outputChannels) not divisible by groups \(groups)")
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        super.init()
        let fanIn = inputChannels / groups * kernelSize.0 * kernelSize.1
        register(parameter: "weight", uniformFanIn([outputChannels, inputChannels / groups, kernelSize.0, kernelSize.1],
                                                   fanIn: fanIn, generator: &generator))
        if bias { register(parameter: "bias", uniformFanIn([outputChannels], fanIn: fanIn, generator: &generator)) }
    }

    public convenience init(inputChannels: Int, outputChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
                            padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true) {
        var generator = makeDefaultSeededGenerator()
        self.init(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize, stride: stride,
                  padding: padding, dilation: dilation, groups: groups, bias: bias, generator: &generator)
    }

    public var weight: Tensor { parameter("weight") }
    public var bias: Tensor? { optionalParameter("bias") }

    /// x: [N, C_in, H, W] -> [N, C_out, H_out, W_out]
    public func callAsFunction(_ input: Tensor) -> Tensor {
        conv2d(input, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

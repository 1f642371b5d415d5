import Testing
import TensorCore
import TestSupport

/// One convolution configuration; pairs are `[height, width]`.
struct ConvolutionCase: Sendable, CustomTestStringConvertible {
    let name: String
    let inputShape: [Int]
    let weightShape: [Int]
    var stride = [1, 1]
    var padding = [0, 0]
    var dilation = [1, 1]
    var groups = 1
    var hasBias = false

    var testDescription: String { name }

    func callAsFunction(_ input: Tensor, _ weight: Tensor, _ bias: Tensor?) -> Tensor {
        conv2d(input, weight: weight, bias: bias, stride: (stride[0], stride[1]), padding: (padding[0], padding[1]),
               dilation: (dilation[0], dilation[1]), groups: groups)
    }

    /// The definition, as seven plain loops.
    func reference(_ input: Tensor, _ weight: Tensor, _ bias: Tensor?) -> [Float] {
        let x = input.toArray(), w = weight.toArray(), b = bias?.toArray()
        let (n, cIn, h, wIn) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (cOut, cGroup, kH, kW) = (weightShape[0], weightShape[1], weightShape[2], weightShape[3])
        let hOut = (h + 2 * padding[0] - dilation[0] * (kH - 1) - 1) / stride[0] + 1
        let wOut = (wIn + 2 * padding[1] - dilation[1] * (kW - 1) - 1) / stride[1] + 1
        let outputsPerGroup = cOut / groups
        var y = [Float](repeating: 0, count: n * cOut * hOut * wOut)
        for image in 0..<n {
            for o in 0..<cOut {
                for oh in 0..<hOut {
                    for ow in 0..<wOut {
                        var total = b?[o] ?? 0
                        for c in 0..<cGroup {
                            let channel = o / outputsPerGroup * cGroup + c
                            for kh in 0..<kH {
                                for kw in 0..<kW {
                                    let ih = oh * stride[0] - padding[0] + kh * dilation[0]
                                    let iw = ow * stride[1] - padding[1] + kw * dilation[1]
                                    guard ih >= 0 && ih < h && iw >= 0 && iw < wIn else { continue }
                                    total += x[((image * cIn + channel) * h + ih) * wIn + iw]
                                        * w[((o * cGroup + c) * kH + kh) * kW + kw]
                                }
                            }
                        }
                        y[((image * cOut + o) * hOut + oh) * wOut + ow] = total
                    }
                }
            }
        }
        return y
    }
}

@Suite struct ConvolutionTests {
    static let cases: [ConvolutionCase] = [
        ConvolutionCase(name: "3x3 stride 2 padding 1 with bias", inputShape: [2, 3, 7, 7], weightShape: [4, 3, 3, 3],
                        stride: [2, 2], padding: [1, 1], hasBias: true),
        ConvolutionCase(name: "rectangular kernel, stride, padding, dilation", inputShape: [1, 2, 6, 7],
                        weightShape: [3, 2, 3, 2], stride: [2, 1], padding: [1, 0], dilation: [1, 2]),
        ConvolutionCase(name: "dilation 2", inputShape: [1, 3, 8, 8], weightShape: [2, 3, 3, 3],
                        padding: [2, 2], dilation: [2, 2]),
        ConvolutionCase(name: "groups 2 (4 -> 6 channels)", inputShape: [2, 4, 5, 5], weightShape: [6, 2, 3, 3],
                        padding: [1, 1], groups: 2, hasBias: true),
        ConvolutionCase(name: "depthwise 3x3", inputShape: [2, 3, 6, 6], weightShape: [3, 1, 3, 3],
                        padding: [1, 1], groups: 3, hasBias: true),
        ConvolutionCase(name: "depthwise 5x5 stride 2", inputShape: [1, 4, 9, 8], weightShape: [4, 1, 5, 5],
                        stride: [2, 2], padding: [2, 2], groups: 4),
        ConvolutionCase(name: "depthwise dilation 2 stride (1, 2)", inputShape: [1, 2, 7, 7], weightShape: [2, 1, 3, 3],
                        stride: [1, 2], padding: [1, 2], dilation: [2, 2], groups: 2),
        ConvolutionCase(name: "depthwise with channel multiplier 2", inputShape: [1, 2, 5, 5], weightShape: [4, 1, 3, 3],
                        groups: 2),
        ConvolutionCase(name: "pointwise with bias", inputShape: [2, 5, 4, 3], weightShape: [3, 5, 1, 1], hasBias: true),
        ConvolutionCase(name: "pointwise groups 2", inputShape: [1, 4, 3, 3], weightShape: [6, 2, 1, 1], groups: 2),
        ConvolutionCase(name: "1x1 stride 2", inputShape: [1, 3, 5, 5], weightShape: [2, 3, 1, 1], stride: [2, 2]),
    ]

    static func operands(_ configuration: ConvolutionCase) -> [Tensor] {
        [Tensor.randomNormal(configuration.inputShape, seed: 1), Tensor.randomNormal(configuration.weightShape, seed: 2)]
            + (configuration.hasBias ? [Tensor.randomNormal([configuration.weightShape[0]], seed: 3)] : [])
    }

    @Test func handComputedWindowSums() {
        let x = Tensor.arange(9).reshaped([1, 1, 3, 3])
        let ones = Tensor.ones([1, 1, 2, 2])
        #expect(conv2d(x, weight: ones).toArray() == [8, 12, 20, 24])
        let padded = conv2d(x, weight: ones, bias: Tensor([1], shape: [1]), stride: (2, 2), padding: (1, 1))
        #expect(padded.shape == [1, 1, 2, 2])
        #expect(padded.toArray() == [1, 4, 10, 25])
    }

    @Test(arguments: cases) func forwardMatchesDirectDefinition(_ configuration: ConvolutionCase) {
        let operands = Self.operands(configuration)
        let output = configuration(operands[0], operands[1], operands.count > 2 ? operands[2] : nil)
        let expected = configuration.reference(operands[0], operands[1], operands.count > 2 ? operands[2] : nil)
        #expect(isClose(output.toArray(), expected, relative: 1e-5))
    }

    @Test(arguments: cases) func gradientsMatchFiniteDifferences(_ configuration: ConvolutionCase) {
        let error = gradientError(of: { configuration($0[0], $0[1], $0.count > 2 ? $0[2] : nil) },
                                  at: Self.operands(configuration))
        #expect(error < 1e-3)
    }

    @Test(arguments: [cases[0], cases[3], cases[5], cases[8]])
    func gradientsThroughChannelsLastView(_ configuration: ConvolutionCase) {
        let shape = configuration.inputShape
        let channelsLast = Tensor.randomNormal([shape[0], shape[2], shape[3], shape[1]], seed: 4)
        let error = gradientError(of: { configuration($0[0].permuted([0, 3, 1, 2]), $0[1], nil) },
                                  at: [channelsLast, Tensor.randomNormal(configuration.weightShape, seed: 5)])
        #expect(error < 1e-3)
    }

    @Test func halfPrecisionWeightsMatchTheirWidenedValues() {
        let x = Tensor.randomNormal([1, 4, 6, 6], seed: 6)
        for (weight, groups) in [(Tensor.randomNormal([8, 4, 3, 3], seed: 7), 1), (Tensor.randomNormal([4, 1, 3, 3], seed: 8), 4)] {
            for dtype in [DType.float16, .bfloat16] {
                let narrow = weight.converted(to: dtype)
                let expected = conv2d(x, weight: narrow.contiguous(), padding: (1, 1), groups: groups)
                let actual = conv2d(x, weight: narrow, padding: (1, 1), groups: groups)
                #expect(maxAbsoluteDifference(actual, expected) == 0)
            }
        }
    }

    @Test func frozenWeightGetsNoGradient() {
        let x = Tensor.randomNormal([1, 2, 4, 4], seed: 9).requiringGradient()
        let weight = Tensor.randomNormal([3, 2, 3, 3], seed: 10)
        let bias = Tensor.zeros([3]).requiringGradient()
        conv2d(x, weight: weight, bias: bias, padding: (1, 1)).sum().backward()
        #expect(x.grad?.shape == [1, 2, 4, 4])
        #expect(weight.grad == nil)
        #expect(bias.grad?.toArray() == [16, 16, 16])
    }

    @Test func channelMismatchStops() async {
        await #expect(processExitsWith: .failure) {
            _ = conv2d(Tensor.zeros([1, 3, 4, 4]), weight: Tensor.zeros([2, 4, 3, 3]))
        }
    }
}

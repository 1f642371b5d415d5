import NN
import TensorCore

// Shapes: N batch, C channels (C_e expanded), H/W spatial extents.

/// Mobile inverted bottleneck without squeeze-and-excitation (EfficientNet-Lite):
/// 1×1 expansion → ReLU6 → depthwise k×k → ReLU6 → 1×1 projection, plus an identity skip
/// when the block keeps its shape. Children carry the reference's names (`_expand_conv`,
/// `_bn0`, `_depthwise_conv`, `_bn1`, `_project_conv`, `_bn2`).
///
/// ```swift
/// let block = MBConvBlock(configuration.blocks[1], epsilon: 1e-3, momentum: 0.01)
/// let y = block(x, dropConnectRate: 0)   // [N, 16, 112, 112] -> [N, 24, 56, 56]
/// ```
public final class MBConvBlock: Module {
    public let settings: EfficientNetConfiguration.Block
    /// Per-block generator for drop connect (used in training only).
    public var generator: RandomGenerator

    public init(_ settings: EfficientNetConfiguration.Block, epsilon: Float, momentum: Float, seed: UInt64 = 0) {
        self.settings = settings
        self.generator = RandomGenerator(seed: seed)
        super.init()
        let expanded = settings.expandedChannels
        if settings.expandRatio != 1 {
            register("_expand_conv", Conv2d(inputChannels: settings.inputChannels, outputChannels: expanded,
                                            kernelSize: (1, 1), bias: false))
            register("_bn0", BatchNorm2d(channels: expanded, epsilon: epsilon, momentum: momentum))
        }
        register("_depthwise_conv", makeSamePaddingConv2d(inputChannels: expanded, outputChannels: expanded,
                                                          kernelSize: settings.kernelSize, stride: settings.stride,
                                                          groups: expanded))
        register("_bn1", BatchNorm2d(channels: expanded, epsilon: epsilon, momentum: momentum))
        register("_project_conv", Conv2d(inputChannels: expanded, outputChannels: settings.outputChannels,
                                         kernelSize: (1, 1), bias: false))
        register("_bn2", BatchNorm2d(channels: settings.outputChannels, epsilon: epsilon, momentum: momentum))
    }

    /// x: [N, C_in, H, W] -> [N, C_out, H', W'] with H' = ceil(H / stride).
    public func callAsFunction(_ input: Tensor, dropConnectRate: Float) -> Tensor {
        var x = input
        if settings.expandRatio != 1 {
            x = layer("_bn0")(layer("_expand_conv")(x)).relu6()
        }
        x = layer("_bn1")(samePaddingConvolution(self, "_depthwise_conv", x,
                                                         kernelSize: settings.kernelSize, stride: settings.stride)).relu6()
        x = layer("_bn2")(layer("_project_conv")(x))
        guard settings.hasSkip else { return x }
        if isTraining && dropConnectRate > 0 {
            x = droppingConnections(x, rate: dropConnectRate)
        }
        return x + input
    }

    /// Stochastic depth: keeps each sample's residual branch with probability 1 - rate and
    /// rescales the kept ones, as the reference's `drop_connect`.
    private func droppingConnections(_ x: Tensor /* [N, C, H, W] */, rate: Float) -> Tensor {
        let keep = 1 - rate
        let mask = (0..<x.shape[0]).map { _ in generator.nextUniform() < keep ? 1 / keep : 0 }
        return x * Tensor(mask, shape: [x.shape[0], 1, 1, 1])
    }
}

/// A convolution whose TensorFlow "same" padding is applied by its parent at call time.
/// Stride 1 with an odd kernel pads (k-1)/2 on every side, which `Conv2d` does itself;
/// for larger strides the padding depends on the input size, so the convolution is built
/// unpadded and `samePaddingConvolution` pads first.
func makeSamePaddingConv2d(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int,
                           groups: Int = 1) -> Conv2d {
    let padding = stride == 1 ? (kernelSize - 1) / 2 : 0
    return Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: (kernelSize, kernelSize),
                  stride: (stride, stride), padding: (padding, padding), groups: groups, bias: false)
}

/// Applies `owner`'s convolution child `name` (kernel `kernelSize`, stride `stride`) with
/// TensorFlow "same" padding: the output has ceil(H / stride) rows, and an odd total padding
/// puts the extra row at the bottom (the extra column at the right). The child is called
/// through `layer(_:)`, so an adapter that replaces it (LoRA on a convolution) still works.
func samePaddingConvolution(_ owner: Module, _ name: String, _ x: Tensor /* [N, C, H, W] */,
                            kernelSize: Int, stride: Int) -> Tensor {
    guard stride > 1 else { return owner.layer(name)(x) }   // built with symmetric padding
    var padded = x
    for axis in [2, 3] {
        let size = x.shape[axis]
        let outputs = (size + stride - 1) / stride
        let total = max((outputs - 1) * stride + kernelSize - size, 0)
        padded = padded.padded(axis: axis, before: total / 2, after: total - total / 2)
    }
    return owner.layer(name)(padded)
}

import NN
import TensorCore

// Shapes: N batch, H/W input extents (224 for Lite0), C channels, L labels.

/// EfficientNet-Lite with the reference PyTorch port's parameter paths (`_conv_stem`, `_bn0`,
/// `_blocks.N.…`, `_conv_head`, `_bn1`, `_fc`), so its state_dict loads one to one.
///
/// Convolutions use TensorFlow "same" padding computed from the actual input size, which
/// equals the reference's static padding at the resolution it was built for and keeps the
/// output at ceil(H / 32) for any other size.
///
/// ```swift
/// let model = try EfficientNet.load(from: checkpointURL)   // Lite0, 1000 ImageNet classes
/// model.setTraining(false)
/// let logits = model(images)                                 // [N, 3, 224, 224] -> [N, 1000]
/// model.replaceClassifier(labelCount: 10)                    // a fresh head for a new task
/// ```
public final class EfficientNet: Module, UnaryLayer {
    public private(set) var configuration: EfficientNetConfiguration

    public init(configuration: EfficientNetConfiguration) {
        self.configuration = configuration
        super.init()
        let (epsilon, momentum) = (configuration.batchNormEpsilon, configuration.batchNormMomentum)
        register("_conv_stem", makeSamePaddingConv2d(inputChannels: 3, outputChannels: configuration.stemChannels,
                                                     kernelSize: 3, stride: 2))
        register("_bn0", BatchNorm2d(channels: configuration.stemChannels, epsilon: epsilon, momentum: momentum))
        let blocks = Module()
        for (index, settings) in configuration.blocks.enumerated() {
            blocks.register(String(index), MBConvBlock(settings, epsilon: epsilon, momentum: momentum,
                                                       seed: UInt64(index)))
        }
        register("_blocks", blocks)
        let lastChannels = configuration.blocks.last!.outputChannels
        register("_conv_head", Conv2d(inputChannels: lastChannels, outputChannels: configuration.headChannels,
                                      kernelSize: (1, 1), bias: false))
        register("_bn1", BatchNorm2d(channels: configuration.headChannels, epsilon: epsilon, momentum: momentum))
        register("_dropout", Dropout(probability: configuration.dropoutRate))
        register("_fc", Linear(inputDimensions: configuration.headChannels, outputDimensions: configuration.classCount))
    }

    /// The last feature map before pooling: [N, 3, H, W] -> [N, 1280, ceil(H/32), ceil(W/32)].
    public func features(_ images: Tensor /* [N, 3, H, W] */) -> Tensor {
        precondition(images.rank == 4 && images.shape[1] == 3,
                     "EfficientNet: images \(images.shape) must be [N, 3, H, W]")
        var x = layer("_bn0")(samePaddingConvolution(self, "_conv_stem", images, kernelSize: 3, stride: 2)).relu6()
        let blocks = child("_blocks")!
        let count = blocks.childNames.count
        for (index, name) in blocks.childNames.enumerated() {
            // The drop-connect rate grows linearly with depth, as in the reference.
            let rate = configuration.dropConnectRate * Float(index) / Float(count)
            x = blocks.child(name, as: MBConvBlock.self)(x, dropConnectRate: rate)
        }
        return layer("_bn1")(layer("_conv_head")(x)).relu6()
    }

    /// Pooled features before dropout and the classifier: [N, 3, H, W] -> [N, 1280].
    public func embeddings(_ images: Tensor /* [N, 3, H, W] */) -> Tensor {
        let pooled = adaptiveAvgPool2d(features(images), outputSize: (1, 1))
        return pooled.reshaped([pooled.shape[0], pooled.shape[1]])
    }

    /// Logits: [N, 3, H, W] -> [N, L].
    public func callAsFunction(_ images: Tensor /* [N, 3, H, W] */) -> Tensor {
        layer("_fc")(layer("_dropout")(embeddings(images)))
    }

    /// Replaces `_fc` with a freshly initialised `Linear(1280, labelCount)` (PyTorch's default
    /// initialisation from `seed`), for fine-tuning on a new label set. The rest of the
    /// network is unchanged.
    ///
    /// ```swift
    /// model.replaceClassifier(labelCount: 10)   // Fashion-MNIST
    /// ```
    public func replaceClassifier(labelCount: Int, seed: UInt64 = 0) {
        precondition(labelCount > 0, "replaceClassifier: labelCount \(labelCount) must be positive")
        var generator = RandomGenerator(seed: seed)
        register("_fc", Linear(inputDimensions: configuration.headChannels, outputDimensions: labelCount,
                               generator: &generator))
        configuration.classCount = labelCount
    }
}

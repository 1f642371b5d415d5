import Foundation

/// The shape of an EfficientNet-Lite network: stage table, width and depth scaling, input
/// resolution and regularisation, as the reference (TensorFlow's `efficientnet_lite_builder`,
/// ported by `efficientnet-lite-pytorch`) defines them.
///
/// Lite variants differ from EfficientNet-B*: no squeeze-and-excitation, ReLU6 instead of
/// swish, and a stem (32 channels), first stage, last stage and head (1280 channels) that are
/// never scaled.
///
/// ```swift
/// let configuration = EfficientNetConfiguration.lite(0)          // 224 px, 16 blocks
/// let small = EfficientNetConfiguration.lite(0, classCount: 10)   // a 10-class head
/// ```
public struct EfficientNetConfiguration: Sendable, Equatable {
    /// One stage of the base network before scaling (`r1_k3_s11_e1_i32_o16` in the reference).
    public struct Stage: Sendable, Equatable {
        public var repeats: Int
        public var kernelSize: Int
        public var stride: Int
        public var expandRatio: Int
        public var inputChannels: Int
        public var outputChannels: Int
    }

    /// The settings of one MBConv block after scaling.
    public struct Block: Sendable, Equatable {
        public var kernelSize: Int
        public var stride: Int
        public var expandRatio: Int
        public var inputChannels: Int
        public var outputChannels: Int
        public var expandedChannels: Int { inputChannels * expandRatio }
        /// Identity skip: stride 1 and as many channels out as in.
        public var hasSkip: Bool { stride == 1 && inputChannels == outputChannels }
    }

    public var widthCoefficient: Double
    public var depthCoefficient: Double
    /// The input resolution the variant was trained at.
    public var resolution: Int
    public var dropoutRate: Float
    /// The largest drop-connect (stochastic depth) rate, reached by the last block.
    public var dropConnectRate: Float = 0.2
    public var batchNormEpsilon: Float = 1e-3
    /// PyTorch's momentum (1 - TensorFlow's 0.99).
    public var batchNormMomentum: Float = 0.01
    public var classCount: Int = 1000
    public var stemChannels = 32
    public var headChannels = 1280
    public var depthDivisor = 8
    public var stages: [Stage] = EfficientNetConfiguration.baseStages

    /// The base (Lite0) stage table.
    public static let baseStages: [Stage] = [
        Stage(repeats: 1, kernelSize: 3, stride: 1, expandRatio: 1, inputChannels: 32, outputChannels: 16),
        Stage(repeats: 2, kernelSize: 3, stride: 2, expandRatio: 6, inputChannels: 16, outputChannels: 24),
        Stage(repeats: 2, kernelSize: 5, stride: 2, expandRatio: 6, inputChannels: 24, outputChannels: 40),
        Stage(repeats: 3, kernelSize: 3, stride: 2, expandRatio: 6, inputChannels: 40, outputChannels: 80),
        Stage(repeats: 3, kernelSize: 5, stride: 1, expandRatio: 6, inputChannels: 80, outputChannels: 112),
        Stage(repeats: 4, kernelSize: 5, stride: 2, expandRatio: 6, inputChannels: 112, outputChannels: 192),
        Stage(repeats: 1, kernelSize: 3, stride: 1, expandRatio: 6, inputChannels: 192, outputChannels: 320),
    ]

    /// EfficientNet-Lite`variant` (0...4): (width, depth, resolution, dropout) from the reference.
    public static func lite(_ variant: Int, classCount: Int = 1000) -> EfficientNetConfiguration {
        let table: [(Double, Double, Int, Float)] = [
            (1.0, 1.0, 224, 0.2), (1.0, 1.1, 240, 0.2), (1.1, 1.2, 260, 0.3), (1.2, 1.4, 280, 0.3), (1.4, 1.8, 300, 0.3),
        ]
        precondition(table.indices.contains(variant), "EfficientNet-Lite variant \(variant) must be 0...4")
        let (width, depth, resolution, dropout) = table[variant]
        var configuration = EfficientNetConfiguration(widthCoefficient: width, depthCoefficient: depth,
                                                      resolution: resolution, dropoutRate: dropout)
        configuration.classCount = classCount
        return configuration
    }

    /// Channels scaled by the width coefficient, rounded to a multiple of `depthDivisor` and
    /// never more than 10% below the scaled value.
    public func roundedChannels(_ channels: Int) -> Int {
        let scaled = Double(channels) * widthCoefficient
        var rounded = max(depthDivisor, Int(scaled + Double(depthDivisor) / 2) / depthDivisor * depthDivisor)
        if Double(rounded) < 0.9 * scaled { rounded += depthDivisor }
        return rounded
    }

    /// The blocks in order, with the first and last stage's repeats and the first stage's
    /// input channels left unscaled (Lite's fixed stem and head).
    public var blocks: [Block] {
        var result: [Block] = []
        for (index, stage) in stages.enumerated() {
            let isFixed = index == 0 || index == stages.count - 1
            let repeats = isFixed ? stage.repeats : Int((depthCoefficient * Double(stage.repeats)).rounded(.up))
            let input = index == 0 ? stemChannels : roundedChannels(stage.inputChannels)
            let output = roundedChannels(stage.outputChannels)
            for repeatIndex in 0..<repeats {
                result.append(Block(kernelSize: stage.kernelSize, stride: repeatIndex == 0 ? stage.stride : 1,
                                    expandRatio: stage.expandRatio,
                                    inputChannels: repeatIndex == 0 ? input : output, outputChannels: output))
            }
        }
        return result
    }
}

import TensorCore

/// Batch normalisation with its statistics fixed (torchvision's `FrozenBatchNorm2d`): always
/// the running mean and variance, whatever the mode, folded into one per-channel scale and
/// shift applied in one pass (`channelAffine`), `y = x · s + t` with `s = weight / √(running_var + ε)` and `t = bias - running_mean · s`.
/// The affine `weight` and `bias` stay parameters (they train when unfrozen); the buffers never
/// change. Parameter and buffer names are `BatchNorm2d`'s, so state dicts load unchanged.
///
/// Fine-tuning a pretrained CNN on small batches usually freezes its batch norms this way:
/// batch statistics of a few images from a new domain would overwrite the ones learned.
///
/// ```swift
/// let frozen = FrozenBatchNorm2d(copying: model.child("_bn0", as: BatchNorm2d.self))
/// model.replaceModule(at: "_bn0", with: frozen)
/// let y = frozen(x)   // [N, C, H, W] -> [N, C, H, W], in training mode too
/// ```
public final class FrozenBatchNorm2d: Module, UnaryLayer {
    public let channels: Int
    public let epsilon: Float

    public init(channels: Int, epsilon: Float = 1e-5) {
        self.channels = channels
        self.epsilon = epsilon
        super.init()
        registerBatchNormTensors(channels: channels)
    }

    /// The same layer with `batchNorm`'s tensors (shared, not copied) and trainability.
    public convenience init(copying batchNorm: BatchNorm2d) {
        self.init(channels: batchNorm.channels, epsilon: batchNorm.epsilon)
        for name in parameterNames {
            let tensor = batchNorm.parameter(name), isTrainable = tensor.requiresGradient
            register(parameter: name, tensor)
            tensor.requiringGradient(isTrainable)
        }
        for name in bufferNames { register(buffer: name, batchNorm.buffer(name)) }
    }

    /// Replaces every `BatchNorm2d` in `model` with a frozen one at the same path; returns how many.
    ///
    /// ```swift
    /// FrozenBatchNorm2d.freezeAll(in: efficientNet)   // 49 layers in EfficientNet-Lite0
    /// ```
    @discardableResult
    public static func freezeAll(in model: Module) -> Int {
        let layers = model.namedModules().compactMap { entry in (entry.module as? BatchNorm2d).map { (entry.path, $0) } }
        for (path, layer) in layers { model.replaceModule(at: path, with: FrozenBatchNorm2d(copying: layer)) }
        return layers.count
    }

    /// x: [N, C, H, W] -> [N, C, H, W]
    public func callAsFunction(_ input: Tensor) -> Tensor {
        precondition(input.rank == 4 && input.shape[1] == channels,
                     "FrozenBatchNorm2d: input \(input.shape) does not have \(channels) channels at axis 1")
        let scale = parameter("weight") * (buffer("running_var") + epsilon).rsqrt()   // [C]
        let shift = parameter("bias") - buffer("running_mean") * scale                  // [C]
        return channelAffine(input, scale: scale, shift: shift)
    }
}

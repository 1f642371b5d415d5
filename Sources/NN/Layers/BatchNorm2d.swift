import TensorCore

/// Batch normalisation over [N, C, H, W] with PyTorch's buffers (`running_mean`,
/// `running_var`, `num_batches_tracked`) and momentum semantics. In evaluation mode it
/// uses the running statistics; in training mode batch statistics, updating the running ones.
public final class BatchNorm2d: Module, UnaryLayer {
    public let channels: Int
    public let epsilon: Float
    public let momentum: Float

    public init(channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) {
        self.channels = channels
        self.epsilon = epsilon
        self.momentum = momentum
        super.init()
        registerBatchNormTensors(channels: channels)
    }

    /// x: [N, C, H, W] -> [N, C, H, W]
    public func callAsFunction(_ input: Tensor) -> Tensor {
        precondition(input.rank == 4 && input.shape[1] == channels,
                     "BatchNorm2d: input \(input.shape) does not have \(channels) channels at axis 1")
        let shape = [1, channels, 1, 1]
        let mean: Tensor, variance: Tensor
        if isTraining {
            mean = input.mean(axes: [0, 2, 3], keepingDimensions: true)
            variance = input.variance(axes: [0, 2, 3], keepingDimensions: true)
            updateRunningStatistics(mean: mean, variance: variance, count: input.count / channels)
        } else {
            mean = buffer("running_mean").reshaped(shape)
            variance = buffer("running_var").reshaped(shape)
        }
        let normalized = (input - mean) * (variance + epsilon).rsqrt()
        return normalized * parameter("weight").reshaped(shape) + parameter("bias").reshaped(shape)
    }

    private func updateRunningStatistics(mean: Tensor, variance: Tensor, count: Int) {
        Tensor.withoutGradient {
            let unbiased = variance.detached() * (Float(count) / Float(max(count - 1, 1)))
            let newMean = buffer("running_mean") * (1 - momentum) + mean.detached().reshaped([channels]) * momentum
            let newVariance = buffer("running_var") * (1 - momentum) + unbiased.reshaped([channels]) * momentum
            register(buffer: "running_mean", newMean)
            register(buffer: "running_var", newVariance)
            register(buffer: "num_batches_tracked", buffer("num_batches_tracked") + 1)
        }
    }
}

extension Module {
    /// PyTorch's batch-norm state for `channels`: the affine `weight` (ones) and `bias` (zeros),
    /// and the buffers `running_mean`, `running_var` and `num_batches_tracked`.
    func registerBatchNormTensors(channels: Int) {
        register(parameter: "weight", .ones([channels]))
        register(parameter: "bias", .zeros([channels]))
        register(buffer: "running_mean", .zeros([channels]))
        register(buffer: "running_var", .ones([channels]))
        register(buffer: "num_batches_tracked", .zeros([]))
    }
}

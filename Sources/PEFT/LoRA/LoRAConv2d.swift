import NN
import TensorCore

/// LoRA on a 2-D convolution as PEFT builds it: A is a convolution C_in -> r with the base
/// kernel, stride and padding (no dilation), B a 1x1 convolution r -> C_out:
/// y = conv(x, W) + s · conv1x1(conv(dropout(x), A), B). A [r, C_in, kH, kW], B [C_out, r, 1, 1].
///
/// ```swift
/// let y = loraConv(x)   // x: [N, C_in, H, W] -> [N, C_out, H', W']
/// ```
public final class LoRAConv2d: LoRALayer {
    init(base: Conv2d) {
        super.init(base: base)
    }

    var base: Conv2d { baseLayer as! Conv2d }

    override func addAdapter(_ name: String, settings: LoRASettings, path: String, generator: inout RandomGenerator) throws {
        if base.groups != 1 { throw AdapterError.unsupportedOption(key: "target_modules", value: "grouped convolution '\(path)'") }
        if settings.initialization == .pissa { throw AdapterError.unsupportedOption(key: "init_lora_weights", value: "pissa on convolution '\(path)'") }
        try super.addAdapter(name, settings: settings, path: path, generator: &generator)
        let shape = base.weight.shape   // [C_out, C_in, kH, kW]
        let matrix = Tensor.zeros([shape[0], shape[1] * shape[2] * shape[3]])
        let (a, b, _) = LoRAInitializer.matrixFactors(weight: matrix, settings: settings, generator: &generator)
        registerFactor("lora_A", adapter: name, a.reshaped([settings.rank, shape[1], shape[2], shape[3]]).contiguous())
        registerFactor("lora_B", adapter: name, b.reshaped([shape[0], settings.rank, 1, 1]).contiguous())
        if settings.useDoRA { addMagnitude(adapter: name) }
    }

    /// B·A reshaped to the kernel [C_out, C_in, kH, kW], times s.
    public override func deltaWeight(adapter: String) -> Tensor {
        let (a, b) = (factor("lora_A", adapter), factor("lora_B", adapter))
        let rank = a.shape[0]
        return (matmul(b.reshaped([-1, rank]), a.reshaped([rank, -1])) * scaling(of: adapter)).reshaped(base.weight.shape)
    }

    /// ‖W + ΔW‖ over all but the output axis, shaped [1, C_out, 1, 1] as PEFT keeps it.
    override func doraWeightNorm(adapter: String, weight: Tensor) -> Tensor {
        (weight + deltaWeight(adapter: adapter)).squared().sum(axes: [1, 2, 3]).sqrt().reshaped([1, -1, 1, 1])
    }

    override func doraMergeFactor(adapter: String, norm: Tensor) -> Tensor {
        (magnitude(adapter) / norm).reshaped([-1, 1, 1, 1])
    }

    /// x: [N, C_in, H, W] -> [N, C_out, H', W']
    public override func callAsFunction(_ input: Tensor) -> Tensor {
        var result = base(input)
        for adapter in adaptersToApply {
            let x = dropped(input, adapter: adapter)
            let reduced = conv2d(x, weight: factor("lora_A", adapter), stride: base.stride, padding: base.padding)
            let update = conv2d(reduced, weight: factor("lora_B", adapter))
            guard usesDoRA(adapter) else {
                result = result + update * scaling(of: adapter)
                continue
            }
            let norm = Tensor.withoutGradient { doraWeightNorm(adapter: adapter, weight: baseWeight) }.detached()
            let scale = magnitude(adapter) / norm   // [1, C_out, 1, 1]
            let baseResult: Tensor
            if x !== input {
                baseResult = conv2d(x, weight: baseWeight, stride: base.stride, padding: base.padding, dilation: base.dilation)
            } else if let bias = base.bias {
                baseResult = result - bias.reshaped([1, -1, 1, 1])
            } else {
                baseResult = result
            }
            result = result + (scale - 1) * baseResult + scale * update * scaling(of: adapter)
        }
        return result
    }
}

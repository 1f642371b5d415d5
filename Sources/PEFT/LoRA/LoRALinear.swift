import NN
import TensorCore

/// LoRA on a linear layer: y = W x + b + Σ s · B (A dropout(x)), with A [r, C_in], B [C_out, r],
/// s = alpha / r (alpha / sqrt r with rsLoRA); DoRA rescales each output row (see DoRA.swift).
///
/// ```swift
/// let layer = try configuration.adapt(linear, path: "fc1", adapterName: "default", generator: &generator)
/// let y = layer(x)   // x: [..., C_in] -> [..., C_out]
/// ```
public final class LoRALinear: LoRALayer {
    /// Whether the base weight is stored [C_in, C_out] (GPT-2's Conv1D), PEFT's `fan_in_fan_out`.
    public let fanInFanOut: Bool

    init(base: Module, fanInFanOut: Bool) {
        precondition(base is UnaryLayer && base.optionalParameter("weight")?.rank == 2,
                     "LoRALinear: base \(type(of: base)) must be a unary layer with a matrix weight")
        self.fanInFanOut = fanInFanOut
        super.init(base: base)
    }

    /// The base weight as [C_out, C_in].
    var weightOutIn: Tensor { fanInFanOut ? baseWeight.transposed() : baseWeight }

    override func addAdapter(_ name: String, settings: LoRASettings, path: String, generator: inout RandomGenerator) throws {
        try super.addAdapter(name, settings: settings, path: path, generator: &generator)
        let (a, b, residual) = LoRAInitializer.matrixFactors(weight: weightOutIn, settings: settings, generator: &generator)
        registerFactor("lora_A", adapter: name, a)
        registerFactor("lora_B", adapter: name, b)
        if let residual {
            baseLayer.replaceTensor(at: "weight", with: fanInFanOut ? residual.transposed().contiguous() : residual)
        }
        if settings.useDoRA { addMagnitude(adapter: name) }
    }

    public override func deltaWeight(adapter: String) -> Tensor {
        let delta = matmul(factor("lora_B", adapter), factor("lora_A", adapter)) * scaling(of: adapter)   // [C_out, C_in]
        return fanInFanOut ? delta.transposed().contiguous() : delta
    }

    override func doraWeightNorm(adapter: String, weight: Tensor) -> Tensor {
        let delta = matmul(factor("lora_B", adapter), factor("lora_A", adapter)) * scaling(of: adapter)
        let combined = (fanInFanOut ? weight.transposed() : weight) + delta   // [C_out, C_in]
        return combined.squared().sum(axes: [1]).sqrt()   // [C_out]
    }

    override func doraMergeFactor(adapter: String, norm: Tensor) -> Tensor {
        let factor = magnitude(adapter) / norm   // [C_out]
        return fanInFanOut ? factor.reshaped([1, -1]) : factor.reshaped([-1, 1])
    }

    /// x: [..., C_in] -> [..., C_out]
    public override func callAsFunction(_ input: Tensor) -> Tensor {
        let base = baseLayer as! any UnaryLayer
        var result = base(input)
        for adapter in adaptersToApply {
            let x = dropped(input, adapter: adapter)
            let update = matmul(matmul(x, factor("lora_A", adapter).transposed()), factor("lora_B", adapter).transposed())
            if usesDoRA(adapter) {
                result = result + doraCorrection(adapter: adapter, input: x, isDropped: x !== input, baseOutput: result, update: update)
            } else {
                result = result + update * scaling(of: adapter)
            }
        }
        return result
    }

    /// PEFT's DoRA term added to the output: (m/‖W+sBA‖ − 1)·(W x) + m/‖W+sBA‖ · s·B A x, with the
    /// norm detached (DoRA paper §4.3). `W x` is the bias-free base output, recomputed from the
    /// dropped input when dropout is active.
    private func doraCorrection(adapter: String, input: Tensor, isDropped: Bool, baseOutput: Tensor, update: Tensor) -> Tensor {
        let norm = Tensor.withoutGradient { doraWeightNorm(adapter: adapter, weight: baseWeight) }.detached()
        let scale = magnitude(adapter) / norm   // [C_out]
        let baseResult: Tensor
        if isDropped {
            baseResult = matmul(input, weightOutIn.transposed())
        } else if let bias = baseLayer.optionalParameter("bias") {
            baseResult = baseOutput - bias
        } else {
            baseResult = baseOutput
        }
        return (scale - 1) * baseResult + scale * update * scaling(of: adapter)
    }
}

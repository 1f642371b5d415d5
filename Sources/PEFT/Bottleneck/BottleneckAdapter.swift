import NN
import TensorCore

/// One bottleneck adapter: `adapter_down` (Linear C -> m, then the non-linearity, AdapterHub's
/// Sequential) and `adapter_up` (Linear m -> C, zero at the start).
final class BottleneckAdapter: Module {
    let originalLayerNormBefore: Bool
    let residualBeforeLayerNorm: Bool

    init(dimensions: Int, bottleneck: Int, configuration: BottleneckConfiguration, generator: inout RandomGenerator) {
        originalLayerNormBefore = configuration.originalLayerNormBefore
        residualBeforeLayerNorm = configuration.residualBeforeLayerNorm
        super.init()
        let down = Linear(inputDimensions: dimensions, outputDimensions: bottleneck, generator: &generator)
        down.replaceTensor(at: "bias", with: .zeros([bottleneck]))
        register("adapter_down", Sequential([down, Activation(configuration.nonLinearity)]))
        let up = Linear(inputDimensions: bottleneck, outputDimensions: dimensions, generator: &generator)
        up.replaceTensor(at: "weight", with: .zeros([dimensions, bottleneck]))
        up.replaceTensor(at: "bias", with: .zeros([dimensions]))
        register("adapter_up", up)
    }

    /// AdapterHub's `pre_forward`, `forward` and `post_forward` for one adapter.
    /// h: [..., C] sub-block output, x: [..., C] block input -> [..., C]
    func closeResidual(_ h: Tensor, residual x: Tensor, norm: (Tensor) -> Tensor) -> Tensor {
        let input = originalLayerNormBefore ? norm(h + x) : h
        let adapterResidual = residualBeforeLayerNorm ? h : input
        let output = layer("adapter_up")(layer("adapter_down")(input)) + adapterResidual
        return norm(output + x)
    }
}

/// The `adapters` child of a residual block: bottleneck adapters by name, the active one
/// closing the block (`ResidualAdapterHook`).
public final class BottleneckAdapters: Module, AttachedAdapter, ResidualAdapterHook {
    public static let componentName = "adapters"

    public private(set) var adapterNames: [String] = []
    public var activeAdapters: [String] = []
    public var isAdapterDisabled = false

    override init() { super.init() }

    func addAdapter(_ name: String, adapter: BottleneckAdapter) throws {
        if adapterNames.contains(name) { throw AdapterError.duplicateAdapter(name: name) }
        register(name, adapter)
        adapterNames.append(name)
        if activeAdapters.isEmpty { activeAdapters = [name] }
    }

    public func deleteAdapter(_ name: String) {
        adapterNames.removeAll { $0 == name }
        activeAdapters.removeAll { $0 == name }
        removeChild(name)
    }

    public func closeResidual(_ sublayerOutput: Tensor, residual: Tensor, norm: (Tensor) -> Tensor) -> Tensor {
        guard !isAdapterDisabled, let name = activeAdapters.first(where: adapterNames.contains) else {
            return norm(sublayerOutput + residual)
        }
        return child(name, as: BottleneckAdapter.self).closeResidual(sublayerOutput, residual: residual, norm: norm)
    }
}

import NN
import TensorCore

/// A base module (Linear, Conv2d, LayerNorm or RMSNorm) whose selected parameters train as
/// deltas: per adapter `bitfit_delta.<adapter>.<name>` (zero at the start), and the forward
/// pass computes the module with parameter + Σ active deltas.
///
/// ```swift
/// let layer = BitFitLayer(base: linear)
/// try layer.addAdapter("default", parameters: ["bias"])
/// let y = layer(x)   // linear(x) + delta
/// ```
public final class BitFitLayer: Module, AdapterLayer {
    public static let adapterComponentNames = ["bitfit_delta"]

    public private(set) var adapterNames: [String] = []
    public var activeAdapters: [String] = []
    public var isAdapterDisabled = false
    public private(set) var mergedAdapters: [String] = []
    /// The base parameters before the first merge: unmerging puts back these very tensors.
    private var unmergedTensors: [String: Tensor] = [:]

    init(base: Module) {
        precondition(base is Linear || base is Conv2d || base is LayerNorm || base is RMSNorm,
                     "BitFitLayer: \(type(of: base)) is not Linear, Conv2d, LayerNorm or RMSNorm")
        super.init()
        register("base_layer", base)
        register("bitfit_delta", Module())
    }

    public var baseLayer: Module { child("base_layer")! }

    func deltas(_ adapter: String) -> Module { child("bitfit_delta")!.child(adapter)! }

    func addAdapter(_ name: String, parameters: [String]) throws {
        if adapterNames.contains(name) { throw AdapterError.duplicateAdapter(name: name) }
        let holder = Module()
        for parameter in parameters { holder.register(parameter: parameter, .zeros(baseLayer.parameter(parameter).shape)) }
        child("bitfit_delta")!.register(name, holder)
        adapterNames.append(name)
        if activeAdapters.isEmpty { activeAdapters = [name] }
    }

    /// The base parameter `name` plus the unmerged active adapters' deltas.
    private func effective(_ name: String, adapters: [String]) -> Tensor? {
        guard let base = baseLayer.optionalParameter(name) else { return nil }
        return adapters.compactMap { deltas($0).optionalParameter(name) }.reduce(base, +)
    }

    /// x: the base module's input -> its output
    public func callAsFunction(_ input: Tensor) -> Tensor {
        var applied: [String] = []
        if isAdapterDisabled {
            if isMerged { unmerge() }
        } else {
            applied = activeAdapters.filter { adapterNames.contains($0) && !mergedAdapters.contains($0) }
        }
        switch baseLayer {
        case let norm as LayerNorm:
            return layerNorm(input, weight: effective("weight", adapters: applied), bias: effective("bias", adapters: applied), epsilon: norm.epsilon)
        case let norm as RMSNorm:
            return rmsNorm(input, weight: effective("weight", adapters: applied), epsilon: norm.epsilon)
        default:
            let output = (baseLayer as! any UnaryLayer)(input)
            let biasDeltas = applied.compactMap { deltas($0).optionalParameter("bias") }
            guard let first = biasDeltas.first else { return output }
            let delta = biasDeltas.dropFirst().reduce(first, +)
            // Linear: [..., C_out]; Conv2d: [N, C_out, H, W].
            return output + (baseLayer is Conv2d ? delta.reshaped([-1, 1, 1]) : delta)
        }
    }

    public func merge(adapterNames names: [String]? = nil) throws {
        let toMerge = (names ?? activeAdapters).filter { !mergedAdapters.contains($0) }
        for name in toMerge where !adapterNames.contains(name) {
            throw AdapterError.unknownAdapter(name: name, known: adapterNames)
        }
        guard !toMerge.isEmpty else { return }
        Tensor.withoutGradient {
            for name in baseLayer.parameterNames {
                guard let merged = effective(name, adapters: toMerge), merged !== baseLayer.parameter(name) else { continue }
                if unmergedTensors[name] == nil { unmergedTensors[name] = baseLayer.parameter(name) }
                baseLayer.replaceTensor(at: name, with: merged.contiguous())
            }
        }
        mergedAdapters += toMerge
    }

    public func unmerge() {
        for (name, tensor) in unmergedTensors { baseLayer.replaceTensor(at: name, with: tensor) }
        unmergedTensors = [:]
        mergedAdapters = []
    }

    public func deleteAdapter(_ name: String) {
        precondition(!mergedAdapters.contains(name), "deleteAdapter: '\(name)' is merged; unmerge first")
        adapterNames.removeAll { $0 == name }
        activeAdapters.removeAll { $0 == name }
        register("bitfit_delta", removingChild(name, from: child("bitfit_delta")!))
    }

    /// The change of `weight` (zero when only the bias trains).
    public func deltaWeight(adapter: String) -> Tensor {
        deltas(adapter).optionalParameter("weight") ?? .zeros(baseLayer.parameter("weight").shape)
    }
}

import NN
import TensorCore

/// The per-module LoRA settings after `rank_pattern` / `alpha_pattern`.
struct LoRASettings: Equatable, Sendable {
    var rank: Int
    var alpha: Double
    var scaling: Float
    var dropout: Float
    var initialization: LoRAInitialization
    var useDoRA: Bool
    var fanInFanOut: Bool
}

/// A module holding one tensor as its parameter `weight` (PEFT's `lora_A.<adapter>` Linear,
/// `lora_magnitude_vector.<adapter>`), so in-memory paths match PEFT's.
final class WeightHolder: Module {
    init(_ weight: Tensor) {
        super.init()
        register(parameter: "weight", weight)
    }

    var weight: Tensor { parameter("weight") }
}

/// What LoRA layers share: the base layer, named adapters with their settings, which are
/// active, merging into and restoring the base weight, and LoRA dropout.
///
/// Children: `base_layer`, and per adapter `lora_A.<name>.weight`, `lora_B.<name>.weight`,
/// `lora_magnitude_vector.<name>.weight` (DoRA), as PEFT names them in memory.
public class LoRALayer: Module, AdapterLayer, RandomizedLayer {
    public static let adapterComponentNames = ["lora_A", "lora_B", "lora_embedding_A", "lora_embedding_B", "lora_magnitude_vector"]

    public private(set) var adapterNames: [String] = []
    var settings: [String: LoRASettings] = [:]
    public var activeAdapters: [String] = []
    public var isAdapterDisabled = false
    public private(set) var mergedAdapters: [String] = []
    /// The base weight before the first merge: unmerging puts back this very tensor.
    private var unmergedWeight: Tensor?
    /// Drives LoRA dropout masks; seeded, so runs repeat (trainers reseed and checkpoint it).
    public var generator: RandomGenerator

    init(base: Module) {
        var seeder = RandomGenerator(seed: 0x10_4A)
        generator = RandomGenerator(seed: seeder.next())
        super.init()
        register("base_layer", base)
    }

    public var baseLayer: Module { child("base_layer")! }
    var baseWeight: Tensor { baseLayer.parameter("weight") }

    /// Rank, alpha and scaling of an adapter.
    public func rank(of adapter: String) -> Int { settings[adapter]!.rank }
    public func scaling(of adapter: String) -> Float { settings[adapter]!.scaling }
    public func usesDoRA(_ adapter: String) -> Bool { settings[adapter]!.useDoRA }

    /// The magnitude vector of a DoRA adapter.
    func magnitude(_ adapter: String) -> Tensor {
        child("lora_magnitude_vector")!.child(adapter, as: WeightHolder.self).weight
    }

    /// Subclasses create the factors (and DoRA magnitude) of a new adapter.
    func addAdapter(_ name: String, settings: LoRASettings, path: String, generator: inout RandomGenerator) throws {
        precondition(settings.rank > 0, "LoRA rank must be positive, got \(settings.rank) at '\(path)'")
        if adapterNames.contains(name) { throw AdapterError.duplicateAdapter(name: name) }
        adapterNames.append(name)
        self.settings[name] = settings
        if activeAdapters.isEmpty { activeAdapters = [name] }
    }

    /// Registers `tensor` as `<component>.<adapter>.weight`.
    func registerFactor(_ component: String, adapter: String, _ tensor: Tensor) {
        if child(component) == nil { register(component, Module()) }
        child(component)!.register(adapter, WeightHolder(tensor))
    }

    func factor(_ component: String, _ adapter: String) -> Tensor {
        child(component)!.child(adapter, as: WeightHolder.self).weight
    }

    /// The two factors of an adapter: A [r, ...] and B [..., r, ...] (`lora_A` / `lora_B`, or the
    /// embedding tables).
    func factors(_ adapter: String) -> (a: Tensor, b: Tensor) {
        (factor("lora_A", adapter), factor("lora_B", adapter))
    }

    /// Replaces an adapter's factors (combining adapters); shapes may change with the rank.
    func setFactors(_ adapter: String, a: Tensor, b: Tensor) {
        registerFactor("lora_A", adapter: adapter, a)
        registerFactor("lora_B", adapter: adapter, b)
    }

    /// Initialises the DoRA magnitude to the per-output norm of W + s·ΔW.
    func addMagnitude(adapter: String) {
        let norm = Tensor.withoutGradient { doraWeightNorm(adapter: adapter, weight: baseWeight) }
        registerFactor("lora_magnitude_vector", adapter: adapter, norm.detached())
    }

    public func deltaWeight(adapter: String) -> Tensor { fatalError("subclass") }

    /// Per output channel norm of (W + ΔW) in the magnitude's shape; W in the base layout.
    func doraWeightNorm(adapter: String, weight: Tensor) -> Tensor { fatalError("subclass") }

    /// DoRA's factor m / ||W + ΔW|| broadcast against the base weight, for merging.
    func doraMergeFactor(adapter: String, norm: Tensor) -> Tensor { fatalError("subclass") }

    public func callAsFunction(_ input: Tensor) -> Tensor { fatalError("subclass") }

    /// The active adapters that are not merged, the ones the forward pass adds.
    var adaptersToApply: [String] {
        if isAdapterDisabled {
            if isMerged { unmerge() }
            return []
        }
        return activeAdapters.filter { settings[$0] != nil && !mergedAdapters.contains($0) }
    }

    /// Inverted dropout in training mode, identity otherwise (the backward pass keeps one byte
    /// per element, not a float mask).
    func dropped(_ input: Tensor, adapter: String) -> Tensor {
        let probability = settings[adapter]!.dropout
        guard isTraining, probability > 0 else { return input }
        return input.dropout(probability: probability, generator: &generator)
    }

    // MARK: Merging

    public func merge(adapterNames names: [String]? = nil) throws {
        let toMerge = (names ?? activeAdapters).filter { !mergedAdapters.contains($0) }
        for name in toMerge where settings[name] == nil {
            throw AdapterError.unknownAdapter(name: name, known: adapterNames)
        }
        guard !toMerge.isEmpty else { return }
        if unmergedWeight == nil { unmergedWeight = baseWeight }
        let merged = Tensor.withoutGradient {
            toMerge.reduce(baseWeight) { weight, adapter in
                let delta = deltaWeight(adapter: adapter)
                guard usesDoRA(adapter) else { return (weight + delta).contiguous() }
                let norm = doraWeightNorm(adapter: adapter, weight: weight)
                return ((weight + delta) * doraMergeFactor(adapter: adapter, norm: norm)).contiguous()
            }
        }
        baseLayer.replaceTensor(at: "weight", with: merged)
        mergedAdapters += toMerge
    }

    public func unmerge() {
        guard let original = unmergedWeight else { return }
        baseLayer.replaceTensor(at: "weight", with: original)
        unmergedWeight = nil
        mergedAdapters = []
    }

    public func deleteAdapter(_ name: String) {
        precondition(!mergedAdapters.contains(name), "deleteAdapter: '\(name)' is merged; unmerge first")
        adapterNames.removeAll { $0 == name }
        settings[name] = nil
        activeAdapters.removeAll { $0 == name }
        for component in Self.adapterComponentNames {
            guard let container = child(component) else { continue }
            if container.optionalParameter(name) != nil { container.removeParameter(name) }
            guard container.child(name) != nil else { continue }
            let kept = Module()
            for other in container.childNames where other != name { kept.register(other, container.child(other)!) }
            register(component, kept)
        }
    }
}

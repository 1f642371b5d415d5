import NN
import TensorCore

/// A model with adapters injected, as Python PEFT's `PeftModel`: named adapters, one active,
/// each with its configuration. The model tree is changed in place (targeted layers become
/// adapter layers at the same paths), so the model's own forward pass runs the adapters.
///
/// ```swift
/// var configuration = LoRAConfiguration(rank: 8, alpha: 16, targetModules: .names(["query", "value"]))
/// configuration.modulesToSave = ["classifier"]
/// let peft = try PeftModel(model: classifier, configuration: configuration)
/// print(peft.trainableParameterReport())   // trainable params: 74,498 || all params: ...
/// let logits = classifier(batch)           // runs LoRA
/// try peft.save(to: folder)                 // adapter_config.json + adapter_model.safetensors
/// ```
public final class PeftModel {
    /// The model with adapter layers in it.
    public let model: Module
    /// Configurations by adapter name (target_modules resolved as PEFT stores them).
    public internal(set) var configurations: [String: any AdapterConfiguration] = [:]
    /// Adapter names in the order they were added.
    public internal(set) var adapterNames: [String] = []
    /// The adapter the forward pass uses and training updates.
    public private(set) var activeAdapter: String

    /// Injects a first adapter into `model`. Random factors come from `generator`.
    public init(model: Module, configuration: some AdapterConfiguration, adapterName: String = "default",
                generator: inout RandomGenerator) throws {
        self.model = model
        self.activeAdapter = adapterName
        try addAdapter(adapterName, configuration: configuration, generator: &generator)
    }

    public convenience init(model: Module, configuration: some AdapterConfiguration, adapterName: String = "default",
                            seed: UInt64 = 0) throws {
        var generator = RandomGenerator(seed: seed)
        try self.init(model: model, configuration: configuration, adapterName: adapterName, generator: &generator)
    }

    /// Adapter layers by path.
    public var adapterLayers: [(path: String, layer: any AdapterLayer)] {
        model.namedModules().compactMap { path, module in (module as? any AdapterLayer).map { (path, $0) } }
    }

    /// `modules_to_save` wrappers by path.
    public var modulesToSaveWrappers: [(path: String, wrapper: ModulesToSaveWrapper)] {
        model.namedModules().compactMap { path, module in (module as? ModulesToSaveWrapper).map { (path, $0) } }
    }

    /// Adds adapter `name`: adapts every targeted module and wraps `modules_to_save`. It does not
    /// become active (call `setActiveAdapter`), except for the first adapter.
    public func addAdapter(_ name: String, configuration: some AdapterConfiguration,
                           generator: inout RandomGenerator) throws {
        guard configurations[name] == nil else { throw AdapterError.duplicateAdapter(name: name) }
        let paths = configuration.targets.targetPaths(in: model, taskType: configuration.taskType)
        guard !paths.isEmpty else {
            throw AdapterError.noTargetFound(targets: "\(configuration.targets.targetModules.map { "\($0.json)" } ?? "none")",
                                             examplePaths: model.namedModules().map(\.path).filter { !$0.isEmpty })
        }
        for path in paths {
            let module = model.module(at: path)!
            let layer = try configuration.adapt(module, path: path, adapterName: name, generator: &generator)
            if layer !== module { model.replaceModule(at: path, with: layer) }
        }
        for path in modulesToSavePaths(configuration) {
            let wrapper = (model.module(at: path) as? ModulesToSaveWrapper) ?? {
                let made = ModulesToSaveWrapper(original: model.module(at: path)!)
                model.replaceModule(at: path, with: made)
                return made
            }()
            try wrapper.addCopy(for: name, path: path)
        }
        configurations[name] = configuration.resolvingTargets(paths)
        adapterNames.append(name)
        if adapterNames.count == 1 { activeAdapter = name }
        applyActiveAdapter()
    }

    /// PEFT's `_set_trainable` rule: a module is saved when its path ends with a `modules_to_save` entry.
    private func modulesToSavePaths(_ configuration: some AdapterConfiguration) -> [String] {
        var names = configuration.targets.modulesToSave ?? []
        if configuration.taskType == "SEQ_CLS" { names += ["classifier", "score"].filter { !names.contains($0) } }
        guard !names.isEmpty else { return [] }
        var result: [String] = []
        for (path, module) in model.namedModules() where !path.isEmpty {
            if result.contains(where: { path.hasPrefix($0 + ".") }) { continue }
            if path.split(separator: ".").contains(where: { $0 == "modules_to_save" || $0 == "original_module" }) { continue }
            if names.contains(where: { path == $0 || path.hasSuffix("." + $0) }), !(module is any AdapterLayer) {
                result.append(path)
            }
        }
        return result
    }

    /// Makes `name` the adapter the forward pass uses and the only one that trains.
    public func setActiveAdapter(_ name: String) throws {
        guard configurations[name] != nil else { throw AdapterError.unknownAdapter(name: name, known: adapterNames) }
        activeAdapter = name
        applyActiveAdapter()
    }

    /// Runs `body` with every adapter bypassed (the base model's output), then restores them.
    public func withAdaptersDisabled<Result>(_ body: () throws -> Result) rethrows -> Result {
        setAdaptersDisabled(true)
        defer { setAdaptersDisabled(false) }
        return try body()
    }

    private func setAdaptersDisabled(_ disabled: Bool) {
        for (_, layer) in adapterLayers { layer.isAdapterDisabled = disabled }
        for (_, wrapper) in modulesToSaveWrappers { wrapper.isAdapterDisabled = disabled }
    }

    /// Removes an adapter; layers left without adapters become their base layers again.
    public func deleteAdapter(_ name: String) throws {
        guard configurations[name] != nil else { throw AdapterError.unknownAdapter(name: name, known: adapterNames) }
        for (path, layer) in adapterLayers where layer.adapterNames.contains(name) {
            if layer.mergedAdapters.contains(name) { layer.unmerge() }
            layer.deleteAdapter(name)
            if layer.adapterNames.isEmpty { model.replaceModule(at: path, with: layer.baseLayer) }
        }
        for (path, wrapper) in modulesToSaveWrappers where wrapper.adapterNames.contains(name) {
            wrapper.deleteCopy(for: name)
            if wrapper.adapterNames.isEmpty { model.replaceModule(at: path, with: wrapper.originalModule) }
        }
        configurations[name] = nil
        adapterNames.removeAll { $0 == name }
        if activeAdapter == name, let first = adapterNames.first { activeAdapter = first }
        applyActiveAdapter()
    }

    /// Points every layer at the active adapter and sets trainability as PEFT does: everything
    /// frozen except the active adapter's tensors, its `modules_to_save` copies and the biases
    /// its `bias` option names (nothing trains in inference mode).
    func applyActiveAdapter() {
        for (_, layer) in adapterLayers { layer.activeAdapters = layer.adapterNames.contains(activeAdapter) ? [activeAdapter] : [] }
        for (_, wrapper) in modulesToSaveWrappers { wrapper.activeAdapter = activeAdapter }
        model.freeze()
        guard let configuration = configurations[activeAdapter], !configuration.inferenceMode else { return }
        let trainable = Set(adapterParameterPaths(activeAdapter).map(\.path) + configuration.extraTrainableParameterPaths(in: model))
        for (path, tensor) in model.namedParameters() where trainable.contains(path) { tensor.requiringGradient(true) }
    }

    /// The in-memory parameters that belong to an adapter with their saved keys (PEFT's names
    /// without the `base_model.model.` prefix).
    func adapterParameterPaths(_ adapter: String) -> [(path: String, savedKey: String)] {
        model.namedParameters().compactMap { path, _ in savedKey(forPath: path, adapter: adapter).map { (path, $0) } }
    }

    /// PEFT's `_remove_adapter_name_from_key`: `x.lora_A.<a>.weight` -> `x.lora_A.weight`,
    /// `x.lora_magnitude_vector.<a>.weight` -> `x.lora_magnitude_vector`,
    /// `x.modules_to_save.<a>.weight` -> `x.weight`; nil when the path is not the adapter's.
    func savedKey(forPath path: String, adapter: String) -> String? {
        var components = path.split(separator: ".").map(String.init)
        let owners = Set(LoRALayer.adapterComponentNames + ["modules_to_save"])
        guard let index = components.indices.dropLast().first(where: { owners.contains(components[$0]) && components[$0 + 1] == adapter })
        else { return nil }
        switch components[index] {
        case "modules_to_save": components.removeSubrange(index...(index + 1))
        case "lora_magnitude_vector": components.removeSubrange((index + 1)...)
        default: components.remove(at: index + 1)
        }
        return components.joined(separator: ".")
    }
}

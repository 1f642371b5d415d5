import NN
import TensorCore

extension PeftModel {
    /// Adds the adapters' weight updates into the base weights (the active adapter when nil);
    /// the forward pass then costs what the base model costs.
    public func merge(adapterNames names: [String]? = nil) throws {
        let selected = names ?? [activeAdapter]
        for name in selected where configurations[name] == nil {
            throw AdapterError.unknownAdapter(name: name, known: adapterNames)
        }
        for (_, layer) in adapterLayers {
            try layer.merge(adapterNames: selected.filter(layer.adapterNames.contains))
        }
    }

    /// Puts back the base weights as they were before merging (the very same tensors).
    public func unmerge() {
        for (_, layer) in adapterLayers { layer.unmerge() }
    }

    /// Merges the active adapter and returns the plain model: adapter layers replaced by their
    /// (merged) base layers, `modules_to_save` by the active adapter's copy.
    @discardableResult
    public func mergeAndUnload() throws -> Module {
        try merge()
        return unwrap(keepingActiveCopies: true)
    }

    /// Removes every adapter and returns the base model with its original weights, bit for bit
    /// (the same tensor objects), merged or not.
    @discardableResult
    public func unload() -> Module {
        unmerge()
        return unwrap(keepingActiveCopies: false)
    }

    private func unwrap(keepingActiveCopies: Bool) -> Module {
        for (path, layer) in adapterLayers.reversed() { model.replaceModule(at: path, with: layer.baseLayer) }
        for (path, wrapper) in modulesToSaveWrappers.reversed() {
            model.replaceModule(at: path, with: keepingActiveCopies ? wrapper.current : wrapper.originalModule)
        }
        configurations = [:]
        adapterNames = []
        return model
    }

    /// The merged model's weights under the base model's own keys (`encoder.layer.0...query.weight`),
    /// without changing this model: a plain state dict that transformers loads.
    ///
    /// ```swift
    /// try SafetensorsWriter.write(try peft.mergedStateDict(), metadata: ["format": "pt"], to: url)
    /// ```
    public func mergedStateDict(adapterNames names: [String]? = nil) throws -> [String: Tensor] {
        let wasMerged = adapterLayers.contains { $0.layer.isMerged }
        if !wasMerged { try merge(adapterNames: names) }
        defer { if !wasMerged { unmerge() } }
        var result: [String: Tensor] = [:]
        for (path, tensor) in model.namedParameters() + model.namedBuffers() {
            if let key = baseModelKey(forPath: path) { result[key] = tensor.contiguous() }
        }
        return result
    }

    /// The key a tensor has in the plain model, or nil for adapter tensors and unused copies.
    func baseModelKey(forPath path: String) -> String? {
        var components = path.split(separator: ".").map(String.init)
        if components.contains(where: LoRALayer.adapterComponentNames.contains) || components.contains("original_module") {
            return nil
        }
        if let index = components.firstIndex(of: "modules_to_save") {
            guard index + 1 < components.count, components[index + 1] == activeAdapter else { return nil }
            components.removeSubrange(index...(index + 1))
        }
        components.removeAll { $0 == "base_layer" }
        return components.joined(separator: ".")
    }
}

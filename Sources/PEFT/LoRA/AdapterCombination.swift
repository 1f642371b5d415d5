import NN
import TensorCore

/// How `addWeightedAdapter` combines LoRA adapters (PEFT's `combination_type`).
public enum AdapterCombination: String, Sendable {
    /// A = Σ sign(wᵢsᵢ)·sqrt|wᵢsᵢ|·Aᵢ, B = Σ sqrt|wᵢsᵢ|·Bᵢ; every adapter must have the same rank.
    case linear
    /// A = [wᵢsᵢ·Aᵢ] stacked along the rank, B = [Bᵢ] side by side: exact, rank = Σ rᵢ.
    case concatenation = "cat"
}

extension PeftModel {
    /// Adds adapter `name` combining LoRA `adapters` with `weights`, as PEFT's
    /// `add_weighted_adapter`. The new adapter has alpha = rank (scaling 1 without rsLoRA), targets
    /// the union of the adapters' targets, and is not made active.
    ///
    /// ```swift
    /// try peft.addWeightedAdapter(["sst2", "imdb"], weights: [0.7, 0.3], name: "blend", combination: .concatenation)
    /// try peft.setActiveAdapter("blend")
    /// ```
    public func addWeightedAdapter(_ adapters: [String], weights: [Float], name: String,
                                   combination requested: AdapterCombination) throws {
        precondition(adapters.count == weights.count, "addWeightedAdapter: \(adapters.count) adapters but \(weights.count) weights")
        if configurations[name] != nil { throw AdapterError.duplicateAdapter(name: name) }
        let sources = try adapters.map { adapter -> LoRAConfiguration in
            guard let configuration = configurations[adapter] else { throw AdapterError.unknownAdapter(name: adapter, known: adapterNames) }
            guard let lora = configuration as? LoRAConfiguration else {
                throw AdapterError.incompatibleAdapters(reason: "'\(adapter)' is not a LoRA adapter")
            }
            if lora.useDoRA { throw AdapterError.incompatibleAdapters(reason: "'\(adapter)' uses DoRA") }
            return lora
        }
        guard !sources.isEmpty else { throw AdapterError.incompatibleAdapters(reason: "no adapters given") }
        let combination = adapters.count == 1 ? .linear : requested
        let ranks = sources.map { max($0.rank, $0.rankPattern.values.max() ?? 0) }
        if combination == .linear && Set(ranks).count != 1 {
            throw AdapterError.incompatibleAdapters(reason: "linear combination needs equal ranks, got \(ranks)")
        }
        var configuration = sources[0]
        configuration.rank = combination == .linear ? ranks[0] : ranks.reduce(0, +)
        configuration.alpha = Double(configuration.rank)
        configuration.rankPattern = [:]
        configuration.alphaPattern = [:]
        configuration.initialization = .standard
        configuration.targetModules = try unionOfTargets(sources.map(\.targetModules))
        var generator = RandomGenerator(seed: 0)
        try addAdapter(name, configuration: configuration, generator: &generator)

        for (_, layer) in adapterLayers {
            guard let lora = layer as? LoRALayer, lora.adapterNames.contains(name) else { continue }
            let present = zip(adapters, weights).filter { lora.adapterNames.contains($0.0) }
            guard !present.isEmpty else { continue }
            let (a0, b0) = lora.factors(name)
            let (a, b): (Tensor, Tensor) = Tensor.withoutGradient {
                switch combination {
                case .concatenation:
                    let a = concatenate(present.map { lora.factors($0.0).a * ($0.1 * lora.scaling(of: $0.0)) }, axis: 0)
                    let b = concatenate(present.map { lora.factors($0.0).b }, axis: 1)
                    return (a.padded(axis: 0, before: 0, after: a0.shape[0] - a.shape[0]).contiguous(),
                            b.padded(axis: 1, before: 0, after: b0.shape[1] - b.shape[1]).contiguous())
                case .linear:
                    let terms = present.map { adapter, weight -> (Tensor, Tensor) in
                        let product = weight * lora.scaling(of: adapter)
                        let root = abs(product).squareRoot()
                        return (lora.factors(adapter).a * (product >= 0 ? root : -root), lora.factors(adapter).b * root)
                    }
                    return (terms.dropFirst().reduce(terms[0].0) { $0 + $1.0 }.contiguous(),
                            terms.dropFirst().reduce(terms[0].1) { $0 + $1.1 }.contiguous())
                }
            }
            lora.setFactors(name, a: a, b: b)
        }
        applyActiveAdapter()
    }

    private func unionOfTargets(_ targets: [ModuleSelection?]) throws -> ModuleSelection? {
        let selections = targets.compactMap { $0 }
        if selections.allSatisfy({ if case .names = $0 { true } else { false } }) {
            var names: [String] = []
            for case let .names(list) in selections { names += list.filter { !names.contains($0) } }
            return .names(names)
        }
        if selections.allSatisfy({ if case .pattern = $0 { true } else { false } }) {
            return .pattern(selections.map { if case let .pattern(text) = $0 { "(\(text))" } else { "" } }.joined(separator: "|"))
        }
        throw AdapterError.incompatibleAdapters(reason: "target_modules mix a regular expression and a list")
    }
}

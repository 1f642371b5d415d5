import Foundation
import NN
import PEFT
import TensorCore
import Testing

/// The method test matrix: LoRA, rsLoRA and DoRA on a tiny MLP and a tiny CNN.
@Suite struct LoRAPropertyTests {
    enum Variant: String, CaseIterable { case lora, rslora, dora }

    static func configuration(_ variant: Variant, targets: [String]) -> LoRAConfiguration {
        var configuration = LoRAConfiguration(rank: 2, alpha: 4, targetModules: .names(targets), initialization: .random,
                                              useRSLoRA: variant == .rslora, useDoRA: variant == .dora)
        configuration.modulesToSave = targets.contains("fc1") ? ["classifier"] : nil
        return configuration
    }

    static let cases: [(Variant, Bool)] = Variant.allCases.flatMap { [($0, false), ($0, true)] }

    static func makeModel(convolution: Bool) -> (Module & UnaryLayer, Tensor, [String]) {
        convolution
            ? (TinyConv(seed: 5), Tensor.randomNormal([2, 2, 6, 6], seed: 6), ["conv1", "conv2"])
            : (TinyMLP(seed: 5), Tensor.randomNormal([4, 6], seed: 6), ["fc1", "fc2"])
    }

    @Test(arguments: cases)
    func properties(variant: Variant, convolution: Bool) throws {
        let (model, input, targets) = Self.makeModel(convolution: convolution)
        model.setTraining(false)
        let baseWeights = model.stateDict()
        let baseOutput = model(input)
        let peft = try PeftModel(model: model, configuration: Self.configuration(variant, targets: targets), seed: 7)

        // Only adapter tensors (and the modules_to_save copy) train.
        for (path, tensor) in model.namedParameters() {
            let isAdapter = path.contains("lora_") || path.contains("modules_to_save")
            #expect(tensor.requiresGradient == isAdapter, "\(path)")
        }
        let adapted = Tensor.withoutGradient { model(input) }
        #expect(maxAbsoluteDifferenceOf(adapted, baseOutput) > 1e-3, "the adapter changes the output")
        #expect(maxAbsoluteDifferenceOf(peft.withAdaptersDisabled { model(input) }, baseOutput) == 0)

        // Merged output equals unmerged; unmerge restores the weights.
        try peft.merge()
        #expect(maxAbsoluteDifferenceOf(Tensor.withoutGradient { model(input) }, adapted) < 1e-5)
        peft.unmerge()
        for (path, layer) in peft.adapterLayers {
            #expect(layer.baseLayer.parameter("weight") === baseWeights[path + ".weight"], "unmerge restores \(path).weight")
        }

        // Save/load round trip reproduces the outputs.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpeft-\(variant)-\(convolution)-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        try peft.save(to: folder)
        let (fresh, _, _) = Self.makeModel(convolution: convolution)
        fresh.setTraining(false)
        _ = try PeftModel.load(from: folder, into: fresh)
        #expect(maxAbsoluteDifferenceOf(Tensor.withoutGradient { fresh(input) }, adapted) < 1e-6)

        // Merged export: a plain state dict with the base keys that reproduces the adapted output.
        let merged = try peft.mergedStateDict()
        #expect(Set(merged.keys) == Set(baseWeights.keys))
        let (plain, _, _) = Self.makeModel(convolution: convolution)
        plain.setTraining(false)
        try plain.load(stateDict: merged)
        #expect(maxAbsoluteDifferenceOf(Tensor.withoutGradient { plain(input) }, adapted) < 1e-5)

        // Unload gives back the very base tensors.
        let unloaded = peft.unload()
        for (path, tensor) in unloaded.stateDict() { #expect(tensor === baseWeights[path], "\(path) is the original tensor") }
    }

    @Test func namedAdaptersSwitchDisableDeleteAndCombine() throws {
        let model = TinyMLP(seed: 5)
        model.setTraining(false)
        let input = Tensor.randomNormal([4, 6], seed: 6)
        let base = model(input)
        let first = LoRAConfiguration(rank: 2, alpha: 4, targetModules: .names(["fc1", "fc2"]), initialization: .random)
        let peft = try PeftModel(model: model, configuration: first, adapterName: "first", seed: 1)
        var generator = RandomGenerator(seed: 2)
        try peft.addAdapter("second", configuration: first, generator: &generator)
        let outputFirst = Tensor.withoutGradient { model(input) }
        try peft.setActiveAdapter("second")
        let outputSecond = Tensor.withoutGradient { model(input) }
        #expect(maxAbsoluteDifferenceOf(outputFirst, outputSecond) > 1e-3)
        // Only the active adapter trains.
        #expect(model.trainableParameters().allSatisfy { $0.path.contains(".second.") })

        // "cat" of one adapter with weight 1 reproduces it exactly; "linear" needs equal ranks.
        try peft.addWeightedAdapter(["first"], weights: [1], name: "copy", combination: .concatenation)
        try peft.setActiveAdapter("copy")
        #expect(maxAbsoluteDifferenceOf(Tensor.withoutGradient { model(input) }, outputFirst) < 1e-5)
        try peft.addWeightedAdapter(["first", "second"], weights: [0.5, 0.5], name: "mix", combination: .linear)
        try peft.addWeightedAdapter(["first", "second"], weights: [1, 1], name: "both", combination: .concatenation)
        try peft.setActiveAdapter("both")
        let both = Tensor.withoutGradient { model(input) }
        #expect(both.shape == base.shape)

        try peft.deleteAdapter("first")
        #expect(throws: AdapterError.unknownAdapter(name: "first", known: peft.adapterNames)) { try peft.setActiveAdapter("first") }
        #expect(peft.adapterNames == ["second", "copy", "mix", "both"])
        #expect(maxAbsoluteDifferenceOf(peft.withAdaptersDisabled { model(input) }, base) == 0)
    }

    @Test func embeddingLoRAMergesAndUnloads() throws {
        let model = TinyEmbedder(seed: 3)
        let ids = [1, 4, 9, 0, 4, 2], shape = [2, 3]
        let base = model(ids, shape: shape)
        let peft = try PeftModel(model: model, configuration: LoRAConfiguration(rank: 2, alpha: 2, targetModules: .names(["embed"]), initialization: .random))
        let adapted = Tensor.withoutGradient { model(ids, shape: shape) }
        #expect(maxAbsoluteDifferenceOf(adapted, base) > 1e-3)
        #expect(try peft.adapterStateDict().keys.sorted() == ["base_model.model.embed.lora_embedding_A", "base_model.model.embed.lora_embedding_B"])
        try peft.merge()
        #expect(maxAbsoluteDifferenceOf(Tensor.withoutGradient { model(ids, shape: shape) }, adapted) < 1e-5)
        peft.unload()
        #expect(maxAbsoluteDifferenceOf(model(ids, shape: shape), base) == 0)
    }

    @Test func pissaKeepsTheOutputAndLeavesTheResidual() throws {
        let model = TinyMLP(seed: 5)
        model.setTraining(false)
        let input = Tensor.randomNormal([4, 6], seed: 6)
        let base = model(input)
        let original = model.child("fc2", as: Linear.self).weight
        _ = try PeftModel(model: model, configuration: LoRAConfiguration(rank: 3, alpha: 6, targetModules: .names(["fc2"]), initialization: .pissa))
        #expect(maxAbsoluteDifferenceOf(Tensor.withoutGradient { model(input) }, base) < 1e-5)
        let layer = model.child("fc2") as! LoRALinear
        let reconstructed = layer.baseLayer.parameter("weight") + layer.deltaWeight(adapter: "default")
        #expect(maxAbsoluteDifferenceOf(reconstructed, original) < 1e-5)
    }
}

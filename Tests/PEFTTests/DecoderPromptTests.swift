import Foundation
import Formats
import Models
import NN
import PEFT
import TensorCore
import Testing
import TestSupport

/// Prompt and prefix tuning on the decoders (LLaMA with grouped-query attention, GPT-2) against
/// PEFT's `PeftModelForCausalLM` (scripts/fixtures/decoder_prompts.py), and generation with a
/// key/value cache against the uncached forward pass.
@Suite(.serialized) struct DecoderPromptTests {
    static let cases = ["llama_prompt_tuning", "llama_prefix_tuning", "llama_prefix_projection",
                        "gpt2_prompt_tuning", "gpt2_prefix_tuning", "gpt2_prefix_projection"]

    static func loadBase(_ name: String) throws -> any CausalLanguageModel {
        let folder = fixtureURL("decoder_prompts/" + (name.hasPrefix("llama") ? "llama" : "gpt2"))
        let model: any CausalLanguageModel = name.hasPrefix("llama") ? try LlamaModel.load(from: folder) : try GPT2Model.load(from: folder)
        model.setTraining(false)
        return model
    }

    static func integers(_ tensor: Tensor) -> [Int] { tensor.toArray().map { Int($0) } }

    /// Logits on the real positions within 1e-4 of PEFT's; without projection, the table's
    /// gradient of sum(logits · weights) within 1e-4 relative of PyTorch's.
    @Test(arguments: cases)
    func matchesPEFT(name: String) throws {
        let fixture = try PeftFixture("decoder_prompts/" + name)
        let model = try Self.loadBase(name)
        let gradients = !name.hasSuffix("projection")
        let peft = try PeftModel.load(from: fixture.folder, into: model, isTrainable: gradients)
        let ids = try fixture.tensor("input_ids")
        let logits = model(ids: Self.integers(ids), batchSize: ids.shape[0], attentionMask: Self.integers(try fixture.tensor("attention_mask")))
        let difference = maxAbsoluteDifferenceOf(logits, try fixture.tensor("logits"))
        #expect(difference < 1e-4, "\(name): logits differ by \(difference)")
        print("\(name): max |logits - PEFT| = \(difference)")
        if gradients {
            (logits * (try fixture.tensor("logits_weights"))).sum().backward()
            try MiniLMAdapterReferenceTests.checkGradients(peft, fixture)
        }
    }

    /// Generation fills the cache with the virtual tokens once; each cached step's logits equal
    /// the uncached forward pass over the whole sequence, with masks over real tokens only.
    @Test(arguments: cases)
    func cachedStepsMatchTheFullForwardPass(name: String) throws {
        let fixture = try PeftFixture("decoder_prompts/" + name)
        let model = try Self.loadBase(name)
        _ = try PeftModel.load(from: fixture.folder, into: model)
        let ids = [5, 17, 3, 29, 11, 8, 23, 14, 30, 6, 9, 12]   // [2, 6]
        let full = Tensor.withoutGradient { model(ids: ids, batchSize: 2, attentionMask: [Int](repeating: 1, count: 12)) }   // [2, 6, V]
        let cache = model.makeCache()
        func rows(_ range: Range<Int>) -> [Int] { Array(ids[range] + ids[(6 + range.lowerBound)..<(6 + range.upperBound)]) }
        var worst: Float = 0
        for (start, end) in [(0, 3), (3, 4), (4, 6)] {
            let mask = [Int](repeating: 1, count: 2 * end)   // real tokens so far
            let step = Tensor.withoutGradient { model(ids: rows(start..<end), batchSize: 2, attentionMask: mask, cache: cache) }
            worst = max(worst, maxAbsoluteDifferenceOf(step, full.sliced(axis: 1, start..<end)))
        }
        let virtualCount = try AdapterFile(folder: fixture.folder).configuration.json["num_virtual_tokens"]
        #expect(virtualCount == .integer(cache.virtualTokenCount))
        #expect(cache.length == cache.virtualTokenCount + 6)
        #expect(worst < 1e-4, "\(name): cached logits differ by \(worst)")
    }

    /// `generate` (cache, no mask) picks the tokens a greedy loop over full forward passes picks.
    @Test(arguments: ["llama_prompt_tuning", "gpt2_prefix_tuning"])
    func generationMatchesUncachedGreedyDecoding(name: String) throws {
        let model = try Self.loadBase(name)
        _ = try PeftModel.load(from: try PeftFixture("decoder_prompts/" + name).folder, into: model)
        var sampler = Sampler.greedy
        let generated = generate(model: model, prompt: [4, 19, 7], maximumNewTokens: 4, sampler: &sampler).tokens
        var sequence = [4, 19, 7]
        for _ in 0..<4 {
            let last = Tensor.withoutGradient { model(ids: sequence, batchSize: 1) }.sliced(axis: 1, (sequence.count - 1)..<sequence.count).toArray()
            sequence.append(last.indices.max { last[$0] < last[$1] }!)
        }
        #expect(generated == Array(sequence.dropFirst(3)))
    }

    /// Under grouped-query attention the prefix holds key/value heads, as PEFT resolves it;
    /// a new projected prefix trains its MLP and the table.
    @Test func prefixGeometryFollowsKeyValueHeads() throws {
        let model = try Self.loadBase("llama")
        let peft = try PeftModel(model: model, configuration: PrefixTuningConfiguration(virtualTokenCount: 2, prefixProjection: true,
                                                                                         encoderHiddenSize: 6))
        let json = peft.configurations["default"]!.json
        #expect(json["token_dim"] == .integer(8) && json["num_attention_heads"] == .integer(2) && json["num_layers"] == .integer(2))
        #expect(try peft.adapterStateDict()["prompt_embeddings"]?.shape == [2, 2 * 2 * 8])
        model(ids: [3, 9, 27, 4], batchSize: 2, attentionMask: [1, 1, 1, 0]).squared().sum().backward()
        let trainable = model.trainableParameters()
        #expect(trainable.count == 5)   // embedding.weight, transform.0 and transform.2 weights and biases
        for (path, tensor) in trainable { #expect(tensor.grad != nil, "no gradient for \(path)") }
    }

    /// The prompt table's gradient through GPT-2 and LLaMA against central finite differences.
    @Test(arguments: ["llama", "gpt2"])
    func promptGradientMatchesFiniteDifferences(base: String) throws {
        for configuration in [PromptTuningConfiguration(virtualTokenCount: 2) as any AdapterConfiguration,
                              PrefixTuningConfiguration(virtualTokenCount: 2)] {
            let model = try Self.loadBase(base)
            _ = try PeftModel(model: model, configuration: configuration)
            let (path, table) = model.trainableParameters()[0]
            let error = gradientError(of: { inputs in
                model.replaceTensor(at: path, with: inputs[0])
                return model(ids: [3, 9, 27, 4, 8, 0], batchSize: 2, attentionMask: [1, 1, 1, 1, 1, 0])
            }, at: [table * 0.3], step: 1e-2)
            #expect(error < 2e-3, "\(base) \(configuration.peftType): gradient error \(error)")
            print("\(base) \(configuration.peftType.rawValue): finite-difference gradient error \(error)")
        }
    }

    /// Adapters made here, saved for scripts/check_swift_adapters.py to load into Python PEFT.
    @Test(arguments: ["llama_prompt_tuning", "llama_prefix_tuning", "gpt2_prompt_tuning", "gpt2_prefix_tuning"])
    func exportForPython(name: String) throws {
        let model = try Self.loadBase(name)
        var prompt = PromptTuningConfiguration(virtualTokenCount: 4)
        prompt.taskType = "CAUSAL_LM"
        var prefix = PrefixTuningConfiguration(virtualTokenCount: 3)
        prefix.taskType = "CAUSAL_LM"
        let peft = name.hasSuffix("prompt_tuning") ? try PeftModel(model: model, configuration: prompt, seed: 31)
            : try PeftModel(model: model, configuration: prefix, seed: 31)
        let ids = [5, 17, 3, 29, 11, 8, 23, 14, 30, 6, 0, 0], mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
        let logits = Tensor.withoutGradient { model(ids: ids, batchSize: 2, attentionMask: mask) }
        let output = swiftAdapterExportFolder.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: output)
        try peft.save(to: output)
        try SafetensorsWriter.write(["input_ids": Tensor(ids.map(Float.init), shape: [2, 6]),
                                     "attention_mask": Tensor(mask.map(Float.init), shape: [2, 6]), "logits": logits.contiguous()],
                                    to: output.appendingPathComponent("reference.safetensors"))
        #expect(try AdapterFile(folder: output).configuration.ignoredFields.isEmpty)
    }

    /// LoRA on `embed_tokens`: LLaMA calls its table through `TokenEmbeddingLayer`.
    @Test func loraOnLlamaTokenEmbeddings() throws {
        let model = try Self.loadBase("llama")
        let base = Tensor.withoutGradient { model(ids: [3, 9, 27], batchSize: 1) }
        _ = try PeftModel(model: model, configuration: LoRAConfiguration(rank: 2, alpha: 4, targetModules: .names(["embed_tokens"]),
                                                                         initialization: .random))
        #expect(maxAbsoluteDifferenceOf(Tensor.withoutGradient { model(ids: [3, 9, 27], batchSize: 1) }, base) > 1e-3)
    }
}

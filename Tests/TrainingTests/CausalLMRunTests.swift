import Formats
import Foundation
import Models
import NN
import PEFT
import Testing
import TensorCore
import TestSupport
@testable import Training

/// A tiny LLaMA folder in Hugging Face layout: config.json, random model.safetensors, and the
/// 500-token byte-level BPE tokenizer of the Formats tests as tokenizer.json.
func makeTinyLlamaFolder(in folder: URL) throws -> URL {
    let modelFolder = folder.appendingPathComponent("tiny-llama")
    try FileManager.default.createDirectory(at: modelFolder, withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("Tests/FormatsTests/Fixtures/bpe_tiny_gpt2_tokenizer.json"),
                                     to: modelFolder.appendingPathComponent("tokenizer.json"))
    let configuration = """
        {"model_type": "llama", "vocab_size": 512, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
         "max_position_embeddings": 64, "tie_word_embeddings": false}
        """
    try Data(configuration.utf8).write(to: modelFolder.appendingPathComponent("config.json"))
    let model = LlamaModel(configuration: try LlamaConfiguration.load(from: modelFolder))
    var generator = RandomGenerator(seed: 3)
    var weights: [String: Tensor] = [:]
    for (path, tensor) in model.namedParameters() {
        weights[path] = path.hasSuffix("norm.weight") ? tensor : Tensor.randomNormal(tensor.shape, standardDeviation: 0.2, generator: &generator)
    }
    try SafetensorsWriter.write(weights, to: modelFolder.appendingPathComponent("model.safetensors"))
    return modelFolder
}

/// A short, repetitive text: easy to learn in a few steps.
func writeVerse(in folder: URL, name: String, lines: Int) throws -> URL {
    let verse = ["Hark, the night is cold and the sea is calm.", "Good morrow, friend, the sea is wide.",
                 "The night is long and the sea is deep."]
    let url = folder.appendingPathComponent(name)
    try Data((0..<lines).map { verse[$0 % verse.count] }.joined(separator: "\n").utf8).write(to: url)
    return url
}

@Suite(.serialized) struct CausalLMRunTests {
    func settings(model: URL, data: URL, validation: URL, output: URL) -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.task = "causal-lm"
        configuration.model = model.path
        configuration.data = data.path
        configuration.validationData = validation.path
        configuration.output = output.path
        configuration.maxLength = 16
        configuration.epochs = 6
        configuration.batchSize = 4
        configuration.learningRate = 2e-2
        configuration.dropout = 0
        return configuration
    }

    /// LoRA training on a verse lowers the loss and the held-out perplexity; the saved adapter
    /// reloads to the same perplexity and holds only LoRA factors of the attention projections.
    @Test func loraLowersLossAndPerplexityAndReloads() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try makeTinyLlamaFolder(in: folder)
        let data = try writeVerse(in: folder, name: "train.txt", lines: 24)
        let validation = try writeVerse(in: folder, name: "validation.txt", lines: 9)
        let output = folder.appendingPathComponent("out")
        let result = try CausalLMRun.run(configuration: settings(model: model, data: data, validation: validation, output: output),
                                         output: output)
        let losses = result.history.filter { $0.event == .step }.compactMap(\.loss)
        #expect(losses.count == result.steps && result.steps > 6)
        let first: Double = losses.prefix(3).reduce(0, +), last: Double = losses.suffix(3).reduce(0, +)
        #expect(last < first * 0.8, "\(losses)")
        let before = result.perplexityBefore!.perplexity, after = result.perplexityAfter!.perplexity
        #expect(after < before * 0.8, "perplexity \(before) -> \(after)")

        let adapter = try AdapterFile(folder: output)
        #expect(adapter.configuration.taskType == "CAUSAL_LM")
        #expect(adapter.tensors.count == 2 * 4 * 2 && adapter.tensors.keys.allSatisfy { $0.contains("_proj.lora_") })
        let (reloaded, tokenizer) = try CausalLMRun.load(modelPath: model.path, trainedFolder: output)
        let text = try CausalLMRun.loadText(validation.path, tokenizer: tokenizer, blockLength: 16)
        let meter = CausalLMRun.perplexity(of: reloaded, blocks: text.blocks)
        #expect(abs(meter.perplexity - after) < 1e-4 * after)
    }

    /// An adapter saved and loaded into a fresh base gives the same logits.
    @Test func adapterRoundTripGivesTheSameLogits() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let modelFolder = try makeTinyLlamaFolder(in: folder)
        var configuration = settings(model: modelFolder, data: modelFolder, validation: modelFolder, output: folder)
        configuration.targetModules = ["q_proj", "v_proj", "gate_proj", "down_proj"]
        let (model, _) = try loadDecoder(from: modelFolder)
        let peft = try CausalLMRun.applyMethod(configuration, to: model, modelPath: modelFolder.path)!
        var generator = RandomGenerator(seed: 4)
        for (path, tensor) in model.trainableParameters() {   // as if trained
            model.replaceTensor(at: path, with: Tensor.randomNormal(tensor.shape, standardDeviation: 0.2, generator: &generator))
        }
        model.setTraining(false)
        let ids = [5, 80, 17, 300, 42, 9, 250, 3]
        let expected = Tensor.withoutGradient { model(ids: ids, batchSize: 2) }
        let output = folder.appendingPathComponent("adapter")
        try peft.save(to: output)
        let (reloaded, _) = try CausalLMRun.load(modelPath: modelFolder.path, trainedFolder: output)
        reloaded.setTraining(false)
        let actual = Tensor.withoutGradient { reloaded(ids: ids, batchSize: 2) }
        #expect(maxAbsoluteDifference(actual, expected) < 1e-5)
    }

    /// Perplexity is exp of the mean negative log-likelihood of every next token, computed here
    /// from the logits with a plain log-softmax.
    @Test func perplexityIsTheExponentOfTheMeanNegativeLogLikelihood() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (model, tokenizer) = try loadDecoder(from: makeTinyLlamaFolder(in: folder))
        let text = try CausalLMRun.loadText(writeVerse(in: folder, name: "verse.txt", lines: 12).path, tokenizer: tokenizer, blockLength: 10)
        #expect(text.blocks.count >= 3 && text.blocks.allSatisfy { $0.count == 11 })
        var negativeLogLikelihood = 0.0, count = 0
        for block in text.blocks {
            let logits = Tensor.withoutGradient { model(ids: Array(block.dropLast())) }.toArray()   // [1, 10, V]
            let v = model.vocabularySize
            for position in 0..<10 {
                let row = logits[(position * v)..<((position + 1) * v)].map(Double.init)
                let largest = row.max()!
                let logSum = largest + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - largest) })
                negativeLogLikelihood += logSum - row[block[position + 1]]
                count += 1
            }
        }
        let meter = CausalLMRun.perplexity(of: model, blocks: text.blocks)
        #expect(meter.tokenCount == count)
        #expect(abs(meter.perplexity - Foundation.exp(negativeLogLikelihood / Double(count))) < 1e-4 * meter.perplexity)
    }
}

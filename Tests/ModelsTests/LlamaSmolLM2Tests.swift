import Foundation
import Testing
import Formats
import NN
import TensorCore
import TestSupport
@testable import Models

/// SmolLM2-135M-Instruct from its Q4_1 GGUF file against transformers loading the same file
/// (scripts/fixtures/decoders.py writes smollm2.safetensors).
@Suite struct LlamaSmolLM2Tests {
    static let ggufName = "SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Test func configurationAndLogitsMatchTransformersAndGreedyDecodingSaysParis() throws {
        guard let url = try assetURL(Self.ggufName) else { return }
        let model = try LlamaModel.load(gguf: url)
        let configuration = model.configuration
        #expect(configuration.hiddenLayerCount == 30 && configuration.hiddenSize == 576)
        #expect(configuration.attentionHeadCount == 9 && configuration.keyValueHeadCount == 3)
        #expect(configuration.vocabularySize == 49152 && configuration.tieWordEmbeddings)

        let fixture = try SafetensorsFile(url: fixtureURL("smollm2.safetensors"))
        func ints(_ name: String) throws -> [Int] { try fixture.tensor(name).toArray().map { Int($0) } }
        for prompt in 0..<3 {
            let ids = try ints("prompt\(prompt).ids")
            let last = Tensor.withoutGradient {
                let hidden = model.hiddenStates(ids: ids, batchSize: 1)   // [1, T, C]
                return model.logits(fromHiddenStates: hidden.sliced(axis: 1, (ids.count - 1)..<ids.count))
            }.toArray()
            let indices = try ints("prompt\(prompt).indices"), expected = try fixture.tensor("prompt\(prompt).values").toArray()
            let worst = zip(indices, expected).map { abs(last[$0] - $1) }.max()!
            #expect(worst < 1e-3, "prompt \(prompt): max abs logit difference \(worst)")
            #expect(argmax(last) == indices[0], "prompt \(prompt): top token")
            if prompt == 0 {
                let row = try fixture.tensor("prompt0.last_logits").toArray()
                let rowWorst = zip(last, row).map { abs($0 - $1) }.max()!
                #expect(rowWorst < 1e-3, "prompt 0, whole row: max abs logit difference \(rowWorst)")
            }
        }

        var sampler = Sampler.greedy
        // " Paris.\n\nThe answer": six tokens keep the debug-build test short.
        let expectedContinuation = Array(try ints("greedy.output_ids").prefix(6))
        let result = generate(model: model, prompt: try ints("greedy.prompt_ids"),
                              maximumNewTokens: expectedContinuation.count, sampler: &sampler)
        #expect(result.tokens == expectedContinuation)
        #expect(result.tokens.first == 7042, "the first token is \" Paris\" (7042)")
    }
}

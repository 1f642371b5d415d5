import Foundation
import Models
import NN
import PEFT
import TensorCore
import Testing

@Suite(.serialized) struct PromptTuningTests {
    @Test func matchesPEFTOnMiniLM() throws {
        _ = try checkMethodFixture("minilm_prompt_tuning", gradients: true)
    }

    @Test func exportForPython() throws {
        var configuration = PromptTuningConfiguration(virtualTokenCount: 5)
        configuration.taskType = "SEQ_CLS"
        try exportMiniLMAdapter("minilm_prompt_tuning", configuration: configuration)
    }

    /// The virtual tokens come first in the hidden states; TEXT init copies word embeddings.
    @Test func prependsVirtualTokensAndInitialisesFromText() throws {
        let model = MethodMatrixTests.makeClassifier()
        let words = model.bert.module(at: "embeddings.word_embeddings")!.parameter("weight")
        let configuration = PromptTuningConfiguration(virtualTokenCount: 3, initialization: .text(tokenIDs: [4, 9]))
        let peft = try PeftModel(model: model, configuration: configuration)
        let table = model.bert.module(at: "prompt_encoder.default.embedding")!.parameter("weight")
        for (row, id) in [4, 9, 4].enumerated() {
            #expect(table.sliced(axis: 0, row..<(row + 1)).toArray() == words.sliced(axis: 0, id..<(id + 1)).toArray())
        }
        #expect(model.bert(MethodMatrixTests.batch).lastHiddenState.shape == [2, 8, 8])
        #expect(try peft.adapterStateDict().keys.sorted() == ["prompt_embeddings"])
        #expect(peft.configurations["default"]?.json["token_dim"] == .integer(8))
    }
}

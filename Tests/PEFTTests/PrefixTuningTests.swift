import Foundation
import Models
import NN
import PEFT
import TensorCore
import Testing

@Suite(.serialized) struct PrefixTuningTests {
    @Test func matchesPEFTOnMiniLM() throws {
        _ = try checkMethodFixture("minilm_prefix_tuning", gradients: true)
    }

    /// PEFT saves the projected table; loading uses it as the prefix (inference form).
    @Test func projectedPrefixMatchesPEFTOnMiniLM() throws {
        _ = try checkMethodFixture("minilm_prefix_projection", gradients: false)
    }

    @Test func exportForPython() throws {
        var configuration = PrefixTuningConfiguration(virtualTokenCount: 4)
        configuration.taskType = "SEQ_CLS"
        try exportMiniLMAdapter("minilm_prefix_tuning", configuration: configuration)
    }

    /// Prefix tuning keeps the sequence length; the saved table is [n, L · 2 · C].
    @Test func keepsSequenceLengthAndSavesTheFlatTable() throws {
        let model = MethodMatrixTests.makeClassifier()
        let base = model.bert(MethodMatrixTests.batch).lastHiddenState
        let peft = try PeftModel(model: model, configuration: PrefixTuningConfiguration(virtualTokenCount: 2))
        let hidden = model.bert(MethodMatrixTests.batch).lastHiddenState
        #expect(hidden.shape == base.shape)
        #expect(try peft.adapterStateDict()["prompt_embeddings"]?.shape == [2, 2 * 2 * 8])
    }
}

import Foundation
import Testing
import Formats
import NN
import TensorCore
import TestSupport
@testable import Models

/// all-MiniLM-L6-v2 against transformers' outputs (scripts/fixtures/minilm.py).
@Suite struct MiniLMReferenceTests {
    let fixture = try! SafetensorsFile(url: fixtureURL("minilm.safetensors"))

    func referenceBatch() throws -> TokenBatch {
        let ids = try fixture.tensor("input_ids")
        let (b, t) = (ids.shape[0], ids.shape[1])
        func ints(_ name: String) throws -> [Int] { try fixture.tensor(name).toArray().map { Int($0) } }
        return TokenBatch(ids: try ints("input_ids"), typeIds: try ints("token_type_ids"),
                          attentionMask: try ints("attention_mask"), batchSize: b, length: t)
    }

    func loadModel() throws -> BertModel? {
        guard let folder = try assetURL("all-MiniLM-L6-v2") else { return nil }
        let model = try BertModel.load(from: folder)
        model.setTraining(false)
        return model
    }

    @Test func hiddenStatesMatchTransformersOnAPaddedBatch() throws {
        guard let model = try loadModel() else { return }
        let batch = try referenceBatch()
        let output = Tensor.withoutGradient { model(batch) }
        let hidden = output.lastHiddenState
        let expected = try fixture.tensor("last_hidden_state")
        // Compare real tokens only: transformers' padded positions are not meaningful.
        let mask = batch.attentionMask
        let c = hidden.shape[2]
        let actualValues = hidden.toArray(), expectedValues = expected.toArray()
        var worst: Float = 0
        for position in 0..<mask.count where mask[position] == 1 {
            for channel in 0..<c {
                worst = max(worst, abs(actualValues[position * c + channel] - expectedValues[position * c + channel]))
            }
        }
        #expect(worst < 1e-4, "max abs difference of the last hidden state: \(worst)")
        #expect(maxAbsoluteDifference(output.pooled!, try fixture.tensor("pooler_output")) < 1e-4)
    }

    @Test func sentenceEmbeddingsMatchSentenceTransformers() throws {
        guard let model = try loadModel() else { return }
        let batch = try referenceBatch()
        let embeddings = Tensor.withoutGradient { sentenceEmbeddings(model, batch) }
        let expected = try fixture.tensor("embeddings")
        let c = expected.shape[1]
        let a = embeddings.toArray(), e = expected.toArray()
        for row in 0..<batch.batchSize {
            let cosine = (0..<c).reduce(Float(0)) { $0 + a[row * c + $1] * e[row * c + $1] }
            #expect(cosine >= 0.99999, "row \(row): cosine \(cosine)")
        }
    }
}

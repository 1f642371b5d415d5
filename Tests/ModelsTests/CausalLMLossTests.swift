import Foundation
import Testing
import TensorCore
import TestSupport
@testable import Models

@Suite struct CausalLMLossTests {
    @Test func labelsHidePaddingAndPrompts() {
        // Row 0 right-padded, row 1 left-padded; prompts of 2 and 1 tokens.
        let ids = [7, 8, 9, 4, 0, 0, 0, 5, 6, 3]
        let mask = [1, 1, 1, 1, 0, 0, 1, 1, 1, 1]
        let labels = causalLanguageModelLabels(ids: ids, batchSize: 2, attentionMask: mask, promptLengths: [2, 1])
        #expect(labels == [-100, -100, 9, 4, -100, -100, -100, 5, 6, 3])
        #expect(predictedTokenCount(labels: labels, batchSize: 2) == 5)
        #expect(causalLanguageModelLabels(ids: ids, batchSize: 2) == ids)
    }

    /// The loss is the mean negative log-probability of each next label, skipping ignored ones.
    @Test func lossAveragesNextTokenNegativeLogLikelihoods() {
        let logits = Tensor.randomNormal([2, 3, 4], seed: 1)
        let labels = [1, 2, 3, -100, 0, 2]
        let loss = causalLanguageModelLoss(logits: logits, labels: labels).item
        let logProbabilities = logits.logSoftmax().toArray()
        func logProbability(_ row: Int, _ position: Int, _ token: Int) -> Float {
            logProbabilities[(row * 3 + position) * 4 + token]
        }
        // Row 0 predicts 2 and 3 from positions 0 and 1; row 1 predicts 0 and 2 (its ignored
        // first label is never a target).
        let expected = -(logProbability(0, 0, 2) + logProbability(0, 1, 3) + logProbability(1, 0, 0)
                         + logProbability(1, 1, 2)) / 4
        #expect(abs(loss - expected) < 1e-6)
    }

    @Test func perplexityWeighsBatchesByTokens() {
        var meter = PerplexityMeter()
        meter.add(meanLoss: 1, tokenCount: 3)
        meter.add(meanLoss: 2, tokenCount: 1)
        #expect(abs(meter.meanLoss - 1.25) < 1e-12)
        #expect(abs(meter.perplexity - Foundation.exp(1.25)) < 1e-9)
    }
}

import Testing
@testable import Training

@Suite struct MetricsTests {
    @Test func accuracyAndMacroF1MatchScikitLearn() {
        // As sklearn computes them: labels present in either list (0, 1, 2) are averaged.
        let metrics = ClassificationMetrics(predictions: [0, 0, 1, 1, 2], labels: [0, 1, 1, 1, 0], labelCount: 3, lossSum: 2.5)
        #expect(abs(metrics.accuracy - 0.6) < 1e-12)
        // class 0: P 1/2, R 1/2, F1 0.5; class 1: P 1, R 2/3, F1 0.8; class 2: P 0, F1 0 -> mean 0.4333
        #expect(abs(metrics.macroF1 - (0.5 + 0.8 + 0) / 3) < 1e-12)
        #expect(abs(metrics.loss - 0.5) < 1e-12)
        #expect(abs(metrics.perplexity - 1.6487212707) < 1e-9)
    }

    @Test func classesAbsentFromBothAreNotAveraged() {
        let metrics = ClassificationMetrics(predictions: [1, 1], labels: [1, 1], labelCount: 4, lossSum: 0)
        #expect(metrics.macroF1 == 1)
    }
}

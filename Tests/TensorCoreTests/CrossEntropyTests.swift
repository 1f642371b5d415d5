import Testing
import TensorCore
import TestSupport

@Suite struct CrossEntropyTests {
    /// Σ over counted rows of -(target distribution ⊙ log-softmax), divided by the count.
    func composedCrossEntropy(_ logits: Tensor, _ targets: [Int], ignoreIndex: Int = -100,
                              smoothing: Float = 0) -> Tensor {
        let classes = logits.shape[1]
        let counted = Float(targets.filter { $0 != ignoreIndex }.count)
        var distribution = [Float](repeating: 0, count: logits.count)
        for (row, target) in targets.enumerated() where target != ignoreIndex {
            for c in 0..<classes { distribution[row * classes + c] = smoothing / Float(classes) / counted }
            distribution[row * classes + target] += (1 - smoothing) / counted
        }
        return -(logits.logSoftmax() * Tensor(distribution, shape: logits.shape)).sum()
    }

    @Test func matchesCompositionWithIgnoreAndSmoothing() {
        let logits = Tensor.randomNormal([5, 7], standardDeviation: 3, seed: 1)
        let targets = [3, -100, 0, 6, 3]
        for smoothing: Float in [0, 0.1] {
            let fused = crossEntropy(logits: logits, targets: targets, labelSmoothing: smoothing)
            #expect(fused.shape == [])
            #expect(abs(fused.item - composedCrossEntropy(logits, targets, smoothing: smoothing).item) < 1e-5)
        }
        let custom = crossEntropy(logits: logits, targets: [1, 1, 2, 2, 2], ignoreIndex: 2)
        #expect(abs(custom.item - composedCrossEntropy(logits, [1, 1, 2, 2, 2], ignoreIndex: 2).item) < 1e-5)
    }

    @Test func gradientsMatchFiniteDifferences() {
        let logits = Tensor.randomNormal([4, 5], seed: 2)
        #expect(gradientError(of: { crossEntropy(logits: $0[0], targets: [4, 0, -100, 2]) }, at: [logits]) < 1e-3)
        #expect(gradientError(of: { crossEntropy(logits: $0[0], targets: [4, 0, 1, 2], labelSmoothing: 0.2) },
                              at: [logits]) < 1e-3)
        let transposedLogits = Tensor.randomNormal([5, 4], seed: 3)
        #expect(gradientError(of: { crossEntropy(logits: $0[0].transposed() * 2, targets: [1, -100, 3, 3]) },
                              at: [transposedLogits]) < 1e-3)
    }

    @Test func allIgnoredGivesZeroWithoutNaN() {
        let logits = Tensor.randomNormal([3, 4], seed: 4).requiringGradient()
        let loss = crossEntropy(logits: logits, targets: [-100, -100, -100])
        #expect(loss.item == 0)
        loss.backward()
        #expect(logits.grad!.toArray().allSatisfy { $0 == 0 })
    }

    @Test func threadedRowsAgreeWithComposition() {
        let logits = Tensor.randomNormal([64, 1000], seed: 5).requiringGradient()
        let targets = (0..<64).map { $0 % 7 == 0 ? -100 : ($0 * 37) % 1000 }
        let fused = crossEntropy(logits: logits, targets: targets, labelSmoothing: 0.05)
        fused.backward()
        let fusedGradient = logits.grad!
        logits.grad = nil
        let composed = composedCrossEntropy(logits, targets, smoothing: 0.05)
        composed.backward()
        #expect(abs(fused.item - composed.item) < 1e-4)
        #expect(maxAbsoluteDifference(fusedGradient, logits.grad!) < 1e-6)
    }
}

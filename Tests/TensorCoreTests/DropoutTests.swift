import Testing
import TensorCore
import TestSupport

@Suite struct DropoutTests {
    @Test func zeroProbabilityReturnsTheInput() {
        let x = Tensor.randomNormal([4], seed: 1)
        var generator = RandomGenerator(seed: 0)
        #expect(x.dropout(probability: 0, generator: &generator) === x)
        #expect(generator == RandomGenerator(seed: 0))
    }

    @Test func dropsAboutTheProbabilityAndScalesSurvivors() {
        let x = Tensor.ones([10_000])
        var generator = RandomGenerator(seed: 2)
        let values = x.dropout(probability: 0.25, generator: &generator).toArray()
        let dropped = values.filter { $0 == 0 }.count
        #expect(abs(Float(dropped) / 10_000 - 0.25) < 0.02)
        #expect(values.allSatisfy { $0 == 0 || abs($0 - 1 / 0.75) < 1e-6 })
        var all = RandomGenerator(seed: 3)
        #expect(x.dropout(probability: 1, generator: &all).toArray().allSatisfy { $0 == 0 })
    }

    /// The mask is drawn in independently seeded blocks, threaded: every block drops about
    /// the probability, and the thread count does not change the mask.
    @Test func blocksDropTheirShareWhateverTheThreadCount() {
        let x = Tensor.ones([5 * Tensor.dropoutBlock + 77])
        func masked(threads: Int) -> [Float] {
            var generator = RandomGenerator(seed: 21)
            return Parallel.withThreadCount(threads) { x.dropout(probability: 0.1, generator: &generator).toArray() }
        }
        let values = masked(threads: 1)
        #expect(values == masked(threads: 2) && values == masked(threads: 3))
        for start in stride(from: 0, to: values.count, by: Tensor.dropoutBlock) {
            let block = values[start..<Swift.min(values.count, start + Tensor.dropoutBlock)]
            guard block.count > 1000 else { continue }
            #expect(abs(Float(block.filter { $0 == 0 }.count) / Float(block.count) - 0.1) < 0.015)
        }
    }

    @Test func isReproducibleAndKeepsItsMaskForTheGradient() {
        let x = Tensor.randomNormal([3, 5], seed: 4)
        var first = RandomGenerator(seed: 9), second = RandomGenerator(seed: 9)
        let leaf = x.detached().requiringGradient()
        let output = leaf.dropout(probability: 0.5, generator: &first)
        #expect(output.toArray() == x.dropout(probability: 0.5, generator: &second).toArray())
        output.backward(Tensor.ones([3, 5]))
        let expected = output.toArray().map { $0 == 0 ? Float(0) : 2 }
        #expect(leaf.grad!.toArray() == expected)
        #expect(gradientError(of: { inputs in
            var generator = RandomGenerator(seed: 11)
            return inputs[0].transposed().dropout(probability: 0.3, generator: &generator)
        }, at: [x]) < 1e-3)
    }
}

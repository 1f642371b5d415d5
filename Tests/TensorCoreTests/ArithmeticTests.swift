import Testing
import TensorCore
import TestSupport

@Suite struct ArithmeticTests {
    @Test func broadcastingAddMatchesHandComputed() {
        let a = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let b = Tensor([10, 20, 30], shape: [3])
        #expect((a + b).toArray() == [11, 22, 33, 14, 25, 36])
        #expect((a * b).shape == [2, 3])
    }

    @Test func arithmeticGradientsMatchFiniteDifferences() {
        let a = Tensor.randomNormal([3, 4], seed: 1)
        let b = Tensor.randomUniform([4], low: 0.5, high: 2, seed: 2)
        #expect(gradientError(of: { $0[0] + $0[1] }, at: [a, b]) < 1e-3)
        #expect(gradientError(of: { $0[0] - $0[1] }, at: [a, b]) < 1e-3)
        #expect(gradientError(of: { $0[0] * $0[1] }, at: [a, b]) < 1e-3)
        #expect(gradientError(of: { $0[0] / $0[1] }, at: [a, b]) < 1e-3)
    }

    @Test func matmulGradientsThroughTransposedViews() {
        let a = Tensor.randomNormal([2, 3, 5], seed: 3)
        let b = Tensor.randomNormal([4, 5], seed: 4)
        #expect(gradientError(of: { matmul($0[0], $0[1].transposed()) }, at: [a, b]) < 1e-3)
        let c = Tensor.randomNormal([2, 5, 3], seed: 5)
        #expect(gradientError(of: { matmul($0[0].transposed(), $0[1].transposed()) }, at: [c, b]) < 1e-3)
    }
}

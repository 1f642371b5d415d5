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

    /// The fused linear op equals matmul + bias, and its gradients (input, weight, bias; also
    /// through a non-contiguous input and a transposed weight view) match finite differences.
    @Test func linearMatchesMatmulPlusBiasWithGradients() {
        let x = Tensor.randomNormal([2, 3, 5], seed: 6), weight = Tensor.randomNormal([4, 5], seed: 7)
        let bias = Tensor.randomNormal([4], seed: 8)
        #expect(maxAbsoluteDifference(linear(x, weight: weight, bias: bias), matmul(x, weight.transposed()) + bias) < 1e-6)
        #expect(gradientError(of: { linear($0[0], weight: $0[1], bias: $0[2]) }, at: [x, weight, bias]) < 1e-3)
        let columns = Tensor.randomNormal([2, 5, 3], seed: 9)   // used as its transpose [2, 3, 5]
        let weightInOut = Tensor.randomNormal([5, 4], seed: 10)  // GPT-2's Conv1D layout
        #expect(gradientError(of: { linear($0[0].transposed(), weight: $0[1].transposed(), bias: $0[2]) },
                              at: [columns, weightInOut, bias]) < 1e-3)
    }
}

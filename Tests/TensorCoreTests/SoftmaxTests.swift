import Foundation
import Testing
import TensorCore
import TestSupport

@Suite struct SoftmaxTests {
    /// exp(x - max) / Σ exp(x - max) built from primitives.
    func composedSoftmax(_ x: Tensor, axis: Int) -> Tensor {
        let shifted = (x - x.max(axis: axis, keepingDimensions: true)).exp()
        return shifted / shifted.sum(axes: [axis], keepingDimensions: true)
    }

    @Test func matchesCompositionOnEveryAxis() {
        let x = Tensor.randomNormal([3, 4, 5], seed: 1)
        for axis in [0, 1, -1] {
            #expect(maxAbsoluteDifference(x.softmax(axis: axis), composedSoftmax(x, axis: axis)) < 1e-6)
            #expect(maxAbsoluteDifference(x.logSoftmax(axis: axis), composedSoftmax(x, axis: axis).log()) < 1e-5)
        }
    }

    @Test func isStableForLargeLogitsAndMaskedRows() {
        let x = Tensor([1000, 1001, 1002, -.infinity, -.infinity, -.infinity], shape: [2, 3])
        let probabilities = x.softmax().toArray()
        #expect(isClose(Array(probabilities[0..<3]), [0.09003057, 0.24472847, 0.66524096], relative: 1e-5))
        #expect(Array(probabilities[3...]) == [0, 0, 0])
        let logProbabilities = x.logSoftmax().toArray()
        #expect(isClose(Array(logProbabilities[0..<3]), [-2.4076059, -1.4076059, -0.4076059], relative: 1e-5))
        #expect(logProbabilities[3...].allSatisfy { $0 == -.infinity })
    }

    @Test func gradientsMatchFiniteDifferences() {
        let x = Tensor.randomNormal([3, 4, 5], seed: 2)
        for axis in [0, 1, -1] {
            #expect(gradientError(of: { $0[0].softmax(axis: axis) }, at: [x]) < 1e-3)
            #expect(gradientError(of: { $0[0].logSoftmax(axis: axis) }, at: [x]) < 1e-3)
        }
    }

    @Test func gradientsThroughNonContiguousInputs() {
        let x = Tensor.randomNormal([4, 6], seed: 3)
        #expect(gradientError(of: { $0[0].transposed().softmax() }, at: [x]) < 1e-3)
        #expect(gradientError(of: { $0[0].sliced(axis: 1, 1..<5).logSoftmax() }, at: [x]) < 1e-3)
    }

    @Test func threadedRowsAgreeWithComposition() {
        let x = Tensor.randomNormal([80, 500], seed: 4).requiringGradient()
        let upstream = Tensor.randomNormal([80, 500], seed: 5)
        let fused = x.logSoftmax()
        fused.backward(upstream)
        let fusedGradient = x.grad!
        x.grad = nil
        composedSoftmax(x, axis: -1).log().backward(upstream)
        #expect(maxAbsoluteDifference(fused, composedSoftmax(x, axis: -1).log()) < 1e-5)
        #expect(maxAbsoluteDifference(fusedGradient, x.grad!) < 1e-4)
    }
}

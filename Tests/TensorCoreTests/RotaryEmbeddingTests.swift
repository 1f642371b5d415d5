import Foundation
import Testing
import TensorCore
import TestSupport

@Suite struct RotaryEmbeddingTests {
    /// Hugging Face's x·cos + rotate_half(x)·sin from primitives.
    func composedRotary(_ x: Tensor, positions: [Int], theta: Float = 10000) -> Tensor {
        let dimensions = x.shape.last!, half = dimensions / 2
        var cosines: [Float] = [], sines: [Float] = []
        for position in positions {
            let angles = (0..<dimensions).map { Float(position) / pow(theta, Float(2 * ($0 % half)) / Float(dimensions)) }
            cosines += angles.map { cos($0) }
            sines += angles.map { sin($0) }
        }
        let halves = x.split(count: 2, axis: -1)
        let rotated = concatenate([-halves[1], halves[0]], axis: -1)
        return x * Tensor(cosines, shape: [positions.count, dimensions])
            + rotated * Tensor(sines, shape: [positions.count, dimensions])
    }

    @Test func matchesRotateHalfComposition() {
        let x = Tensor.randomNormal([2, 3, 4, 8], seed: 1)
        let positions = [0, 1, 5, 17]
        #expect(maxAbsoluteDifference(applyRotaryEmbedding(x, positions: positions),
                                      composedRotary(x, positions: positions)) < 1e-5)
        #expect(maxAbsoluteDifference(applyRotaryEmbedding(x, positions: positions, base: 500),
                                      composedRotary(x, positions: positions, theta: 500)) < 1e-5)
    }

    @Test func positionZeroIsIdentityAndNormsArePreserved() {
        let x = Tensor.randomNormal([1, 1, 1, 6], seed: 2)
        #expect(maxAbsoluteDifference(applyRotaryEmbedding(x, positions: [0]), x) == 0)
        let rotated = applyRotaryEmbedding(x, positions: [123])
        #expect(abs(rotated.squared().sum().item - x.squared().sum().item) < 1e-4)
    }

    @Test func gradientIsTheInverseRotation() {
        let x = Tensor.randomNormal([1, 2, 3, 4], seed: 3)
        #expect(gradientError(of: { applyRotaryEmbedding($0[0], positions: [2, 0, 7]) }, at: [x]) < 1e-3)
        // The usual non-contiguous layout: [B, T, H, D] permuted to [B, H, T, D].
        let tokensFirst = Tensor.randomNormal([1, 3, 2, 4], seed: 4)
        #expect(gradientError(of: { applyRotaryEmbedding($0[0].permuted([0, 2, 1, 3]), positions: [4, 5, 6]) },
                              at: [tokensFirst]) < 1e-3)
    }
}

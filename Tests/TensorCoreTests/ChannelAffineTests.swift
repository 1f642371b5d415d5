import Testing
import TensorCore
import TestSupport

@Suite struct ChannelAffineTests {
    func composed(_ x: Tensor, _ scale: Tensor, _ shift: Tensor) -> Tensor {
        var shape = [Int](repeating: 1, count: x.rank)
        shape[1] = x.shape[1]
        return x * scale.reshaped(shape) + shift.reshaped(shape)
    }

    @Test func matchesTheBroadcastComposition() {
        let scale = Tensor.randomNormal([3], seed: 2), shift = Tensor.randomNormal([3], seed: 3)
        for shape in [[2, 3, 4, 5], [4, 3], [1, 3, 1, 1], [2, 3, 7]] {
            let x = Tensor.randomNormal(shape, seed: 1)
            #expect(maxAbsoluteDifference(channelAffine(x, scale: scale, shift: shift), composed(x, scale, shift)) < 1e-6)
        }
    }

    @Test func gradientsOfInputScaleAndShift() {
        let x = Tensor.randomNormal([2, 3, 2, 3], seed: 4)
        let scale = Tensor.randomNormal([3], seed: 5), shift = Tensor.randomNormal([3], seed: 6)
        #expect(gradientError(of: { channelAffine($0[0], scale: $0[1], shift: $0[2]) }, at: [x, scale, shift]) < 1e-3)
        #expect(gradientError(of: { channelAffine($0[0], scale: scale, shift: shift) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { channelAffine(x, scale: $0[0], shift: $0[1]) }, at: [scale, shift]) < 1e-3)
        // Non-contiguous inputs: a permuted view of the image and a slice of the channels' parameters.
        let permuted = Tensor.randomNormal([2, 3, 3, 2], seed: 7)
        let wide = Tensor.randomNormal([5], seed: 8)
        #expect(gradientError(of: { channelAffine($0[0].permuted([0, 1, 3, 2]), scale: $0[1].sliced(axis: 0, 1..<4), shift: $0[2]) },
                              at: [permuted, wide, shift]) < 1e-3)
    }
}

import Testing
import TensorCore
import TestSupport

/// Values 0.1 apart in scrambled order, so no window holds a near-tie that finite
/// differences could flip.
private func distinctValues(_ shape: [Int]) -> Tensor {
    let count = shape.reduce(1, *)
    return Tensor((0..<count).map { Float($0 * 7919 % count) * 0.1 }, shape: shape)
}

@Suite struct PoolingTests {
    @Test func averagePoolingMatchesHandComputed() {
        let x = Tensor.arange(16).reshaped([1, 1, 4, 4])
        #expect(avgPool2d(x, kernelSize: (2, 2)).toArray() == [2.5, 4.5, 10.5, 12.5])
        let ones = Tensor.ones([1, 1, 3, 3])
        let counted = avgPool2d(ones, kernelSize: (3, 3), stride: (1, 1), padding: (1, 1))
        #expect(isClose(counted.toArray(), [4, 6, 4, 6, 9, 6, 4, 6, 4].map { $0 / 9 }, relative: 1e-6))
        let excluded = avgPool2d(ones, kernelSize: (3, 3), stride: (1, 1), padding: (1, 1), countIncludePad: false)
        #expect(excluded.toArray() == [Float](repeating: 1, count: 9))
    }

    @Test func maxPoolingPadsWithNegativeInfinity() {
        let x = (Tensor.arange(16) * -1 - 1).reshaped([1, 1, 4, 4])
        #expect(maxPool2d(x, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1)).toArray() == [-1, -2, -5, -6])
        let dilated = maxPool2d(Tensor.arange(25).reshaped([1, 1, 5, 5]), kernelSize: (2, 2), stride: (1, 1),
                                dilation: (2, 2))
        #expect(dilated.toArray() == [12, 13, 14, 17, 18, 19, 22, 23, 24])
    }

    @Test func maxPoolingPropagatesNaN() {
        let x = Tensor([1, .nan, 3, 4], shape: [1, 1, 2, 2])
        #expect(maxPool2d(x, kernelSize: (2, 2)).item.isNaN)
    }

    @Test func adaptiveAveragePoolingUsesOverlappingBins() {
        let x = Tensor.arange(15).reshaped([1, 1, 5, 3])
        let pooled = adaptiveAvgPool2d(x, outputSize: (3, 2))
        #expect(pooled.shape == [1, 1, 3, 2])
        #expect(isClose(pooled.toArray(), [2, 3, 6.5, 7.5, 11, 12], relative: 1e-6))
        #expect(adaptiveAvgPool2d(x, outputSize: (1, 1)).toArray() == [7])
    }

    @Test func averagePoolingGradients() {
        let x = Tensor.randomNormal([2, 3, 7, 6], seed: 1)
        #expect(gradientError(of: { avgPool2d($0[0], kernelSize: (3, 3), stride: (2, 2), padding: (1, 1)) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { avgPool2d($0[0], kernelSize: (3, 2), stride: (2, 1), padding: (1, 1),
                                               countIncludePad: false) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { avgPool2d($0[0], kernelSize: (2, 2)) }, at: [x]) < 1e-3)
    }

    @Test func maxPoolingGradients() {
        let x = distinctValues([2, 3, 7, 6])
        #expect(gradientError(of: { maxPool2d($0[0], kernelSize: (3, 3), stride: (2, 2), padding: (1, 1)) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { maxPool2d($0[0], kernelSize: (2, 3), stride: (1, 2), padding: (1, 1),
                                               dilation: (2, 1)) }, at: [x]) < 1e-3)
        // Overlapping windows share a winner, whose gradient then sums.
        #expect(gradientError(of: { maxPool2d($0[0], kernelSize: (3, 3), stride: (1, 1)) }, at: [x]) < 1e-3)
    }

    @Test func adaptiveAveragePoolingGradients() {
        let x = Tensor.randomNormal([2, 3, 7, 5], seed: 2)
        #expect(gradientError(of: { adaptiveAvgPool2d($0[0], outputSize: (3, 2)) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { adaptiveAvgPool2d($0[0], outputSize: (1, 1)) }, at: [x]) < 1e-3)
    }

    @Test func gradientsThroughChannelsLastView() {
        let channelsLast = distinctValues([2, 6, 5, 3])
        let toChannelsFirst = { (x: Tensor) in x.permuted([0, 3, 1, 2]) }
        #expect(gradientError(of: { avgPool2d(toChannelsFirst($0[0]), kernelSize: (3, 3), stride: (2, 2), padding: (1, 1)) },
                              at: [channelsLast]) < 1e-3)
        #expect(gradientError(of: { maxPool2d(toChannelsFirst($0[0]), kernelSize: (3, 3), stride: (2, 2), padding: (1, 1)) },
                              at: [channelsLast]) < 1e-3)
        #expect(gradientError(of: { adaptiveAvgPool2d(toChannelsFirst($0[0]), outputSize: (4, 3)) },
                              at: [channelsLast]) < 1e-3)
    }

    @Test func excessivePaddingStops() async {
        await #expect(processExitsWith: .failure) {
            _ = maxPool2d(Tensor.zeros([1, 1, 4, 4]), kernelSize: (2, 2), padding: (2, 2))
        }
    }
}

import Testing
import TensorCore
import TestSupport

@Suite struct NormalizationTests {
    func composedLayerNorm(_ x: Tensor, _ weight: Tensor, _ bias: Tensor, epsilon: Float = 1e-5) -> Tensor {
        let centered = x - x.mean(axes: [-1], keepingDimensions: true)
        let variance = centered.squared().mean(axes: [-1], keepingDimensions: true)
        return centered * (variance + epsilon).rsqrt() * weight + bias
    }

    func composedRMSNorm(_ x: Tensor, _ weight: Tensor, epsilon: Float = 1e-6) -> Tensor {
        x * (x.squared().mean(axes: [-1], keepingDimensions: true) + epsilon).rsqrt() * weight
    }

    @Test func layerNormMatchesComposition() {
        let x = Tensor.randomNormal([2, 3, 8], mean: 1, standardDeviation: 2, seed: 1)
        let weight = Tensor.randomNormal([8], seed: 2), bias = Tensor.randomNormal([8], seed: 3)
        #expect(maxAbsoluteDifference(layerNorm(x, weight: weight, bias: bias), composedLayerNorm(x, weight, bias)) < 1e-5)
        let plain = layerNorm(x, weight: nil, bias: nil)
        #expect(maxAbsoluteDifference(plain, composedLayerNorm(x, .ones([8]), .zeros([8]))) < 1e-5)
    }

    @Test func layerNormGradients() {
        let x = Tensor.randomNormal([3, 6], seed: 4)
        let weight = Tensor.randomNormal([6], seed: 5), bias = Tensor.randomNormal([6], seed: 6)
        #expect(gradientError(of: { layerNorm($0[0], weight: $0[1], bias: $0[2]) }, at: [x, weight, bias]) < 1e-3)
        #expect(gradientError(of: { layerNorm($0[0], weight: nil, bias: nil) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { layerNorm($0[0], weight: $0[1], bias: nil) }, at: [x, weight]) < 1e-3)
        // Non-contiguous input: a transposed view and a slice.
        let square = Tensor.randomNormal([6, 6], seed: 7)
        #expect(gradientError(of: { layerNorm($0[0].transposed(), weight: $0[1], bias: $0[2]) },
                              at: [square, weight, bias]) < 1e-3)
        #expect(gradientError(of: { layerNorm($0[0].sliced(axis: 0, 1..<4), weight: $0[1], bias: $0[2]) },
                              at: [square, weight, bias]) < 1e-3)
    }

    @Test func rmsNormMatchesCompositionAndGradients() {
        let x = Tensor.randomNormal([2, 3, 8], seed: 8)
        let weight = Tensor.randomNormal([8], seed: 9)
        #expect(maxAbsoluteDifference(rmsNorm(x, weight: weight), composedRMSNorm(x, weight)) < 1e-5)
        let small = Tensor.randomNormal([6, 6], seed: 10), smallWeight = Tensor.randomNormal([6], seed: 11)
        #expect(gradientError(of: { rmsNorm($0[0], weight: $0[1]) }, at: [small, smallWeight]) < 1e-3)
        #expect(gradientError(of: { rmsNorm($0[0].transposed(), weight: $0[1]) }, at: [small, smallWeight]) < 1e-3)
        #expect(gradientError(of: { rmsNorm($0[0], weight: nil) }, at: [small]) < 1e-3)
    }

    @Test func narrowWeightsAreWidened() {
        let x = Tensor.randomNormal([4, 8], seed: 12)
        let weight = Tensor.randomNormal([8], seed: 13).converted(to: .bfloat16)
        let widened = weight.contiguous()
        #expect(maxAbsoluteDifference(rmsNorm(x, weight: weight), rmsNorm(x, weight: widened)) == 0)
        #expect(maxAbsoluteDifference(layerNorm(x, weight: weight, bias: nil),
                                      layerNorm(x, weight: widened, bias: nil)) == 0)
    }

    @Test func threadedRowsAgreeWithComposition() {
        let x = Tensor.randomNormal([96, 400], seed: 14).requiringGradient()
        let weight = Tensor.randomNormal([400], seed: 15).requiringGradient()
        let bias = Tensor.randomNormal([400], seed: 16).requiringGradient()
        let upstream = Tensor.randomNormal([96, 400], seed: 17)
        layerNorm(x, weight: weight, bias: bias).backward(upstream)
        let fused = [x, weight, bias].map { $0.grad! }
        for tensor in [x, weight, bias] { tensor.grad = nil }
        composedLayerNorm(x, weight, bias).backward(upstream)
        for (tensor, gradient) in zip([x, weight, bias], fused) {
            #expect(maxAbsoluteDifference(gradient, tensor.grad!) < 1e-3)
        }
        for tensor in [x, weight] { tensor.grad = nil }
        rmsNorm(x, weight: weight).backward(upstream)
        let rms = [x, weight].map { $0.grad! }
        for tensor in [x, weight] { tensor.grad = nil }
        composedRMSNorm(x, weight).backward(upstream)
        for (tensor, gradient) in zip([x, weight], rms) {
            #expect(maxAbsoluteDifference(gradient, tensor.grad!) < 1e-3)
        }
    }
}

import Testing
import TensorCore
import TestSupport

/// Finite-difference checks of the elementwise functions, reductions and layout ops, on
/// contiguous and non-contiguous (transposed, sliced, broadcast) inputs.
@Suite struct UnaryAndReductionTests {
    let x = Tensor.randomNormal([3, 5], seed: 21)
    let positive = Tensor.randomUniform([3, 5], low: 0.5, high: 2, seed: 22)
    /// Values kept away from the kinks of relu, relu6, abs and clamp.
    let awayFromKinks = Tensor((0..<15).map { Float($0) * 0.53 - 3.9 }, shape: [3, 5])

    @Test func elementwiseFunctions() {
        let smooth: [(String, (Tensor) -> Tensor)] = [
            ("exp", { $0.exp() }), ("tanh", { $0.tanh() }), ("erf", { $0.erf() }), ("sigmoid", { $0.sigmoid() }),
            ("silu", { $0.silu() }), ("gelu", { $0.gelu() }), ("gelu_tanh", { $0.gelu(approximate: true) }),
            ("square", { $0.squared() }), ("negate", { -$0 }), ("scalar", { 2 * $0 + 1 }),
        ]
        for (name, function) in smooth {
            #expect(gradientError(of: { function($0[0]) }, at: [x]) < 1e-3, "\(name)")
            #expect(gradientError(of: { function($0[0].transposed()) }, at: [x]) < 1e-3, "\(name) on a transposed view")
        }
        let onPositive: [(String, (Tensor) -> Tensor)] = [
            ("log", { $0.log() }), ("sqrt", { $0.sqrt() }), ("rsqrt", { $0.rsqrt() }), ("pow", { $0.pow(1.7) }),
        ]
        for (name, function) in onPositive {
            #expect(gradientError(of: { function($0[0]) }, at: [positive]) < 1e-3, "\(name)")
        }
        let piecewise: [(String, (Tensor) -> Tensor)] = [
            ("relu", { $0.relu() }), ("relu6", { ($0 * 2).relu6() }), ("abs", { $0.abs() }),
            ("clamp", { $0.clamped(min: -1, max: 1.2) }),
        ]
        for (name, function) in piecewise {
            #expect(gradientError(of: { function($0[0]) }, at: [awayFromKinks], step: 1e-3) < 1e-3, "\(name)")
        }
    }

    @Test func reductions() {
        #expect(gradientError(of: { $0[0].sum(axes: [1]) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { $0[0].sum(axes: [0], keepingDimensions: true) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { $0[0].transposed().mean(axes: [0]) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { $0[0].variance(axes: [1]) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { $0[0].variance(axes: [0], unbiased: true) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { $0[0].max(axis: 1) }, at: [awayFromKinks]) < 1e-3)
        #expect(gradientError(of: { $0[0].sliced(axis: 1, 1..<4).max(axis: 0, keepingDimensions: true) }, at: [x]) < 1e-3)
    }

    @Test func layoutOps() {
        #expect(gradientError(of: { $0[0].reshaped([5, 3]) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { $0[0].transposed().reshaped([15]) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { $0[0].unsqueezed(0).permuted([2, 0, 1]) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { $0[0].sliced(axis: 0, 1..<3).padded(axis: 1, before: 2, after: 1) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { $0[0].sliced(axis: 1, 0..<1).expanded(to: [2, 3, 4]) }, at: [x]) < 1e-3)
        #expect(gradientError(of: { concatenate([$0[0], $0[1].transposed()], axis: 0) },
                              at: [x, Tensor.randomNormal([5, 2], seed: 23)]) < 1e-3)
        #expect(gradientError(of: { $0[0].converted(to: .float32).copied() }, at: [x]) < 1e-3)
    }

    @Test func maxAndArgmaxPickTheFirstLargest() {
        let t = Tensor([1, 3, 3, 2, 0, -1], shape: [2, 3])
        #expect(t.max(axis: 1).toArray() == [3, 2])
        #expect(t.argmax(axis: 1).toArray() == [1, 0])
    }
}

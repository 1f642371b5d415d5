import Testing
import TensorCore
import TestSupport

@Suite struct SelectionTests {
    @Test func selectingBroadcastsAllThree() {
        let condition = Tensor([1, 0], shape: [2, 1])
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let y = Tensor([-1, -2, -3], shape: [3])
        #expect(selecting(where: condition, x, otherwise: y).toArray() == [1, 2, 3, -1, -2, -3])
        let perElement = Tensor([0, 1, 0], shape: [3])
        #expect(selecting(where: perElement, x, otherwise: Tensor(scalar: 0)).toArray() == [0, 2, 0, 0, 5, 0])
    }

    @Test func selectingGradientsFlowToThePickedOperand() {
        let condition = Tensor([1, 0, 0, 1, 1, 0], shape: [2, 3])
        let x = Tensor.randomNormal([2, 3], seed: 1), y = Tensor.randomNormal([3], seed: 2)
        #expect(gradientError(of: { selecting(where: condition, $0[0], otherwise: $0[1]) }, at: [x, y]) < 1e-3)
        let square = Tensor.randomNormal([3, 3], seed: 3)
        let column = Tensor([1, 0, 1], shape: [3, 1])
        #expect(gradientError(of: { selecting(where: column, $0[0].transposed(), otherwise: $0[1]) }, at: [square, y]) < 1e-3)
        let xLeaf = Tensor.randomNormal([2, 3], seed: 4).requiringGradient()
        let yLeaf = Tensor.randomNormal([3], seed: 5).requiringGradient()
        selecting(where: condition, xLeaf, otherwise: yLeaf).sum().backward()
        #expect(xLeaf.grad!.toArray() == [1, 0, 0, 1, 1, 0])
        #expect(yLeaf.grad!.toArray() == [0, 1, 2])
    }

    @Test func maskedFillBroadcastsAndBlocksGradient() {
        let x = Tensor.randomNormal([2, 2, 3], seed: 6)
        let mask = Tensor([0, 1, 1], shape: [1, 1, 3])
        let filled = x.maskedFilled(where: mask, with: -.infinity).toArray()
        #expect(filled.enumerated().allSatisfy { $0.offset % 3 == 0 ? $0.element.isFinite : $0.element == -.infinity })
        #expect(gradientError(of: { $0[0].maskedFilled(where: mask, with: 5) }, at: [x]) < 1e-3)
        let square = Tensor.randomNormal([3, 3], seed: 7)
        #expect(gradientError(of: { $0[0].transposed().maskedFilled(where: mask.reshaped([3]), with: 0) }, at: [square]) < 1e-3)
        let leaf = x.detached().requiringGradient()
        leaf.maskedFilled(where: mask, with: 0).sum().backward()
        #expect(leaf.grad!.toArray() == [Float](repeating: 0, count: 4).flatMap { _ in [Float(1), 0, 0] })
    }
}

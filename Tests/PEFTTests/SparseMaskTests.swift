import Foundation
import NN
import PEFT
import TensorCore
import Testing

@Suite struct SparseMaskTests {
    let scores: [String: Tensor] = [
        "a": Tensor([5, 1, 3, 3, 0, 9], shape: [2, 3]),
        "b": Tensor([2, 8, 3, 4], shape: [4]),
    ]

    @Test func globalTopFractionTakesTheHighestScoresAcrossTensors() {
        let mask = SparseMask(topFraction: 0.4, of: scores, scope: .global)   // 4 of 10
        #expect(mask.selectedCount == 4)
        #expect(mask.indices["a"] == [0, 5] && mask.indices["b"] == [1, 3])
        #expect(mask.elementCount == 10)
    }

    @Test func tiesAreBrokenByPathThenIndex() {
        let mask = SparseMask(topFraction: 0.5, of: scores, scope: .global)   // 9 8 5 4, then one 3 of three
        #expect(mask.indices["a"] == [0, 2, 5] && mask.indices["b"] == [1, 3])
    }

    @Test func perTensorTopFractionGivesEveryTensorItsShare() {
        let mask = SparseMask(topFraction: 0.5, of: scores, scope: .perTensor)
        #expect(mask.indices["a"] == [0, 2, 5] && mask.indices["b"] == [1, 3])
        let dense = mask.dense(path: "a", shape: [2, 3]).toArray()
        #expect(dense == [1, 0, 1, 0, 0, 1])
    }

    /// AdamW with weight decay: every unselected element keeps its base value bit for bit;
    /// selected elements move. Without the restore, weight decay would move all of them.
    @Test func selectiveTrainingUpdatesOnlyMaskedElementsUnderAdamWWithWeightDecay() {
        let model = ScoringModel()
        let base = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.path, $0.tensor.toArray()) })
        let analysis = analyse(model)
        var mask = SparseMask(topFraction: 0.2, of: analysis.scores(.fisher).filter { $0.key.hasPrefix("fc") })
        mask.selectAll(of: ["fc2.bias": parameter(model, "fc2.bias")])
        let selective = SelectiveFineTuning(model: model, mask: mask)
        #expect(Set(model.trainableParameters().map(\.path)) == Set(mask.selectedPaths))
        let optimizer = AdamW(learningRate: 0.05, weightDecay: 0.1)
        for step in 0..<6 {
            let (x, targets) = scoringBatches[step % 2]
            crossEntropy(logits: model(x), targets: targets).backward()
            selective.step(with: optimizer)
            model.zeroGradients()
        }
        var moved = 0
        for (path, values) in base {
            let now = parameter(model, path).toArray()
            let selected = Set(mask.indices[path] ?? [])
            for index in values.indices {
                if selected.contains(index) { moved += now[index] != values[index] ? 1 : 0 }
                else { #expect(now[index].bitPattern == values[index].bitPattern, "\(path)[\(index)] moved") }
            }
        }
        #expect(moved == mask.selectedCount)
        #expect(selective.trainableCount == mask.selectedCount)
    }

    @Test func maskedGradientsAreZeroOutsideTheMask() {
        let model = ScoringModel()
        let mask = SparseMask(indices: ["fc1.weight": [0, 7]], elementCounts: ["fc1.weight": 20])
        let selective = SelectiveFineTuning(model: model, mask: mask)
        crossEntropy(logits: model(scoringBatches[0].0), targets: scoringBatches[0].1).backward()
        selective.maskGradients()
        let gradient = parameter(model, "fc1.weight").grad!.toArray()
        #expect(gradient.enumerated().allSatisfy { [0, 7].contains($0.offset) ? $0.element != 0 : $0.element == 0 })
    }
}

import NN
import PEFT
import TensorCore
import Testing

@Suite struct MovementScoresTests {
    /// One plain SGD step moves each element by exactly lr·|gradient|; weights the loss does not
    /// reach do not move.
    @Test func oneSGDStepMovesEachElementByTheLearningRateTimesItsGradient() {
        let model = ScoringModel()
        let (x, targets) = scoringBatches[0]
        crossEntropy(logits: model(x), targets: targets).backward()
        let gradients = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.path, $0.tensor.grad?.toArray()) })
        model.zeroGradients()
        let rate: Float = 0.5
        let scores = MovementScores.measure(model: model, steps: 1, optimizer: SGD(learningRate: rate)) { _ in
            crossEntropy(logits: model(x), targets: targets)
        }
        for path in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"] {
            let expected = gradients[path]!!.map { rate * Swift.abs($0) }, actual = scores[path]!.toArray()
            #expect(zip(actual, expected).allSatisfy { Swift.abs($0 - $1) <= 1e-6 }, "\(path)")
            #expect(actual.contains { $0 > 0 }, "\(path)")
        }
        for path in ["dead.weight", "unused.weight", "unused.bias"] {
            #expect(scores[path]!.toArray().allSatisfy { $0 == 0 }, "\(path)")
        }
    }

    /// After the probe the model is as it was: values, trainability, gradients and mode; only
    /// the matched parameters are scored.
    @Test func theProbeLeavesTheModelAsItFoundIt() {
        let model = ScoringModel()
        model.freeze()
        model.unfreeze(matching: "fc2\\..*")
        let before = model.namedParameters().map { ($0.path, $0.tensor.toArray(), $0.tensor.requiresGradient) }
        let scores = MovementScores.measure(model: model, matching: "fc1\\..*", steps: 3,
                                            optimizer: AdamW(learningRate: 0.1), maxGradientNorm: 1) { step in
            let (x, targets) = scoringBatches[step % scoringBatches.count]
            return crossEntropy(logits: model(x), targets: targets)
        }
        #expect(Set(scores.keys) == ["fc1.weight", "fc1.bias"])
        #expect(scores["fc1.weight"]!.toArray().allSatisfy { $0 > 0 })
        let after = model.namedParameters()
        for ((path, values, trainable), (_, tensor)) in zip(before, after) {
            #expect(tensor.toArray() == values, "\(path)")
            #expect(tensor.requiresGradient == trainable, "\(path)")
            #expect(tensor.grad == nil, "\(path)")
        }
        #expect(model.isTraining)
    }
}

import Foundation
import Testing
import TensorCore
import TestSupport
@testable import NN

/// Compares optimizers and schedules with PyTorch trajectories (scripts/fixtures/optimizers.py).
@Suite struct OptimizerTests {
    struct Fixture: Decodable {
        struct Run: Decodable { let trajectory: [[Float]] }
        struct Schedule: Decodable { let rates: [Float] }
        let initial: [Float]
        let gradients: [[Float]]
        let runs: [String: Run]
        let schedules: [String: Schedule]
    }

    final class Holder: Module {
        init(_ values: [Float]) {
            super.init()
            register(parameter: "weight", Tensor(values, shape: [values.count]))
        }
    }

    let fixture: Fixture = try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixtureURL("optimizers.json")))

    func trajectory(_ optimizer: Optimizer) -> [[Float]] {
        let model = Holder(fixture.initial)
        return fixture.gradients.map { gradient in
            model.parameter("weight").grad = Tensor(gradient, shape: [gradient.count])
            optimizer.step(model)
            return model.parameter("weight").toArray()
        }
    }

    func expectMatches(_ name: String, _ optimizer: Optimizer) {
        let actual = trajectory(optimizer), expected = fixture.runs[name]!.trajectory
        for (step, (a, e)) in zip(actual, expected).enumerated() {
            #expect(isClose(a, e, relative: 1e-5), "\(name) step \(step + 1): \(a) vs \(e)")
        }
    }

    @Test func adamWMatchesPyTorch() {
        expectMatches("adamw", AdamW(learningRate: 0.01, weightDecay: 0.1))
    }

    /// AdamW splits large tensors across threads: the same update element for element as one
    /// thread, and each element as the PyTorch-checked small case computes it.
    @Test func adamWOnALargeTensorIsTheSameOnAnyThreadCount() {
        let count = 300_001
        let initial = Tensor.randomNormal([count], seed: 5).toArray(), gradient = Tensor.randomNormal([count], seed: 6)
        func updated(threads: Int) -> [Float] {
            let model = Holder(initial)
            let optimizer = AdamW(learningRate: 0.01, weightDecay: 0.1)
            Parallel.withThreadCount(threads) {
                for _ in 0..<2 {
                    model.parameter("weight").grad = gradient
                    optimizer.step(model)
                }
            }
            return model.parameter("weight").toArray()
        }
        let threaded = updated(threads: 2)
        #expect(threaded == updated(threads: 1))
        // The last element alone, through the unsplit path.
        let single = Holder([initial[count - 1]])
        let optimizer = AdamW(learningRate: 0.01, weightDecay: 0.1)
        for _ in 0..<2 {
            single.parameter("weight").grad = Tensor([gradient.toArray()[count - 1]], shape: [1])
            optimizer.step(single)
        }
        #expect(single.parameter("weight").toArray()[0] == threaded[count - 1])
    }

    @Test func sgdVariantsMatchPyTorch() {
        expectMatches("sgd", SGD(learningRate: 0.1))
        expectMatches("sgd_momentum", SGD(learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01))
        expectMatches("sgd_nesterov", SGD(learningRate: 0.1, momentum: 0.9, nesterov: true))
    }

    @Test func schedulesMatchTransformers() {
        for kind in [LearningRateSchedule.Kind.linear, .cosine] {
            let schedule = LearningRateSchedule(kind: kind, peak: 0.5, warmupSteps: 3, totalSteps: 10)
            // Steps 0...totalSteps; past the end transformers' cosine rises again, ours stays at 0.
            let rates = (0...10).map { schedule.learningRate(atStep: $0) }
            let expected = Array(fixture.schedules[kind.rawValue]!.rates.prefix(11))
            #expect(isClose(rates, expected, relative: 1e-6), "\(kind): \(rates)")
            #expect(schedule.learningRate(atStep: 11) == 0)
        }
    }

    @Test func clippingScalesToMaxNorm() {
        let model = Holder([1, 2])
        model.parameter("weight").grad = Tensor([3, 4], shape: [2])
        let norm = model.clipGradientNorm(maxNorm: 1)
        #expect(Swift.abs(norm - 5) < 1e-5)
        #expect(isClose(model.parameter("weight").grad!.toArray(), [0.6, 0.8], relative: 1e-5))
    }

    @Test func optimizerCopiesBorrowedOrNarrowWeightsBeforeUpdating() {
        let model = Holder([1, 2, 3])
        let narrow = Tensor([1, 2, 3], shape: [3]).converted(to: .bfloat16)
        model.replaceTensor(at: "weight", with: narrow)
        model.parameter("weight").grad = Tensor([1, 1, 1], shape: [3])
        SGD(learningRate: 0.5).step(model)
        #expect(model.parameter("weight").dtype == .float32)
        #expect(model.parameter("weight").toArray() == [0.5, 1.5, 2.5])
        #expect(narrow.toArray() == [1, 2, 3])
    }

    @Test func gradientAccumulationAddsUp() {
        let model = Holder([1, 2])
        let w = model.parameter("weight")
        (w * Tensor([1, 1], shape: [2])).sum().backward()
        (w * Tensor([2, 3], shape: [2])).sum().backward()
        #expect(w.grad!.toArray() == [3, 4])
        model.zeroGradients()
        #expect(w.grad == nil)
    }
}

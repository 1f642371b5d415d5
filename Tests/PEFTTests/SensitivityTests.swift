import Foundation
import NN
import PEFT
import TensorCore
import Testing

/// fc1 (4->5), fc2 (5->3), plus `dead` (its output is multiplied by zero) and `unused` (never
/// called): logits = fc2(fc1(x)) + 0·dead(x).
final class ScoringModel: Module, UnaryLayer {
    init(seed: UInt64 = 1) {
        var generator = RandomGenerator(seed: seed)
        super.init()
        register("fc1", Linear(inputDimensions: 4, outputDimensions: 5, generator: &generator))
        register("fc2", Linear(inputDimensions: 5, outputDimensions: 3, generator: &generator))
        register("dead", Linear(inputDimensions: 4, outputDimensions: 3, generator: &generator))
        register("unused", Linear(inputDimensions: 4, outputDimensions: 3, generator: &generator))
    }

    func callAsFunction(_ x: Tensor) -> Tensor {   // [B, 4] -> [B, 3]
        layer("fc2")(layer("fc1")(x)) + layer("dead")(x) * 0
    }
}

/// Two seeded batches of 6 examples.
let scoringBatches: [(Tensor, [Int])] = [
    (Tensor.randomNormal([6, 4], seed: 11), [0, 1, 2, 0, 1, 2]),
    (Tensor.randomNormal([6, 4], seed: 12), [2, 2, 1, 0, 0, 1]),
]

func analyse(_ model: ScoringModel) -> SensitivityAnalysis {
    let analysis = SensitivityAnalysis(model: model)
    for (x, targets) in scoringBatches { analysis.accumulate { crossEntropy(logits: model(x), targets: targets) } }
    return analysis
}

@Suite struct SensitivityTests {
    @Test func weightsThatDoNotReachTheLossScoreZero() {
        let analysis = analyse(ScoringModel())
        for path in ["dead.weight", "dead.bias", "unused.weight", "unused.bias"] {
            #expect(analysis.scores(.taylor, path: path).toArray().allSatisfy { $0 == 0 }, "\(path)")
            #expect(analysis.scores(.fisher, path: path).toArray().allSatisfy { $0 == 0 }, "\(path)")
            #expect(analysis.scores(.magnitude, path: path).toArray().contains { $0 > 0 }, "\(path)")
        }
        #expect(analysis.scores(.fisher, path: "fc1.weight").toArray().allSatisfy { $0 > 0 })
    }

    /// fc1 scaled by c = 4 and fc2's weight by 1/c leaves the logits unchanged; then fc1's
    /// gradients scale by 1/c and fc2's weight gradient by c, so per element: Taylor
    /// |g·w| is unchanged, Fisher g² scales by 1/c² (fc1) and c² (fc2.weight), magnitude by
    /// c and 1/c. Powers of two scale floats exactly, so the scores match exactly.
    @Test func scalingALayerScalesItsScoresAsTheTheoryPredicts() {
        let c: Float = 4
        let original = ScoringModel(), scaled = ScoringModel()
        Tensor.withoutGradient {
            for path in ["fc1.weight", "fc1.bias"] {
                scaled.replaceTensor(at: path, with: parameter(scaled, path) * c)
            }
            scaled.replaceTensor(at: "fc2.weight", with: parameter(scaled, "fc2.weight") * (1 / c))
        }
        let before = analyse(original), after = analyse(scaled)
        let expectations: [(String, SensitivityScore, Float)] = [
            ("fc1.weight", .taylor, 1), ("fc1.weight", .fisher, 1 / (c * c)), ("fc1.weight", .magnitude, c),
            ("fc1.bias", .taylor, 1), ("fc1.bias", .fisher, 1 / (c * c)), ("fc1.bias", .magnitude, c),
            ("fc2.weight", .taylor, 1), ("fc2.weight", .fisher, c * c), ("fc2.weight", .magnitude, 1 / c),
            ("fc2.bias", .taylor, 1), ("fc2.bias", .fisher, 1), ("fc2.bias", .magnitude, 1),
        ]
        for (path, kind, factor) in expectations {
            let expected = before.scores(kind, path: path).toArray().map { $0 * factor }
            let actual = after.scores(kind, path: path).toArray()
            #expect(zip(actual, expected).allSatisfy { Swift.abs($0 - $1) <= 1e-6 * Swift.max(Swift.abs($1), 1e-12) },
                    "\(path) \(kind): \(actual.prefix(3)) vs \(expected.prefix(3))")
        }
    }

    @Test func scoresAreMeansOverSamplesOfTheGradient() {
        let model = ScoringModel()
        var taylor = [Float](repeating: 0, count: 20), fisher = [Float](repeating: 0, count: 20)
        let weight = parameter(model, "fc1.weight").toArray()
        for (x, targets) in scoringBatches {
            model.zeroGradients()
            crossEntropy(logits: model(x), targets: targets).backward()
            let g = parameter(model, "fc1.weight").grad!.toArray()
            for i in 0..<20 { taylor[i] += Swift.abs(g[i] * weight[i]) / 2; fisher[i] += g[i] * g[i] / 2 }
        }
        model.zeroGradients()
        let analysis = analyse(model)
        #expect(analysis.sampleCount == 2)
        #expect(zip(analysis.scores(.taylor, path: "fc1.weight").toArray(), taylor).allSatisfy { Swift.abs($0 - $1) <= 1e-6 * Swift.abs($1) })
        #expect(zip(analysis.scores(.fisher, path: "fc1.weight").toArray(), fisher).allSatisfy { Swift.abs($0 - $1) <= 1e-6 * Swift.abs($1) })
        // Trainability and gradients are left as they were.
        #expect(parameter(model, "fc1.weight").grad == nil && parameter(model, "fc1.weight").requiresGradient)
    }

    @Test func reportAggregatesPerModuleAndLayer() {
        let tensors = [
            SensitivityReport.TensorScores(path: "bert.encoder.layer.3.attention.self.query.weight", shape: [4, 4],
                                           totals: [.taylor: 2, .fisher: 8, .magnitude: 1], maxima: [:]),
            SensitivityReport.TensorScores(path: "bert.encoder.layer.3.attention.self.query.bias", shape: [4],
                                           totals: [.taylor: 1, .fisher: 2, .magnitude: 1], maxima: [:]),
            SensitivityReport.TensorScores(path: "bert.encoder.layer.10.output.dense.weight", shape: [4, 4],
                                           totals: [.taylor: 5, .fisher: 1, .magnitude: 1], maxima: [:]),
            SensitivityReport.TensorScores(path: "bert.embeddings.word_embeddings.weight", shape: [10, 4],
                                           totals: [.taylor: 0, .fisher: 0, .magnitude: 3], maxima: [:]),
        ]
        let report = SensitivityReport(sampleCount: 1, tensors: tensors)
        #expect(tensors[0].layer == 3 && tensors[0].kind == "attention.self.query")
        #expect(tensors[2].layer == 10 && tensors[2].kind == "output.dense")
        #expect(tensors[3].layer == nil && tensors[3].kind == "bert.embeddings.word_embeddings")
        let query = report.modules.first { $0.name == "bert.encoder.layer.3.attention.self.query" }!
        #expect(query.total.fisher == 10 && query.parameterCount == 20 && query.mean.fisher == 0.5)
        #expect(report.layers.map(\.name) == ["layer.3", "layer.10"])
        #expect(report.modules(rankedBy: .taylor).first?.name == "bert.encoder.layer.10.output.dense")
        #expect(report.modules(rankedBy: .fisher).first?.name == "bert.encoder.layer.3.attention.self.query")
        let svg = report.heatMapSVG(score: .fisher)
        #expect(svg.hasPrefix("<svg") && svg.contains("layer 10") && svg.contains("attention.self.query"))
        #expect(svg.components(separatedBy: "<rect").count - 1 == 2)
    }

    @Test func reportRoundTripsThroughJSON() throws {
        let report = analyse(ScoringModel()).report()
        let decoded = try JSONDecoder().decode(SensitivityReport.self, from: report.jsonData())
        #expect(decoded.modules.map(\.name) == report.modules.map(\.name))
        #expect(decoded.tensors.map(\.total) == report.tensors.map(\.total))
    }
}

/// The parameter at a dotted path.
func parameter(_ model: Module, _ path: String) -> Tensor {
    model.namedParameters().first { $0.path == path }!.tensor
}

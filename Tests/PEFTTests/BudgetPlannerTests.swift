import Formats
import Foundation
import Models
import NN
import PEFT
import TensorCore
import TestSupport
import Testing

@Suite struct BudgetPlannerTests {
    /// Two layers of query [8, 8], value [8, 8] and intermediate [16, 8] weights with chosen
    /// Fisher totals, plus an embedding and a LayerNorm that are never candidates.
    func report(_ fisher: [String: Double]) -> SensitivityReport {
        var tensors: [SensitivityReport.TensorScores] = []
        for layer in 0..<2 {
            for (name, shape) in [("attention.self.query", [8, 8]), ("attention.self.value", [8, 8]), ("intermediate.dense", [16, 8])] {
                let module = "encoder.layer.\(layer).\(name)"
                tensors.append(.init(path: module + ".weight", shape: shape, totals: [.fisher: fisher[module] ?? 0], maxima: [:]))
            }
            tensors.append(.init(path: "encoder.layer.\(layer).output.LayerNorm.weight", shape: [8], totals: [.fisher: 1e6], maxima: [:]))
        }
        tensors.append(.init(path: "embeddings.word_embeddings.weight", shape: [50, 8], totals: [.fisher: 1e6], maxima: [:]))
        return SensitivityReport(sampleCount: 1, tensors: tensors)
    }

    let scores = ["encoder.layer.1.attention.self.value": 8.0, "encoder.layer.0.attention.self.query": 4.0,
                  "encoder.layer.1.intermediate.dense": 2.0, "encoder.layer.0.attention.self.value": 1.0,
                  "encoder.layer.0.intermediate.dense": 0.1]

    @Test func ranksFollowSensitivityWithinTheBudget() throws {
        let plan = try BudgetPlanner.planLoRA(report: report(scores), budget: 300)
        #expect(plan.parameterCount <= 300)
        let ranks = Dictionary(uniqueKeysWithValues: plan.targets.map { ($0.path, $0.rank) })
        // Rank grows with the score; the leftover budget only raises ranks, never past the budget.
        #expect(ranks["encoder.layer.1.attention.self.value"]! >= ranks["encoder.layer.0.attention.self.query"]!)
        #expect(ranks["encoder.layer.0.attention.self.query"]! >= ranks["encoder.layer.1.intermediate.dense"]!)
        #expect(ranks["encoder.layer.1.attention.self.query"] == nil)   // score 0: never adapted
        #expect(plan.targets.first?.path == "encoder.layer.1.attention.self.value")
        #expect(plan.targets.allSatisfy { BudgetPlanner.defaultAllowedRanks.contains($0.rank) })
    }

    @Test func aTightBudgetKeepsOnlyTheTopModuleAndATinyOneIsAnError() throws {
        let plan = try BudgetPlanner.planLoRA(report: report(scores), budget: 20)
        #expect(plan.targets.map(\.path) == ["encoder.layer.1.attention.self.value"] && plan.targets[0].rank == 1)
        #expect(throws: BudgetPlanner.PlanError.budgetTooSmall(budget: 15, minimum: 16, module: "encoder.layer.1.attention.self.value")) {
            try BudgetPlanner.planLoRA(report: report(scores), budget: 15)
        }
    }

    /// Covering every module: each one the loss reaches gets at least the smallest rank, the rest
    /// of the budget still follows sensitivity; a budget that cannot cover them all plans as
    /// without coverage.
    @Test func coverageGivesEveryReachedModuleARankWhenAffordable() throws {
        let plan = try BudgetPlanner.planLoRA(report: report(scores), budget: 300)
        let ranks = Dictionary(uniqueKeysWithValues: plan.targets.map { ($0.path, $0.rank) })
        #expect(Set(ranks.keys) == Set(scores.keys))   // all five scored modules, not the unreached query
        #expect(plan.parameterCount <= 300 && plan.parameterCount > 300 - 16)
        #expect(ranks["encoder.layer.1.attention.self.value"]! >= ranks["encoder.layer.0.attention.self.query"]!)
        #expect(ranks["encoder.layer.0.attention.self.query"]! >= ranks["encoder.layer.0.intermediate.dense"]!)
        // 16 + 16 + 24 + 16 + 24 = 96 parameters cover all five at rank 1; without coverage the
        // same 100 go to the most sensitive modules.
        let covered = try BudgetPlanner.planLoRA(report: report(scores), budget: 100)
        #expect(Set(covered.targets.map(\.path)) == Set(scores.keys) && covered.targets.allSatisfy { $0.rank == 1 })
        let uncovered = try BudgetPlanner.planLoRA(report: report(scores), budget: 100, coversEveryModule: false)
        #expect(uncovered.targets.count < covered.targets.count && uncovered.parameterCount <= 100)
        let tight = try BudgetPlanner.planLoRA(report: report(scores), budget: 90, coversEveryModule: true)
        #expect(tight.targets == (try BudgetPlanner.planLoRA(report: report(scores), budget: 90, coversEveryModule: false)).targets)
    }

    /// The configuration adapts exactly the planned modules at the planned ranks.
    @Test func theConfigurationInjectsThePlannedRanks() throws {
        let plan = try BudgetPlanner.planLoRA(report: report(scores), budget: 300)
        let configuration = plan.configuration(alphaRatio: 2)
        let model = TinyEncoder()
        let peft = try PeftModel(model: model, configuration: configuration)
        #expect(model.parameterCounts().trainable == plan.parameterCount)
        for target in plan.targets {
            let (rank, alpha) = configuration.rankAndAlpha(for: target.path)
            #expect(rank == target.rank && alpha == 2 * Double(target.rank))
        }
        #expect(peft.adapterLayers.count == plan.targets.count)
        let json = configuration.json
        #expect(json["peft_type"] == .string("LORA"))
    }

    /// On real MiniLM: score the encoder on one batch, plan 0.3% of the parameters, inject the
    /// plan with PeftModel: the adapter has exactly the planned parameters (plus the head).
    @Test func aPlanForMiniLMInjectsTheBudgetedParameters() throws {
        guard let folder = try assetURL("all-MiniLM-L6-v2") else { return }
        var generator = RandomGenerator(seed: 0)
        let classifier = BertForSequenceClassification(configuration: try BertConfiguration.load(from: folder), labelCount: 2,
                                                       generator: &generator)
        try classifier.bert.loadWeights(from: folder)
        classifier.setTraining(false)
        let ids = (0..<32).map { 1000 + ($0 * 37) % 5000 }
        let batch = TokenBatch(ids: ids, batchSize: 2, length: 16)
        let analysis = SensitivityAnalysis(model: classifier, matching: "bert\\.encoder\\..*")
        analysis.accumulate { crossEntropy(logits: classifier(batch), targets: [0, 1]) }
        let report = analysis.report()
        #expect(report.layers.count == 6 && report.modules.count == 6 * 8)
        let total = classifier.parameterCounts().total
        let plan = try BudgetPlanner.planLoRA(report: report, budget: total * 3 / 1000)
        #expect(plan.parameterCount <= total * 3 / 1000 && plan.parameterCount > total * 3 / 1000 - 768)
        _ = try PeftModel(model: classifier, configuration: plan.configuration(taskType: "SEQ_CLS"))
        #expect(classifier.parameterCounts().trainable == plan.parameterCount + 2 * 384 + 2)
    }

    @Test func sparseDensityCoversTheBudget() {
        let (density, count) = BudgetPlanner.sparseDensity(report: report(scores), budget: 100)
        #expect(count == 2 * (64 + 64 + 128 + 8) + 400 && Swift.abs(density - 100.0 / Double(count)) < 1e-12)
    }
}

/// Modules at the paths the planner tests name.
final class TinyEncoder: Module {
    override init() {
        super.init()
        let layers = Module()
        for index in 0..<2 {
            let layer = Module()
            let attention = Module(), projections = Module()
            projections.register("query", Linear(inputDimensions: 8, outputDimensions: 8))
            projections.register("value", Linear(inputDimensions: 8, outputDimensions: 8))
            attention.register("self", projections)
            layer.register("attention", attention)
            let intermediate = Module()
            intermediate.register("dense", Linear(inputDimensions: 8, outputDimensions: 16))
            layer.register("intermediate", intermediate)
            layers.register(String(index), layer)
        }
        let encoder = Module()
        encoder.register("layer", layers)
        register("encoder", encoder)
    }
}

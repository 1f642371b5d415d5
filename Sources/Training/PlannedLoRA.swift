import Foundation
import NN
import PEFT

/// The `planned-lora` method: LoRA whose target modules and ranks `BudgetPlanner` chooses from
/// the encoder's Fisher scores, within the trainable-parameter budget of uniform LoRA
/// r=`rank` on `target_modules` (or `budget_params`), so the two compare at equal budget.
/// alpha / r stays `alpha` / `rank` for every module. The plan is written to
/// `lora_plan.json` and the result saves as a PEFT adapter folder with `rank_pattern`.
///
/// ```swift
/// let plan = try PlannedLoRA.plan(configuration, classifier: classifier, analysis: MethodAnalysis(data: train))
/// print(plan.targets.map { "\($0.path) r=\($0.rank)" })
/// ```
enum PlannedLoRA {
    static let planFileName = "lora_plan.json"

    /// The plan saved in `analysis.planFolder` when resuming, otherwise a new one (then saved there).
    static func plan(_ configuration: TrainingConfiguration, classifier: SequenceClassifier,
                     analysis: MethodAnalysis) throws -> BudgetPlanner.LoRAPlan {
        let url = analysis.planFolder?.appendingPathComponent(planFileName)
        if analysis.reusesSavedPlan, let url {
            guard FileManager.default.fileExists(atPath: url.path) else { throw DataError.missingFile(file: url.path) }
            return try JSONDecoder().decode(BudgetPlanner.LoRAPlan.self, from: Data(contentsOf: url))
        }
        let budget = try configuration.budgetParams ?? uniformBudget(configuration, model: classifier.model)
        let scores = MethodSetup.scoreSensitivity(configuration, classifier: classifier, data: analysis.data)
        let plan = try BudgetPlanner.planLoRA(report: scores.report(), budget: budget, score: .fisher)
        if let url {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(plan).write(to: url, options: .atomic)
        }
        return plan
    }

    /// What uniform LoRA r=`rank` on `target_modules` trains in `model` (the classifier aside):
    /// r · (in + out) per targeted matrix.
    static func uniformBudget(_ configuration: TrainingConfiguration, model: Module) throws -> Int {
        let selector = TargetSelector(targetModules: .names(configuration.targetModules), modulesToSave: ["classifier"])
        let matrices = selector.targetPaths(in: model, taskType: "SEQ_CLS").compactMap { path in
            model.module(at: path)?.optionalParameter("weight").flatMap { $0.shape.count == 2 ? $0.shape : nil }
        }
        guard !matrices.isEmpty else {
            throw ConfigurationError.outOfRange(key: TrainingConfiguration.CodingKeys.targetModules.rawValue,
                                                value: configuration.targetModules.joined(separator: ","),
                                                expected: "names of matrix modules of the model (query, key, value, dense ...)")
        }
        return matrices.reduce(0) { $0 + configuration.rank * ($1[0] + $1[1]) }
    }
}

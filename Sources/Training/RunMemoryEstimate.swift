import PEFT

/// `MemoryEstimator`'s prediction for a sequence-classification run, made before training so
/// the run can log it beside the peak it then measures.
///
/// ```swift
/// if let estimate = RunMemoryEstimate.predict(configuration, classifier: classifier) { print(estimate.peakBytes) }
/// ```
public enum RunMemoryEstimate {
    /// The estimator's description of the configured method (nil for prompt and prefix tuning,
    /// which it does not model). Planned LoRA takes the ranks the plan chose.
    public static func method(_ configuration: TrainingConfiguration, classifier: SequenceClassifier) -> TrainingMethod? {
        switch configuration.method {
        case .full: return .full
        case .head: return .head
        case .selective: return .selective(density: configuration.density)
        case .lora: return .lora(rank: configuration.rank, targetModules: configuration.targetModules, dropout: configuration.dropout)
        case .plannedLoRA:
            guard let lora = classifier.peft?.configurations.values.first as? LoRAConfiguration,
                  case let .names(paths) = lora.targetModules else { return nil }
            let ranks = Dictionary(paths.map { ($0, lora.rankPattern[$0] ?? lora.rank) }, uniquingKeysWith: { first, _ in first })
            return .plannedLoRA(ranks: ranks, dropout: configuration.dropout)
        case .ia3: return .ia3
        case .houlsby, .pfeiffer:
            return .bottleneck(reductionFactor: configuration.reductionFactor, afterAttention: configuration.method == .houlsby)
        case .bitFit: return .bitFit
        case .norm: return .norm
        case .promptTuning, .prefixTuning: return nil
        }
    }

    /// The estimate of one training step at the run's batch size and padded length, with this
    /// machine's GEMM rate measured (about 0.2 s).
    public static func predict(_ configuration: TrainingConfiguration, classifier: SequenceClassifier, labelCount: Int) -> TrainingEstimate? {
        guard let method = method(configuration, classifier: classifier) else { return nil }
        let weightBytes = classifier.model.bert.namedParameters().first { $0.tensor.rank == 2 }?.tensor.dtype.byteSize ?? 4
        return MemoryEstimator(configuration: classifier.model.bert.configuration, labelCount: labelCount, weightElementBytes: weightBytes)
            .estimate(method: method, batchSize: configuration.batchSize, tokens: configuration.maxLength)
    }
}

import Foundation
import Models
import NN
import TensorCore

/// Trains the trainable parameters of a sequence classifier: AdamW or SGD, warm-up with
/// linear or cosine decay, gradient clipping and accumulation, evaluation every N steps or
/// each epoch, early stopping on a validation metric with the best weights kept, and
/// checkpoints that resume exactly. Seeded: the same inputs on the same machine give the same
/// weights.
///
/// What is trainable is decided before (freeze the model, or apply a PEFT method); the
/// trainer only trains what has `requiresGradient`.
///
/// ```swift
/// let trainer = Trainer(model: model, configuration: configuration, train: train, validation: validation,
///                       labelCount: 2, paddingID: 0) { model($0) }
/// let summary = try trainer.train(output: outputFolder, resume: false)
/// ```
public final class Trainer {
    public let model: Module
    public let configuration: TrainingConfiguration
    public let labelCount: Int
    public let optimizer: Optimizer
    public let schedule: LearningRateSchedule
    public var progress: ConsoleProgress?
    public var log: TrainingLog?
    /// Restricts each step to some elements of the trainable tensors (selective fine-tuning):
    /// gradients are masked before clipping, and the other elements restored after the update.
    public var updateMask: (any UpdateMask)?
    /// The loss of one training batch; nil takes the cross-entropy of `forward`'s logits
    /// [B, L] against the batch's labels. Set it for other objectives (next-token prediction).
    public var lossFunction: ((LabeledBatch) -> Tensor)?
    private let forward: (TokenBatch) -> Tensor   // -> logits [B, L]
    private let validation: [EncodedExample]?
    private var batcher: Batcher
    private var state: TrainerState

    public init(model: Module, configuration: TrainingConfiguration, train: [EncodedExample],
                validation: [EncodedExample]?, labelCount: Int, paddingID: Int,
                forward: @escaping (TokenBatch) -> Tensor) {
        precondition(!train.isEmpty, "Trainer: no training examples")
        self.model = model
        self.configuration = configuration
        self.labelCount = labelCount
        self.forward = forward
        self.validation = validation?.isEmpty == false ? validation : nil
        batcher = Batcher(examples: train, batchSize: configuration.batchSize, paddingID: paddingID, seed: configuration.seed)
        switch configuration.optimizer {
        case .adamw: optimizer = AdamW(learningRate: configuration.learningRate, weightDecay: configuration.weightDecay)
        case .sgd: optimizer = SGD(learningRate: configuration.learningRate, momentum: configuration.momentum,
                                   weightDecay: configuration.weightDecay)
        }
        let stepsPerEpoch = (batcher.batchesPerEpoch + configuration.gradientAccumulation - 1) / configuration.gradientAccumulation
        let total = stepsPerEpoch * configuration.epochs
        schedule = LearningRateSchedule(kind: LearningRateSchedule.Kind(rawValue: configuration.schedule) ?? .linear,
                                        peak: configuration.learningRate,
                                        warmupSteps: Int((Double(configuration.warmupRatio) * Double(total)).rounded(.up)),
                                        totalSteps: total)
        state = TrainerState(position: batcher.position)
        // Dropout and LoRA layers get generators derived from the run's seed, so runs repeat exactly.
        for (index, entry) in dropoutLayers().enumerated() {
            entry.layer.generator = RandomGenerator(seed: configuration.seed &+ 0x9E37_79B9 &* UInt64(index + 1))
        }
    }

    /// Optimizer steps in the whole run.
    public var totalSteps: Int { schedule.totalSteps }
    public var stepsPerEpoch: Int { schedule.totalSteps / configuration.epochs }

    /// Trains to the end (or early stop), writing `checkpoint.safetensors` (resumable) and
    /// `best.safetensors` (the best weights on validation) into `output`. With `resume`, it
    /// continues from the checkpoint there. `stopAfterSteps` ends the call after that many
    /// optimizer steps in total, with a checkpoint written, as a killed run would have.
    /// At the end the best weights (if there was validation) are loaded into the model.
    @discardableResult
    public func train(output: URL, resume: Bool = false, stopAfterSteps: Int? = nil) throws -> TrainingSummary {
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let checkpointURL = output.appendingPathComponent("checkpoint.safetensors")
        let bestURL = output.appendingPathComponent("best.safetensors")
        if resume {
            guard FileManager.default.fileExists(atPath: checkpointURL.path) else { throw CheckpointError.missing(file: checkpointURL.path) }
            state = try Checkpoint.restore(from: checkpointURL, model: model, optimizer: optimizer)
            batcher.restore(state.position)
            for entry in dropoutLayers() { if let generator = state.dropoutGenerators[entry.path] { entry.layer.generator = generator } }
        }
        log?.write(LogRecord(event: resume ? .resume : .start, step: state.step, epoch: epochProgress))
        model.setTraining(true)
        let started = Date()
        let trainedBefore = state.trainingSeconds
        var tokensSinceStart = 0, stepsSinceStart = 0

        while !state.isFinished {
            if let stopAfterSteps, state.step >= stopAfterSteps { break }
            guard let (loss, tokens) = accumulateGradients() else {
                // The epoch is done.
                if configuration.evalEvery == 0 { try evaluateAndKeepBest(bestURL: bestURL) }
                if batcher.position.epoch + 1 >= configuration.epochs || state.stoppedEarly {
                    state.isFinished = true
                } else {
                    batcher.startNextEpoch()
                }
                try writeCheckpoint(to: checkpointURL)
                continue
            }
            updateMask?.maskGradients()
            let gradientNorm = configuration.maxGradNorm > 0 ? model.clipGradientNorm(maxNorm: configuration.maxGradNorm) : nil
            optimizer.learningRate = schedule.learningRate(atStep: state.step)
            optimizer.step(model)
            updateMask?.restoreUnselectedElements()
            model.zeroGradients()
            state.step += 1
            stepsSinceStart += 1
            tokensSinceStart += tokens
            let elapsed = Date().timeIntervalSince(started)
            state.trainingSeconds = trainedBefore + elapsed
            let record = LogRecord(event: .step, step: state.step, epoch: epochProgress, loss: loss,
                                   learningRate: Double(optimizer.learningRate), gradientNorm: gradientNorm.map(Double.init),
                                   tokensPerSecond: Double(tokensSinceStart) / max(elapsed, 1e-9))
            state.history.append(record)
            if state.step % configuration.logEvery == 0 { log?.write(record) }
            progress?.update(ProgressSnapshot(step: state.step, totalSteps: totalSteps, epoch: batcher.position.epoch,
                                              epochs: configuration.epochs, loss: loss,
                                              stepsPerSecond: Double(stepsSinceStart) / max(elapsed, 1e-9),
                                              tokensPerSecond: record.tokensPerSecond ?? 0, elapsedSeconds: state.trainingSeconds))
            if configuration.evalEvery > 0 && state.step % configuration.evalEvery == 0 {
                try evaluateAndKeepBest(bestURL: bestURL)
                if state.stoppedEarly { state.isFinished = true }
                try writeCheckpoint(to: checkpointURL)
            } else if state.step % configuration.checkpointEvery == 0 || stopAfterSteps == state.step {
                try writeCheckpoint(to: checkpointURL)
            }
        }
        progress?.finish()
        if state.isFinished, validation != nil, FileManager.default.fileExists(atPath: bestURL.path) {
            try Checkpoint.loadWeights(into: model, from: bestURL)
        }
        if state.isFinished { log?.write(LogRecord(event: .end, step: state.step, epoch: epochProgress, elapsedSeconds: state.trainingSeconds)) }
        return summary()
    }

    /// Loss, accuracy and macro-F1 of the model on `examples`, in evaluation mode (no dropout,
    /// no tape). Batches are formed from length-sorted examples to pad little.
    public func evaluate(_ examples: [EncodedExample]) -> ClassificationMetrics {
        evaluateClassifier(examples, labelCount: labelCount, batchSize: configuration.evaluationBatchSize,
                           paddingID: batcher.paddingID, model: model, forward: forward)
    }

    // MARK: Steps

    /// Runs the next group of micro-batches (gradient accumulation), leaving their summed
    /// gradients on the parameters; nil at the end of the epoch. Returns the group's mean loss
    /// and its token count.
    private func accumulateGradients() -> (loss: Double, tokens: Int)? {
        let remaining = batcher.batchesPerEpoch - batcher.position.batchIndex
        let groupSize = min(configuration.gradientAccumulation, remaining)
        guard groupSize > 0 else { return nil }
        var lossSum = 0.0, tokens = 0
        for _ in 0..<groupSize {
            guard let batch = batcher.next() else { break }
            let loss = lossFunction?(batch) ?? crossEntropy(logits: forward(batch.tokens), targets: batch.labels)
            lossSum += Double(loss.item)
            (loss * (1 / Float(groupSize))).backward()
            tokens += batch.tokenCount
        }
        return (lossSum / Double(groupSize), tokens)
    }

    private func evaluateAndKeepBest(bestURL: URL) throws {
        guard let validation else { return }
        let metrics = evaluate(validation)
        let record = LogRecord(event: .evaluation, step: state.step, epoch: epochProgress, metrics: metrics)
        state.history.append(record)
        log?.write(record)
        progress?.message(String(format: "step %d: validation loss %.4f, accuracy %.4f, macro-F1 %.4f",
                                 state.step, metrics.loss, metrics.accuracy, metrics.macroF1))
        let (value, higherIsBetter) = metrics.value(of: configuration.metric)
        if let best = state.bestValue, higherIsBetter ? value <= best : value >= best {
            state.evaluationsWithoutImprovement += 1
            if configuration.earlyStoppingPatience > 0 && state.evaluationsWithoutImprovement >= configuration.earlyStoppingPatience {
                state.stoppedEarly = true
                progress?.message("early stop: \(configuration.metric.rawValue) did not improve in \(state.evaluationsWithoutImprovement) evaluations")
            }
        } else {
            state.bestValue = value
            state.bestStep = state.step
            state.evaluationsWithoutImprovement = 0
            try Checkpoint.writeWeights(of: model, to: bestURL, metadata: ["step": String(state.step)])
        }
    }

    private func writeCheckpoint(to url: URL) throws {
        state.position = batcher.position
        state.dropoutGenerators = Dictionary(uniqueKeysWithValues: dropoutLayers().map { ($0.path, $0.layer.generator) })
        try Checkpoint.write(model: model, optimizer: optimizer, state: state, to: url)
    }

    private var epochProgress: Double {
        Double(batcher.position.epoch) + Double(batcher.position.batchIndex) / Double(max(1, batcher.batchesPerEpoch))
    }

    /// Dropout layers and LoRA layers (whose adapters apply dropout): every generator a step draws from.
    private func dropoutLayers() -> [(path: String, layer: any RandomizedLayer)] {
        model.namedModules().compactMap { entry in (entry.module as? any RandomizedLayer).map { (entry.path, $0) } }
    }

    private func summary() -> TrainingSummary {
        TrainingSummary(steps: state.step, epochsCompleted: epochProgress, stoppedEarly: state.stoppedEarly,
                        isFinished: state.isFinished, bestStep: state.bestStep, bestValidationValue: state.bestValue,
                        trainingSeconds: state.trainingSeconds, history: state.history)
    }
}

/// Limits what an optimizer step changes to a fixed set of elements (`SelectiveFineTuning`).
public protocol UpdateMask: AnyObject {
    /// Zeroes the gradients outside the mask (after the backward passes, before clipping).
    func maskGradients()
    /// Puts the elements outside the mask back to their values before training (after the step).
    func restoreUnselectedElements()
}

/// What a training call did.
public struct TrainingSummary: Sendable {
    public var steps: Int
    public var epochsCompleted: Double
    public var stoppedEarly: Bool
    public var isFinished: Bool
    public var bestStep: Int?
    public var bestValidationValue: Double?
    public var trainingSeconds: Double
    public var history: [LogRecord]
}

/// Metrics of a classifier on examples, in evaluation mode, batched by sorted length.
public func evaluateClassifier(_ examples: [EncodedExample], labelCount: Int, batchSize: Int, paddingID: Int,
                               model: Module, forward: (TokenBatch) -> Tensor) -> ClassificationMetrics {
    let wasTraining = model.isTraining
    model.setTraining(false)
    defer { model.setTraining(wasTraining) }
    let order = examples.indices.sorted { examples[$0].ids.count < examples[$1].ids.count }
    var predictions: [Int] = [], labels: [Int] = []
    var lossSum = 0.0
    Tensor.withoutGradient {
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let batch = LabeledBatch(order[start..<min(start + batchSize, order.count)].map { examples[$0] }, paddingID: paddingID)
            let logits = forward(batch.tokens)   // [B, L]
            lossSum += Double(crossEntropy(logits: logits, targets: batch.labels).item) * Double(batch.labels.count)
            let values = logits.toArray()
            for row in 0..<batch.labels.count {
                let scores = values[(row * labelCount)..<((row + 1) * labelCount)]
                predictions.append(scores.indices.max { scores[$0] < scores[$1] }! - row * labelCount)
            }
            labels += batch.labels
        }
    }
    return ClassificationMetrics(predictions: predictions, labels: labels, labelCount: labelCount, lossSum: lossSum)
}

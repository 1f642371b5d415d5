import Foundation
import Formats
import Models
import NN
import Testing
import TensorCore
@testable import Training

/// A tiny BERT classifier and a learnable synthetic task: label 1 when token 7 occurs.
struct TinyTask {
    static let configuration = BertConfiguration(vocabularySize: 20, hiddenSize: 16, hiddenLayerCount: 1,
                                                 attentionHeadCount: 2, intermediateSize: 32, maximumPositionCount: 16)

    static func makeModel(seed: UInt64 = 3) -> BertForSequenceClassification {
        var generator = RandomGenerator(seed: seed)
        let model = BertForSequenceClassification(configuration: configuration, labelCount: 2, generator: &generator)
        // Deterministic encoder weights (biases included), as if loaded from a file.
        for (path, tensor) in model.namedParameters() where !path.hasPrefix("classifier") && !path.hasSuffix("LayerNorm.weight") {
            model.replaceTensor(at: path, with: Tensor.randomNormal(tensor.shape, standardDeviation: 0.2, generator: &generator))
        }
        return model
    }

    static func examples(count: Int, seed: UInt64) -> [EncodedExample] {
        var generator = RandomGenerator(seed: seed)
        return (0..<count).map { index in
            let length = 2 + Int(generator.next() % 6)
            var ids = (0..<length).map { _ in 8 + Int(generator.next() % 10) }
            if index % 2 == 0 { ids[Int(generator.next() % UInt64(length))] = 7 }
            return EncodedExample(ids: [1] + ids + [2], label: index % 2 == 0 ? 1 : 0)
        }
    }

    static func settings() -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.method = .full
        configuration.epochs = 3
        configuration.batchSize = 8
        configuration.learningRate = 3e-3
        configuration.warmupRatio = 0.2
        configuration.evalEvery = 5
        configuration.checkpointEvery = 4
        configuration.gradientAccumulation = 2
        return configuration
    }

    static func trainer(_ model: BertForSequenceClassification, _ configuration: TrainingConfiguration) -> Trainer {
        Trainer(model: model, configuration: configuration, train: examples(count: 56, seed: 1),
                validation: examples(count: 16, seed: 2), labelCount: 2, paddingID: 0) { model($0) }
    }
}

@Suite(.serialized) struct TrainerTests {
    @Test func learnsTheTaskAndKeepsTheBestWeights() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = TinyTask.settings()
        configuration.epochs = 10
        configuration.learningRate = 1e-2
        configuration.gradientAccumulation = 1
        let model = TinyTask.makeModel()
        let trainer = TinyTask.trainer(model, configuration)
        let before = trainer.evaluate(TinyTask.examples(count: 16, seed: 2))
        let summary = try trainer.train(output: folder)
        #expect(summary.isFinished && summary.steps == trainer.totalSteps && trainer.totalSteps == 10 * 7)
        let after = trainer.evaluate(TinyTask.examples(count: 16, seed: 2))
        #expect(after.loss < before.loss)
        #expect(after.accuracy >= 0.75)
        // The model ends with the best validation weights.
        #expect(summary.bestValidationValue == after.accuracy)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("best.safetensors").path))
    }

    @Test func sameSeedSameWeights() throws {
        let folders = try (0..<2).map { _ in try makeScratchFolder() }
        defer { for folder in folders { try? FileManager.default.removeItem(at: folder) } }
        let weights = try folders.map { folder in
            let model = TinyTask.makeModel()
            try TinyTask.trainer(model, TinyTask.settings()).train(output: folder)
            return model.namedParameters().flatMap { $0.tensor.toArray() }
        }
        #expect(weights[0] == weights[1])
    }

    /// A run stopped after 7 steps (mid-epoch, between checkpoints and after an evaluation),
    /// rebuilt from scratch and resumed, ends with the same weights and metrics as a run that
    /// never stopped.
    @Test func resumedRunMatchesUninterruptedRun() throws {
        let whole = try makeScratchFolder(), interrupted = try makeScratchFolder()
        defer { for folder in [whole, interrupted] { try? FileManager.default.removeItem(at: folder) } }
        var configuration = TinyTask.settings()
        configuration.optimizer = .adamw
        configuration.schedule = "cosine"

        let reference = TinyTask.makeModel()
        let referenceSummary = try TinyTask.trainer(reference, configuration).train(output: whole)

        let first = TinyTask.makeModel()
        let stopped = try TinyTask.trainer(first, configuration).train(output: interrupted, stopAfterSteps: 7)
        #expect(stopped.steps == 7 && !stopped.isFinished)
        // A fresh process: new model (different dropout state, same initial weights), new trainer.
        let second = TinyTask.makeModel()
        let resumedTrainer = TinyTask.trainer(second, configuration)
        let resumedSummary = try resumedTrainer.train(output: interrupted, resume: true)

        let expected = reference.namedParameters(), actual = second.namedParameters()
        #expect(expected.map(\.path) == actual.map(\.path))
        var largest: Float = 0
        for (lhs, rhs) in zip(expected, actual) {
            largest = max(largest, zip(lhs.tensor.toArray(), rhs.tensor.toArray()).map { abs($0 - $1) }.max() ?? 0)
        }
        #expect(largest <= 1e-6)
        let metrics = { (summary: TrainingSummary) in summary.history.compactMap(\.metrics) }
        #expect(metrics(resumedSummary) == metrics(referenceSummary))
        #expect(resumedSummary.history.compactMap(\.loss) == referenceSummary.history.compactMap(\.loss))
        #expect(resumedSummary.bestStep == referenceSummary.bestStep)
    }

    @Test func resumeWithSGDAndStopAtEpochBoundary() throws {
        let whole = try makeScratchFolder(), interrupted = try makeScratchFolder()
        defer { for folder in [whole, interrupted] { try? FileManager.default.removeItem(at: folder) } }
        var configuration = TinyTask.settings()
        configuration.optimizer = .sgd
        configuration.learningRate = 0.05
        configuration.evalEvery = 0
        let reference = TinyTask.makeModel()
        try TinyTask.trainer(reference, configuration).train(output: whole)
        try TinyTask.trainer(TinyTask.makeModel(), configuration).train(output: interrupted, stopAfterSteps: 4)
        let resumed = TinyTask.makeModel()
        try TinyTask.trainer(resumed, configuration).train(output: interrupted, resume: true)
        #expect(reference.namedParameters().flatMap { $0.tensor.toArray() } == resumed.namedParameters().flatMap { $0.tensor.toArray() })
    }

    @Test func earlyStoppingEndsTheRun() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = TinyTask.settings()
        configuration.epochs = 20
        configuration.evalEvery = 2
        configuration.metric = .loss
        configuration.learningRate = 0.5   // diverges quickly, so validation loss stops improving
        configuration.earlyStoppingPatience = 2
        let summary = try TinyTask.trainer(TinyTask.makeModel(), configuration).train(output: folder)
        #expect(summary.stoppedEarly)
        #expect(summary.steps < 20 * 4)
    }

    @Test func frozenParametersStayFixed() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = TinyTask.makeModel()
        model.freeze()
        model.unfreeze(matching: #"classifier\..*"#)
        let encoder = model.bert.namedParameters().flatMap { $0.tensor.toArray() }
        let head = model.child("classifier")!.namedParameters().flatMap { $0.tensor.toArray() }
        var configuration = TinyTask.settings()
        configuration.epochs = 1
        try TinyTask.trainer(model, configuration).train(output: folder)
        #expect(model.bert.namedParameters().flatMap { $0.tensor.toArray() } == encoder)
        #expect(model.child("classifier")!.namedParameters().flatMap { $0.tensor.toArray() } != head)
    }

    @Test func logAndReportAreWritten() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = TinyTask.settings()
        configuration.logEvery = 1
        let trainer = TinyTask.trainer(TinyTask.makeModel(), configuration)
        let logURL = folder.appendingPathComponent("log.jsonl")
        trainer.log = try TrainingLog(url: logURL, appending: false)
        let summary = try trainer.train(output: folder)
        let lines = try String(contentsOf: logURL, encoding: .utf8).split(separator: "\n")
        let records = try lines.map { try JSONDecoder().decode(LogRecord.self, from: Data($0.utf8)) }
        #expect(records.first?.event == .start && records.last?.event == .end)
        #expect(records.filter { $0.event == .step }.count == summary.steps)
        #expect(records.contains { $0.event == .evaluation && $0.metrics != nil })
        let html = TrainingReport(title: "tiny <run>", history: summary.history, summary: [("steps", "\(summary.steps)")]).html()
        #expect(html.contains("<svg") && html.contains("tiny &lt;run&gt;") && html.contains("polyline"))
    }
}

import Formats
import Foundation
import NN
import PEFT
import TensorCore

/// The `selective` method: sparse fine-tuning with a fixed mask. The `density` fraction of
/// encoder elements with the highest score (`mask_score`: by default how far a short full
/// fine-tuning moves them; or per-example Fisher or |gradient × weight| over the examples of
/// the first `analysis_batches` training batches, or weight magnitude; one global top-k, or one
/// per tensor with `mask_scope: per-tensor`) trains, and the classifier trains fully; the trainer
/// masks the gradients and restores every other element after each step
/// (`SelectiveFineTuning` as its `UpdateMask`).
///
/// Files: the chosen mask in `selective_mask.safetensors` (the sparse-diff layout with zero
/// values, read back on `--resume`); the result in `sparse_diff.safetensors` (the encoder's
/// trained deltas, docs/sparse-diff.md) and `trained_weights.safetensors` (the classifier).
///
/// ```swift
/// let selective = try SelectiveMethod.makeTraining(configuration, classifier: classifier, analysis: analysis)
/// trainer.updateMask = selective
/// ```
enum SelectiveMethod {
    static let maskFileName = "selective_mask.safetensors"
    static let diffFileName = "sparse_diff.safetensors"

    /// The mask saved in `analysis.planFolder` when resuming, otherwise a new one (then saved
    /// there), applied to the classifier's model.
    static func makeTraining(_ configuration: TrainingConfiguration, classifier: SequenceClassifier,
                             analysis: MethodAnalysis) throws -> SelectiveFineTuning {
        let model = classifier.model
        let url = analysis.planFolder?.appendingPathComponent(maskFileName)
        var mask: SparseMask
        if analysis.reusesSavedPlan, let url {
            guard FileManager.default.fileExists(atPath: url.path) else { throw DataError.missingFile(file: url.path) }
            let saved = try SparseDiff(contentsOf: url)
            mask = SparseMask(indices: saved.entries.mapValues(\.indices),
                              elementCounts: saved.entries.mapValues { $0.shape.reduce(1, *) })
        } else {
            let scores = selectionScores(configuration, classifier: classifier, data: analysis.data)
            mask = SparseMask(topFraction: configuration.density, of: scores, scope: configuration.maskScope)
            mask.selectAll(of: Dictionary(uniqueKeysWithValues: headParameters(of: model)))
            if let url {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try maskFile(mask, model: model, configuration: configuration).write(to: url)
            }
        }
        return SelectiveFineTuning(model: model, mask: mask)
    }

    /// Per-element scores of the encoder under `mask_score`. The movement probe trains on the
    /// first `movement_steps` batches of training's own shuffled order.
    static func selectionScores(_ configuration: TrainingConfiguration, classifier: SequenceClassifier,
                                data: TextClassificationData) -> [String: Tensor] {
        if let score = configuration.maskScore.sensitivityScore {
            return MethodSetup.scoreSensitivity(configuration, classifier: classifier, data: data).scores(score)
        }
        let model = classifier.model
        if configuration.maskScore == .magnitude {
            return SensitivityAnalysis.magnitudes(of: model, matching: MethodSetup.encoderPattern)
        }
        var batcher = Batcher(examples: classifier.encode(data, maxLength: configuration.maxLength),
                              batchSize: configuration.batchSize, paddingID: classifier.paddingID, seed: configuration.seed)
        return MovementScores.measure(model: model, matching: MethodSetup.encoderPattern, steps: configuration.movementSteps,
                                      optimizer: AdamW(learningRate: configuration.movementLearningRate, weightDecay: 0),
                                      maxGradientNorm: configuration.maxGradNorm) { _ in
            if batcher.position.batchIndex >= batcher.batchesPerEpoch { batcher.startNextEpoch() }
            let batch = batcher.next()!
            return crossEntropy(logits: model(batch.tokens), targets: batch.labels)
        }
    }

    /// Writes the encoder's sparse diff and the classifier's weights into `folder`.
    static func save(_ selective: SelectiveFineTuning, model: Module, to folder: URL, configuration: TrainingConfiguration) throws {
        var diff = selective.sparseDiff(metadata: ["method": "selective", "density": "\(configuration.density)", "score": configuration.maskScore.rawValue,
                                                   "base_model": configuration.model ?? ""])
        diff.entries = diff.entries.filter { !isHead($0.key) }
        try diff.write(to: folder.appendingPathComponent(diffFileName))
        try SafetensorsWriter.write(Dictionary(uniqueKeysWithValues: headParameters(of: model)), metadata: ["format": "pt", "method": "selective"],
                                    to: folder.appendingPathComponent(SequenceClassifier.weightsFileName))
    }

    /// Whether `folder` holds a selective result.
    static func isSaved(in folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(diffFileName).path)
    }

    /// Applies the saved diff onto the base weights and loads the classifier.
    static func load(into model: Module, from folder: URL) throws {
        try SparseDiff(contentsOf: folder.appendingPathComponent(diffFileName)).apply(to: model)
        let head = folder.appendingPathComponent(SequenceClassifier.weightsFileName)
        guard FileManager.default.fileExists(atPath: head.path) else { throw DataError.missingFile(file: head.path) }
        try Checkpoint.loadWeights(into: model, from: head)
    }

    /// The mask in the sparse-diff layout: its indices with zero values.
    static func maskFile(_ mask: SparseMask, model: Module, configuration: TrainingConfiguration) -> SparseDiff {
        let shapes = Dictionary(model.namedParameters().map { ($0.path, $0.tensor.shape) }, uniquingKeysWith: { first, _ in first })
        let entries = Dictionary(uniqueKeysWithValues: mask.selectedPaths.map { path in
            let indices = mask.indices[path]!
            return (path, SparseDiff.Entry(shape: shapes[path]!, indices: indices, deltas: [Float](repeating: 0, count: indices.count)))
        })
        return SparseDiff(entries: entries, metadata: ["content": "selective mask (values unused)", "density": "\(configuration.density)",
                                                   "score": configuration.maskScore.rawValue])
    }

    static func headParameters(of model: Module) -> [(String, Tensor)] {
        model.namedParameters().filter { isHead($0.path) }.map { ($0.path, $0.tensor) }
    }

    static func isHead(_ path: String) -> Bool { path.hasPrefix("classifier.") }
}

extension SelectiveFineTuning: UpdateMask {}

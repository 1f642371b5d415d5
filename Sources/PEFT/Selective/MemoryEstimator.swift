import Foundation
import Formats
import NN
import TensorCore

/// A fine-tuning method as far as memory and time are concerned.
public enum TrainingMethod: Sendable, Equatable {
    /// Every parameter trains.
    case full
    /// Only the classification head trains.
    case head
    /// LoRA of `rank` on the modules whose last path components match `targetModules`
    /// (e.g. "query", "value", "dense"), plus the head (PEFT's `modules_to_save` for SEQ_CLS).
    case lora(rank: Int, targetModules: [String], dropout: Double)
    /// LoRA with a rank per module path (a plan's `rank_pattern`, e.g.
    /// "bert.encoder.layer.3.attention.self.value": 12), plus the head.
    case plannedLoRA(ranks: [String: Int], dropout: Double)
    /// A sparse mask of `density` over all parameters (every tensor is assumed to hold a
    /// selected element, so gradients and optimizer state are dense), plus the head.
    case selective(density: Double)
    /// IA3 with PEFT's BERT defaults: vectors scaling the outputs of key and value and the input
    /// of every `output.dense`, plus the head.
    case ia3
    /// Bottleneck adapters of hidden size / `reductionFactor` closing the feed-forward block
    /// (Pfeiffer) and also the attention block (Houlsby, `afterAttention`), plus the head.
    case bottleneck(reductionFactor: Double, afterAttention: Bool)
    /// BitFit: a trained delta on every bias of the encoder, its LayerNorms and the pooler.
    case bitFit
    /// Norm tuning: trained deltas on the weights and biases of every LayerNorm.
    case norm
}

/// Peak memory and time of one training step of `BertForSequenceClassification` with AdamW,
/// predicted from shapes (see `MemoryEstimator`).
public struct TrainingEstimate: Codable, Sendable {
    public var parameterCount: Int
    public var trainableParameterCount: Int
    /// The model file as stored (memory-mapped, read-only), fully resident.
    public var weightBytes: Int
    /// Float32 tensors the method adds: LoRA factors, the head and its saved copy, selective's
    /// base values and indices.
    public var methodBytes: Int
    public var gradientBytes: Int
    /// AdamW's two moments per element of every trainable tensor.
    public var optimizerBytes: Int
    /// Saved for backward by the forward pass (`ActivationTrace`).
    public var activationBytes: Int
    /// Gradients of activations alive at once early in backward (the feed-forward block's).
    public var backwardWorkspaceBytes: Int
    /// Owned float32 copies the first optimizer step makes of trained base weights while the
    /// mapped file is still resident.
    public var firstStepCopyBytes: Int
    /// max(steady backward, first optimizer step).
    public var peakBytes: Int
    /// Which phase sets the peak: "backward" or "first optimizer step".
    public var peakPhase: String
    public var flopsPerStep: Double
    /// Matrix-multiplication throughput the time is based on.
    public var gemmGigaflops: Double
    /// Bytes read and written per step by the ops that are not matrix products: the forward
    /// and backward elementwise ops and attention's score matrices.
    public var elementwiseBytesPerStep: Double
    /// Elementwise throughput (bytes read and written per second) the time is based on.
    public var elementwiseGigabytesPerSecond: Double
    /// AdamW updates per second (trained elements) the time is based on.
    public var optimizerElementsPerSecond: Double
    /// flops at the GEMM rate + elementwise bytes at the elementwise rate + the trained
    /// elements at the optimizer's rate (data loading and evaluation not included).
    public var secondsPerStep: Double
}

/// Predicts the peak memory and the time of a training step before it runs.
///
/// Memory is the sum of what lives at the worst moment, counted as this engine allocates it:
///
/// - backward (every step): weights + method tensors + AdamW state (two floats per element of
///   each trainable tensor, from the second step on) + the larger of the activations the
///   forward pass saved (`ActivationTrace` replays BERT's forward op by op; backward frees each
///   one as soon as it has used it) and the parameter gradients (complete at the end of
///   backward) + the activation gradients alive in the top feed-forward block's backward
///   (2·N·I + 3·N·C floats);
/// - the first optimizer step: the mapped weights + owned float32 copies of the base weights it
///   trains (the optimizer copies a borrowed tensor before updating it) + gradients + AdamW state.
///
/// Time is the step's matrix-multiplication flops (forward; backward input gradients where the
/// input needs one and weight gradients for trained weights; attention) over a GEMM throughput,
/// plus the bytes its other ops move (`ActivationTrace`'s elementwise traffic) over an
/// elementwise throughput, plus AdamW's update of every trained element. The rates are
/// measured on this machine unless given: a [B·T, C] → [B·T, I] linear layer's three
/// products, an add then a GELU over [B·T, I], and AdamW on a million elements.
///
/// ```swift
/// let estimator = MemoryEstimator(configuration: try BertConfiguration.load(from: folder), labelCount: 2)
/// let estimate = estimator.estimate(method: .lora(rank: 8, targetModules: ["query", "value"], dropout: 0),
///                                   batchSize: 16, tokens: 128)
/// print(estimate.peakBytes)
/// ```
public struct MemoryEstimator: Sendable {
    public let configuration: BertConfiguration
    public let labelCount: Int
    /// Bytes per element of the stored weights (4 for float32, 2 for float16/bfloat16).
    public let weightElementBytes: Int

    public init(configuration: BertConfiguration, labelCount: Int = 2, weightElementBytes: Int = 4) {
        self.configuration = configuration
        self.labelCount = labelCount
        self.weightElementBytes = weightElementBytes
    }

    /// Parameter paths (of `BertForSequenceClassification`) with their element counts and,
    /// for matrices, [out, in].
    var parameters: [(path: String, count: Int, matrix: (out: Int, in: Int)?)] {
        let (c, i) = (configuration.hiddenSize, configuration.intermediateSize)
        var result: [(String, Int, (out: Int, in: Int)?)] = [
            ("bert.embeddings.word_embeddings.weight", configuration.vocabularySize * c, nil),
            ("bert.embeddings.position_embeddings.weight", configuration.maximumPositionCount * c, nil),
            ("bert.embeddings.token_type_embeddings.weight", configuration.typeVocabularySize * c, nil),
            ("bert.embeddings.LayerNorm.weight", c, nil), ("bert.embeddings.LayerNorm.bias", c, nil),
        ]
        for index in 0..<configuration.hiddenLayerCount {
            let l = "bert.encoder.layer.\(index)."
            for (name, out, input) in [("attention.self.query", c, c), ("attention.self.key", c, c), ("attention.self.value", c, c),
                                       ("attention.output.dense", c, c), ("intermediate.dense", i, c), ("output.dense", c, i)] {
                result += [(l + name + ".weight", out * input, (out, input)), (l + name + ".bias", out, nil)]
            }
            for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
                result += [(l + norm + ".weight", c, nil), (l + norm + ".bias", c, nil)]
            }
        }
        result += [("bert.pooler.dense.weight", c * c, (c, c)), ("bert.pooler.dense.bias", c, nil),
                   ("classifier.weight", labelCount * c, (labelCount, c)), ("classifier.bias", labelCount, nil)]
        return result
    }

    /// The estimate for one method at batch size B and T tokens per sequence (padded length).
    /// A nil rate is measured (about 0.2 s each).
    public func estimate(method: TrainingMethod, batchSize: Int, tokens: Int, isDropoutActive: Bool = true,
                         gemmGigaflops: Double? = nil, elementwiseGigabytesPerSecond: Double? = nil,
                         optimizerElementsPerSecond: Double? = nil) -> TrainingEstimate {
        precondition(batchSize > 0 && tokens > 0, "MemoryEstimator: batch size \(batchSize) and tokens \(tokens) must be positive")
        let parameters = self.parameters
        let adapters = MethodTensors(method: method, configuration: configuration, parameters: parameters)
        let trainsBase = adapters.trainsBase
        let headCount = parameters.filter { $0.path.hasPrefix("classifier.") }.reduce(0) { $0 + $1.count }
        let baseCount = parameters.reduce(0) { $0 + $1.count } - headCount
        let trainableTensorElements: Int
        var methodBytes = 4 * headCount
        switch method {
        case .full: trainableTensorElements = baseCount + headCount
        case .head: trainableTensorElements = headCount
        case let .selective(density):
            trainableTensorElements = baseCount + headCount
            methodBytes += 4 * baseCount + 8 * Int(density * Double(baseCount))   // base values + indices
        default:
            trainableTensorElements = adapters.elements + headCount
            methodBytes += 4 * (adapters.elements + headCount)   // adapter tensors + the head's modules_to_save copy
        }
        let trainableCount: Int
        switch method {
        case let .selective(density): trainableCount = Int((density * Double(baseCount)).rounded()) + headCount
        default: trainableCount = trainableTensorElements
        }

        let n = batchSize * tokens, (c, i) = (configuration.hiddenSize, configuration.intermediateSize)
        let step = BertActivationModel(configuration: configuration, labelCount: labelCount, adapters: adapters,
                                       isDropoutActive: isDropoutActive)
            .step(batchSize: batchSize, tokens: tokens)
        let activations = step.savedBytes
        let workspace = 4 * (2 * n * i + 3 * n * c)
        let weightBytes = weightElementBytes * baseCount
        let gradients = 4 * trainableTensorElements
        let optimizer = 8 * trainableTensorElements
        let copies = trainsBase ? 4 * baseCount : 0
        // From the second step the trained base weights are owned copies and the mapping is gone.
        let steadyWeights = trainsBase ? 4 * baseCount : weightBytes
        // Backward frees each saved activation once it has used it while parameter gradients
        // accumulate in its place: the start (every activation) or the end (every gradient) is
        // the worst moment, each with the activation-gradient workspace on top.
        let backward = steadyWeights + methodBytes + optimizer + workspace + Swift.max(activations, gradients)
        let firstStep = weightBytes + copies + methodBytes + gradients + optimizer

        let flops = stepFlops(batchSize: batchSize, tokens: tokens, adapters: adapters)
        let throughput = gemmGigaflops ?? Self.measureGEMMGigaflops(rows: Swift.min(n, 2048), inner: c, columns: i)
        let elementwiseBytes = 4 * Double(step.elementwiseElements)
        let bandwidth = elementwiseGigabytesPerSecond ?? Self.measureElementwiseGigabytes(rows: Swift.min(n, 2048), columns: i)
        let updates = optimizerElementsPerSecond ?? Self.measureOptimizerElementsPerSecond()
        return TrainingEstimate(
            parameterCount: baseCount + headCount, trainableParameterCount: trainableCount, weightBytes: weightBytes,
            methodBytes: methodBytes, gradientBytes: gradients, optimizerBytes: optimizer, activationBytes: activations,
            backwardWorkspaceBytes: workspace, firstStepCopyBytes: copies, peakBytes: Swift.max(backward, firstStep),
            peakPhase: backward >= firstStep ? "backward" : "first optimizer step",
            flopsPerStep: flops, gemmGigaflops: throughput, elementwiseBytesPerStep: elementwiseBytes,
            elementwiseGigabytesPerSecond: bandwidth, optimizerElementsPerSecond: updates,
            secondsPerStep: flops / (throughput * 1e9) + elementwiseBytes / (bandwidth * 1e9)
                + Double(trainableTensorElements) / updates)
    }

    /// Matrix-multiplication flops of one training step.
    func stepFlops(batchSize: Int, tokens: Int, adapters: MethodTensors) -> Double {
        let n = Double(batchSize * tokens), c = Double(configuration.hiddenSize)
        var flops = 0.0
        for (path, _, matrix) in parameters where path.hasSuffix(".weight") && path.hasPrefix("bert.encoder") {
            guard let matrix else { continue }
            let module = String(path.dropLast(7))
            let gemm = 2 * n * Double(matrix.in * matrix.out)
            // Forward, input gradient (every encoder input needs one once anything below trains),
            // weight gradient when the weight trains.
            flops += gemm * (adapters.trainsBase ? 3 : 2)
            if let (rank, _) = adapters.lora(module) {
                flops += 3 * 2 * n * Double(rank * (matrix.in + matrix.out))
            }
        }
        // Bottleneck adapters: down and up projections, forward and both gradients.
        flops += Double(adapters.bottleneckBlocks.count * configuration.hiddenLayerCount) * 3 * 2 * n * Double(2 * adapters.bottleneckSize) * c
        // Attention per layer: QKᵀ and PV forward; backward recomputes P and forms dV, dP, dQ, dK.
        let attention = 2 * Double(batchSize) * Double(tokens * tokens) * c
        flops += Double(configuration.hiddenLayerCount) * attention * 7
        return flops
    }

    /// GEMM throughput of this engine on a linear layer's three products, in GFLOP/s: forward
    /// x·Wᵀ ([rows, inner]·[columns, inner]ᵀ), input gradient g·W ([rows, columns]·[columns, inner])
    /// and weight gradient gᵀ·x ([rows, columns]ᵀ·[rows, inner]). Their flops are equal, so the
    /// rate is their harmonic mean.
    public static func measureGEMMGigaflops(rows: Int, inner: Int, columns: Int) -> Double {
        let x = Tensor.randomUniform([rows, inner], seed: 1), weight = Tensor.randomUniform([columns, inner], seed: 2)
        let g = Tensor.randomUniform([rows, columns], seed: 3)
        let products: [(Tensor, Tensor, Tensor)] = [(x, weight.transposed(), Tensor.zeros([rows, columns])),
                                                    (g, weight, Tensor.zeros([rows, inner])),
                                                    (g.transposed(), x, Tensor.zeros([columns, inner]))]
        var seconds = 0.0
        for (a, b, output) in products {
            matmul(a, b, into: output)
            var best = Double.infinity
            for _ in 0..<5 {
                let start = DispatchTime.now().uptimeNanoseconds
                matmul(a, b, into: output)
                best = Swift.min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            seconds += best
        }
        return 3 * 2 * Double(rows * inner * columns) / seconds / 1e9
    }

    /// Elementwise throughput of this engine, in GB/s read and written: `gelu(x + y)` over
    /// [rows, columns], five floats moved per element (as allocated tensors, like training's ops).
    public static func measureElementwiseGigabytes(rows: Int, columns: Int) -> Double {
        let x = Tensor.randomUniform([rows, columns], seed: 3), y = Tensor.randomUniform([rows, columns], seed: 4)
        _ = (x + y).gelu()
        var best = Double.infinity
        for _ in 0..<7 {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = (x + y).gelu()
            best = Swift.min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return 5 * 4 * Double(rows * columns) / best / 1e9
    }

    /// AdamW's update rate on this machine, in elements per second (one million elements).
    public static func measureOptimizerElementsPerSecond() -> Double {
        let count = 1 << 20
        let parameter = UnsafeMutablePointer<Float>.allocate(capacity: count), gradient = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { parameter.deallocate(); gradient.deallocate() }
        parameter.initialize(repeating: 0.5, count: count)
        gradient.initialize(repeating: 1e-3, count: count)
        let optimizer = AdamW(learningRate: 1e-4)
        var state = Optimizer.ParameterState()
        var best = Double.infinity
        for _ in 0..<4 {
            state.step += 1
            let start = DispatchTime.now().uptimeNanoseconds
            optimizer.update(parameter, gradient: gradient, count: count, state: &state)
            best = Swift.min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(count) / best
    }
}

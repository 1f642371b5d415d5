import Foundation
import NN
import TensorCore

/// How much a parameter matters for a task, per element.
///
/// For a weight w with gradient g = ∂L/∂w of the loss on one gradient sample (a batch, or one
/// example for the per-example Fisher), averaged over the N samples seen:
///
/// - `taylor`: (1/N) Σ |g ⊙ w|, the first-order Taylor estimate of how much the loss changes
///   when the element is set to zero (Molchanov et al.). Invariant when a layer is scaled by c
///   and the next one by 1/c (g scales by 1/c, w by c).
/// - `fisher`: (1/N) Σ g², the diagonal of the empirical Fisher information. With whole batches
///   as samples this is the per-batch estimate (the gradient of the batch mean, squared), which
///   is smaller than the per-example one by about the batch size for noisy gradients but ranks
///   elements alike; call `accumulate` once per example for FISH-mask's per-example Fisher.
///   Scales by 1/c² when a layer's weights scale by c and the output does not change.
/// - `magnitude`: |w|, independent of the data. Scales by c.
public enum SensitivityScore: String, CaseIterable, Codable, Sendable {
    case taylor, fisher, magnitude
}

/// Accumulates per-element sensitivity scores of a model's parameters over gradient samples.
///
/// Every scored parameter receives a gradient while `accumulate` runs; trainability and
/// gradients are restored afterwards, so the analysis can run on a frozen or a PEFT model.
///
/// ```swift
/// let analysis = SensitivityAnalysis(model: classifier)
/// for batch in batches.prefix(8) {
///     analysis.accumulate { crossEntropy(classifier(batch.tokens), targets: batch.labels) }
/// }
/// let report = analysis.report()
/// print(report.modules(rankedBy: .fisher).prefix(5).map(\.path))
/// ```
public final class SensitivityAnalysis {
    public let model: Module
    /// Scored parameter paths, in tree order.
    public let parameterPaths: [String]
    /// Gradient samples accumulated so far.
    public private(set) var sampleCount = 0
    private var taylorSums: [String: [Float]] = [:]
    private var fisherSums: [String: [Float]] = [:]

    /// Scores the parameters of `model` whose path fully matches `pattern` (all when nil).
    public init(model: Module, matching pattern: String? = nil) {
        self.model = model
        parameterPaths = model.parameterPaths(matching: pattern)
        for path in parameterPaths {
            let count = model.parameterTensor(at: path).count
            taylorSums[path] = [Float](repeating: 0, count: count)
            fisherSums[path] = [Float](repeating: 0, count: count)
        }
    }

    /// Runs `loss` (a forward pass returning a scalar loss), back-propagates and adds this
    /// sample's |g ⊙ w| and g² to the sums. Parameters the loss does not reach add zero.
    /// Returns the loss value.
    @discardableResult
    public func accumulate(_ loss: () -> Tensor) -> Float {
        let parameters = model.namedParameters()
        let scored = Set(parameterPaths)
        let saved = parameters.map { ($0.tensor, $0.tensor.requiresGradient, $0.tensor.grad) }
        for (path, tensor) in parameters {
            tensor.grad = nil
            tensor.requiringGradient(scored.contains(path))
        }
        defer {
            for (tensor, flag, grad) in saved {
                tensor.requiringGradient(flag)
                tensor.grad = grad
            }
        }
        let value = loss()
        value.backward()
        for path in parameterPaths {
            let tensor = model.parameterTensor(at: path)
            guard let gradient = tensor.grad?.toArray() else { continue }
            let weight = tensor.toArray()
            taylorSums[path]!.withUnsafeMutableBufferPointer { taylor in
                fisherSums[path]!.withUnsafeMutableBufferPointer { fisher in
                    for index in 0..<gradient.count {
                        let g = gradient[index]
                        taylor[index] += Swift.abs(g * weight[index])
                        fisher[index] += g * g
                    }
                }
            }
        }
        sampleCount += 1
        return value.item
    }

    /// Per-element scores of one parameter, shaped like it.
    public func scores(_ kind: SensitivityScore, path: String) -> Tensor {
        let tensor = model.parameterTensor(at: path)
        precondition(taylorSums[path] != nil, "SensitivityAnalysis: '\(path)' is not scored; scored: \(parameterPaths.prefix(4))...")
        switch kind {
        case .magnitude:
            return Self.magnitude(of: tensor)
        case .taylor, .fisher:
            let sums = kind == .taylor ? taylorSums[path]! : fisherSums[path]!
            let scale = 1 / Float(Swift.max(sampleCount, 1))
            return Tensor(sums.map { $0 * scale }, shape: tensor.shape)
        }
    }

    /// |w| of every parameter of `model` whose path fully matches `pattern` (all when nil): the
    /// `magnitude` score, which needs no examples, so no analysis has to run for it.
    public static func magnitudes(of model: Module, matching pattern: String? = nil) -> [String: Tensor] {
        let matched = Set(model.parameterPaths(matching: pattern))
        return Dictionary(uniqueKeysWithValues: model.namedParameters().filter { matched.contains($0.path) }.map {
            ($0.path, magnitude(of: $0.tensor))
        })
    }

    /// |w| as float32, whatever the storage type.
    private static func magnitude(of tensor: Tensor) -> Tensor {
        Tensor(tensor.toArray().map(Swift.abs), shape: tensor.shape)
    }

    /// Per-element scores of every scored parameter.
    public func scores(_ kind: SensitivityScore) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: parameterPaths.map { ($0, scores(kind, path: $0)) })
    }

    /// Scores aggregated per tensor, module and layer.
    public func report() -> SensitivityReport {
        let tensors = parameterPaths.map { path -> SensitivityReport.TensorScores in
            let tensor = model.parameterTensor(at: path)
            var totals: [SensitivityScore: Double] = [:]
            var maxima: [SensitivityScore: Double] = [:]
            for kind in SensitivityScore.allCases {
                let values = scores(kind, path: path).toArray()
                totals[kind] = values.reduce(0.0) { $0 + Double($1) }
                maxima[kind] = Double(values.max() ?? 0)
            }
            return SensitivityReport.TensorScores(path: path, shape: tensor.shape, totals: totals, maxima: maxima)
        }
        return SensitivityReport(sampleCount: sampleCount, tensors: tensors)
    }
}

extension Module {
    /// The parameter tensor at a dotted path (looked up now: optimizers may replace tensors).
    func parameterTensor(at path: String) -> Tensor {
        let components = path.split(separator: ".")
        guard let owner = module(at: components.dropLast().joined(separator: ".")),
              let tensor = owner.optionalParameter(String(components.last ?? "")) else {
            preconditionFailure("no parameter at '\(path)'")
        }
        return tensor
    }
}

import Foundation

/// Classification metrics over a data set.
///
/// ```swift
/// let metrics = ClassificationMetrics(predictions: [1, 0, 1], labels: [1, 1, 1], labelCount: 2, lossSum: 1.2)
/// metrics.accuracy   // 0.667
/// metrics.macroF1    // 0.4 (mean of F1 0 for class 0 and 0.8 for class 1)
/// ```
public struct ClassificationMetrics: Codable, Sendable, Equatable {
    public var loss: Double
    public var accuracy: Double
    /// The unweighted mean of per-class F1 over classes that occur in labels or predictions
    /// (scikit-learn's `f1_score(average="macro")`, with 0 for an undefined F1).
    public var macroF1: Double
    public var count: Int

    /// exp(loss), meaningful when the loss is a mean negative log-likelihood per token.
    public var perplexity: Double { Foundation.exp(loss) }

    enum CodingKeys: String, CodingKey {
        case loss, accuracy, macroF1 = "macro_f1", count
    }

    public init(predictions: [Int], labels: [Int], labelCount: Int, lossSum: Double) {
        precondition(predictions.count == labels.count, "ClassificationMetrics: \(predictions.count) predictions for \(labels.count) labels")
        count = labels.count
        loss = count > 0 ? lossSum / Double(count) : 0
        var truePositives = [Int](repeating: 0, count: labelCount)
        var predicted = [Int](repeating: 0, count: labelCount)
        var actual = [Int](repeating: 0, count: labelCount)
        for (prediction, label) in zip(predictions, labels) {
            predicted[prediction] += 1
            actual[label] += 1
            if prediction == label { truePositives[label] += 1 }
        }
        accuracy = count > 0 ? Double(truePositives.reduce(0, +)) / Double(count) : 0
        let present = (0..<labelCount).filter { predicted[$0] + actual[$0] > 0 }
        let f1s = present.map { Double(2 * truePositives[$0]) / Double(predicted[$0] + actual[$0]) }
        macroF1 = f1s.isEmpty ? 0 : f1s.reduce(0, +) / Double(f1s.count)
    }

    /// The value of `metric`, and whether larger is better.
    public func value(of metric: TrainingConfiguration.Metric) -> (value: Double, higherIsBetter: Bool) {
        switch metric {
        case .accuracy: (accuracy, true)
        case .macroF1: (macroF1, true)
        case .loss: (loss, false)
        }
    }
}

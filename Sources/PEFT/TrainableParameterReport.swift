import Foundation
import NN

/// PEFT's `print_trainable_parameters` figures: every parameter of the wrapped model counts
/// towards the total (a `modules_to_save` copy and its original both), trainable ones are
/// those that receive gradients.
///
/// ```swift
/// print(peft.trainableParameterReport())
/// // trainable params: 74,498 || all params: 22,788,484 || trainable%: 0.3269
/// ```
public struct TrainableParameterReport: Equatable, Sendable, CustomStringConvertible {
    public let trainable: Int
    public let total: Int

    public init(trainable: Int, total: Int) {
        self.trainable = trainable
        self.total = total
    }

    public init(model: Module) {
        let counts = model.parameterCounts()
        self.init(trainable: counts.trainable, total: counts.total)
    }

    /// 100 · trainable / total.
    public var percentage: Double { total == 0 ? 0 : 100 * Double(trainable) / Double(total) }

    public var description: String {
        "trainable params: \(grouped(trainable)) || all params: \(grouped(total)) || trainable%: \(String(format: "%.4f", percentage))"
    }
}

extension PeftModel {
    public func trainableParameterReport() -> TrainableParameterReport { TrainableParameterReport(model: model) }
}

private func grouped(_ value: Int) -> String {
    let digits = Array(String(value))
    return digits.enumerated().map { index, digit in
        (index > 0 && (digits.count - index) % 3 == 0 ? "," : "") + String(digit)
    }.joined()
}

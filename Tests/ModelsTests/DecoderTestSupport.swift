import Foundation
import Formats
import NN
import TensorCore
import TestSupport
@testable import Models

/// Shared helpers of the decoder tests: transformers' reference batch and logits
/// (scripts/fixtures/decoders.py) and finite-difference checks.
enum DecoderReference {
    static let file = try! SafetensorsFile(url: fixtureURL("decoders.safetensors"))

    static func ints(_ name: String) -> [Int] { try! file.tensor(name).toArray().map { Int($0) } }

    /// ids, mask [B, T], logits [B, T, V] and transformers' loss for the tiny model `name`.
    static func batch(_ name: String) -> (ids: [Int], mask: [Int], batchSize: Int, logits: Tensor, loss: Float) {
        let logits = try! file.tensor("\(name).logits")
        return (ints("\(name).input_ids"), ints("\(name).attention_mask"), logits.shape[0], logits,
                try! file.tensor("\(name).loss").item)
    }

    /// The largest difference between `actual` and `expected` [B, T, V] over positions whose
    /// mask is 1 (transformers' padded positions carry no meaning).
    static func maskedDifference(_ actual: Tensor, _ expected: Tensor, mask: [Int]) -> Float {
        precondition(actual.shape == expected.shape, "maskedDifference: \(actual.shape) vs \(expected.shape)")
        let v = actual.shape[2], a = actual.toArray(), e = expected.toArray()
        var worst: Float = 0
        for position in mask.indices where mask[position] == 1 {
            for c in 0..<v { worst = max(worst, abs(a[position * v + c] - e[position * v + c])) }
        }
        return worst
    }
}

/// Checks `count` random elements of every parameter's gradient of `loss` against central
/// differences; returns the failures as messages.
func finiteDifferenceFailures(_ model: Module, count: Int = 3, step: Float = 1e-2, tolerance: Double = 2e-3,
                              loss: () -> Tensor) -> [String] {
    model.zeroGradients()
    loss().backward()
    var generator = RandomGenerator(seed: 11)
    var failures: [String] = []
    for (path, parameter) in model.namedParameters() {
        let analytic = parameter.grad!.toArray()
        let storage = parameter.storage.floats + parameter.offset
        for _ in 0..<count {
            let element = Int(generator.next() % UInt64(parameter.count))
            let original = storage[element]
            storage[element] = original + step
            let upper = Double(Tensor.withoutGradient { loss() }.item)
            storage[element] = original - step
            let lower = Double(Tensor.withoutGradient { loss() }.item)
            storage[element] = original
            let numeric = (upper - lower) / (2 * Double(step))
            let error = abs(Double(analytic[element]) - numeric) / max(1, abs(numeric))
            if error >= tolerance { failures.append("\(path)[\(element)]: analytic \(analytic[element]) vs numeric \(numeric)") }
        }
    }
    return failures
}

/// Logits of `ids` fed one token at a time through a cache, stacked: [1, T, V].
func incrementalLogits(_ model: some CausalLanguageModel, ids: [Int], chunks: [Int]) -> Tensor {
    Tensor.withoutGradient {
        let cache = model.makeCache()
        var start = 0
        var parts: [Tensor] = []
        for size in chunks {
            parts.append(model(ids: Array(ids[start..<(start + size)]), batchSize: 1, cache: cache))
            start += size
        }
        return concatenate(parts, axis: 1)
    }
}

import Foundation
import TensorCore

/// Picks the next token from a row of logits: greedy (temperature 0), or sampled after
/// temperature scaling, top-k and top-p (nucleus) filtering, in that order, as transformers'
/// logits warpers do. Sampling is seeded, so a run is reproducible.
///
/// ```swift
/// var sampler = Sampler(temperature: 0.7, topK: 50, topP: 0.9, seed: 42)
/// let next = sampler.nextToken(logits: lastRow)   // [V] -> token id
/// ```
public struct Sampler: Sendable {
    /// 0 picks the most likely token; otherwise logits are divided by it before sampling.
    public var temperature: Float
    /// Keep only the k most likely tokens (nil: all).
    public var topK: Int?
    /// Keep the smallest set of most likely tokens whose probability reaches p (nil: all).
    public var topP: Float?
    public var generator: RandomGenerator

    public init(temperature: Float = 0, topK: Int? = nil, topP: Float? = nil, seed: UInt64 = 0) {
        precondition(temperature >= 0, "Sampler: temperature \(temperature) is negative")
        precondition(topK.map { $0 > 0 } ?? true, "Sampler: topK \(topK!) must be positive")
        precondition(topP.map { $0 > 0 && $0 <= 1 } ?? true, "Sampler: topP \(topP!) must lie in (0, 1]")
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.generator = RandomGenerator(seed: seed)
    }

    /// Greedy decoding.
    public static let greedy = Sampler()

    public var isGreedy: Bool { temperature == 0 }

    /// The next token for one row of logits [V].
    public mutating func nextToken(logits: [Float]) -> Int {
        precondition(!logits.isEmpty, "Sampler: empty logits")
        if isGreedy { return argmax(logits) }
        let candidates = probabilities(logits: logits)
        var remaining = generator.nextUniform() * candidates.reduce(0) { $0 + $1.probability }
        for candidate in candidates {
            remaining -= candidate.probability
            if remaining < 0 { return candidate.token }
        }
        return candidates.last!.token
    }

    /// The tokens that survive temperature, top-k and top-p, most likely first, with their
    /// renormalised probabilities.
    public func probabilities(logits: [Float]) -> [(token: Int, probability: Float)] {
        let scale = isGreedy ? 1 : 1 / temperature
        var ranked = logits.indices.sorted { logits[$0] > logits[$1] }
        if let topK { ranked = Array(ranked.prefix(topK)) }
        let maximum = logits[ranked[0]] * scale
        var weights = ranked.map { Foundation.exp(logits[$0] * scale - maximum) }
        let total = weights.reduce(0, +)
        weights = weights.map { $0 / total }
        if let topP {
            // Keep tokens until the cumulative probability reaches p (at least one).
            var cumulative: Float = 0, kept = 0
            while kept < weights.count && (kept == 0 || cumulative < topP) {
                cumulative += weights[kept]
                kept += 1
            }
            ranked = Array(ranked.prefix(kept))
            weights = Array(weights.prefix(kept)).map { $0 / cumulative }
        }
        return zip(ranked, weights).map { ($0, $1) }
    }
}

/// The index of the largest element (the first one on ties).
func argmax(_ values: [Float]) -> Int {
    var best = 0
    for index in values.indices where values[index] > values[best] { best = index }
    return best
}

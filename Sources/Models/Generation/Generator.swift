import Foundation
import TensorCore

/// Why generation stopped.
public enum GenerationStopReason: Sendable, Equatable {
    /// A stop token was produced (it is included in the output).
    case stopToken(Int)
    /// `maximumNewTokens` were produced.
    case maximumTokens
    /// The per-token callback asked to stop.
    case cancelled
}

/// The result of `generate`: the new tokens (prompt excluded) and why it stopped.
public struct Generation: Sendable, Equatable {
    public var tokens: [Int]
    public var stopReason: GenerationStopReason
}

/// Continues `prompt` token by token: one prefill pass over the prompt fills a
/// `KeyValueCache`, then each step feeds only the newest token. Only the last position's
/// logits are computed. `onToken` sees each new token as it is chosen (streaming) and may
/// return false to stop.
///
/// ```swift
/// var sampler = Sampler.greedy
/// let result = generate(model: model, prompt: ids, maximumNewTokens: 32, stopTokens: [2],
///                       sampler: &sampler) { token in print(token); return true }
/// ```
public func generate(model: some CausalLanguageModel, prompt: [Int], maximumNewTokens: Int,
                     stopTokens: Set<Int> = [], sampler: inout Sampler,
                     onToken: (Int) -> Bool = { _ in true }) -> Generation {
    precondition(!prompt.isEmpty, "generate: the prompt is empty")
    return Tensor.withoutGradient {
        let cache = model.makeCache()
        var tokens: [Int] = []
        var input = prompt
        while tokens.count < maximumNewTokens {
            let hidden = model.hiddenStates(ids: input, batchSize: 1, attentionMask: nil, cache: cache)   // [1, T, C]
            let last = hidden.sliced(axis: 1, (input.count - 1)..<input.count)   // [1, 1, C]
            let next = sampler.nextToken(logits: model.logits(fromHiddenStates: last).toArray())
            tokens.append(next)
            if !onToken(next) { return Generation(tokens: tokens, stopReason: .cancelled) }
            if stopTokens.contains(next) { return Generation(tokens: tokens, stopReason: .stopToken(next)) }
            input = [next]
        }
        return Generation(tokens: tokens, stopReason: .maximumTokens)
    }
}

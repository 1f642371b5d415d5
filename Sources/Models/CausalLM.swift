import Foundation
import NN
import TensorCore

// Shapes: B batch, T new tokens, P past tokens (in the cache), C hidden, V vocabulary.

/// A decoder-only language model: token ids in, next-token logits out, optionally reusing a
/// `KeyValueCache` so that each new token costs one step. LLaMA and GPT-2 conform.
///
/// Token positions continue from the cache: the new tokens sit at `P..<P+T` for every row.
/// An `attentionMask` (1 real, 0 padding; `[B, P + T]`, covering cached tokens too) hides
/// padded keys; with right padding, positions match transformers' default `position_ids`.
///
/// With prompt or prefix tuning attached (a `prompt_encoder`, as in PEFT's
/// `PeftModelForCausalLM`), the n virtual tokens enter on every call without a cache and on
/// the first call of an empty cache, which keeps them (`KeyValueCache.virtualTokenCount`).
/// They are always visible and callers never see them: attention masks cover real tokens
/// only (`[B, P_real + T]`), and hidden states and logits hold the T real positions only
/// (PEFT's prompt tuning returns n + T). Positions count the virtual tokens: real tokens sit
/// after them. So `causalLanguageModelLoss` over the returned logits is PEFT's loss except
/// that, under prompt tuning, PEFT also predicts the first real token from the last virtual
/// position; here the first real token is never predicted, as without an adapter and as
/// under prefix tuning.
///
/// ```swift
/// let logits = model(ids: [1, 450, 7483], batchSize: 1)        // [1, 3, V]
/// let loss = causalLanguageModelLoss(logits: logits, labels: [1, 450, 7483])
/// ```
public protocol CausalLanguageModel: Module {
    var vocabularySize: Int { get }
    /// Decoder layers (the number of `KeyValueCache` entries the model fills).
    var layerCount: Int { get }
    /// Token ids (`[B, T]` row-major) -> the final normalised hidden states [B, T, C].
    func hiddenStates(ids: [Int], batchSize: Int, attentionMask: [Int]?, cache: KeyValueCache?) -> Tensor
    /// The language-model head: [..., C] -> [..., V].
    func logits(fromHiddenStates hidden: Tensor) -> Tensor
}

extension CausalLanguageModel {
    /// Token ids (`[B, T]` row-major) -> logits [B, T, V].
    public func callAsFunction(ids: [Int], batchSize: Int = 1, attentionMask: [Int]? = nil,
                               cache: KeyValueCache? = nil) -> Tensor {
        logits(fromHiddenStates: hiddenStates(ids: ids, batchSize: batchSize, attentionMask: attentionMask, cache: cache))
    }

    /// An empty cache with one entry per decoder layer.
    public func makeCache() -> KeyValueCache { KeyValueCache(layerCount: layerCount) }
}

/// The labels a causal language model learns from: the ids themselves, with padding and
/// (optionally) each row's prompt set to `ignoreIndex`. `promptLengths[b]` counts the prompt
/// tokens of row b after any left padding; the first answer token is still predicted from
/// the prompt's last position.
///
/// ```swift
/// let labels = causalLanguageModelLabels(ids: ids, batchSize: 2, attentionMask: mask, promptLengths: [4, 6])
/// ```
public func causalLanguageModelLabels(ids: [Int] /* [B, T] */, batchSize: Int, attentionMask: [Int]? = nil,
                                      promptLengths: [Int]? = nil, ignoreIndex: Int = -100) -> [Int] /* [B, T] */ {
    precondition(ids.count % batchSize == 0, "causalLanguageModelLabels: \(ids.count) ids in \(batchSize) rows")
    precondition(attentionMask == nil || attentionMask!.count == ids.count,
                 "causalLanguageModelLabels: mask of \(attentionMask!.count) entries for \(ids.count) ids")
    precondition(promptLengths == nil || promptLengths!.count == batchSize,
                 "causalLanguageModelLabels: \(promptLengths!.count) prompt lengths for \(batchSize) rows")
    let length = ids.count / batchSize
    var labels = ids
    for row in 0..<batchSize {
        let rowMask = attentionMask.map { Array($0[(row * length)..<((row + 1) * length)]) } ?? Array(repeating: 1, count: length)
        let firstReal = rowMask.firstIndex(of: 1) ?? length
        let answerStart = firstReal + (promptLengths?[row] ?? 0)
        for position in 0..<length where rowMask[position] == 0 || position < answerStart {
            labels[row * length + position] = ignoreIndex
        }
    }
    return labels
}

/// The mean next-token cross-entropy, as transformers' causal-LM loss: position t predicts
/// `labels[t + 1]`, labels equal to `ignoreIndex` (padding, prompts) are skipped, and the
/// mean runs over the predicted tokens of the whole batch.
///
/// ```swift
/// let loss = causalLanguageModelLoss(logits: model(ids: ids, batchSize: 2), labels: labels)
/// loss.backward()
/// ```
public func causalLanguageModelLoss(logits: Tensor /* [B, T, V] */, labels: [Int] /* [B, T] */,
                                    ignoreIndex: Int = -100) -> Tensor {
    precondition(logits.rank == 3 && labels.count == logits.shape[0] * logits.shape[1],
                 "causalLanguageModelLoss: logits \(logits.shape) need [B, T, V] with \(labels.count) = B·T labels")
    let (b, t, v) = (logits.shape[0], logits.shape[1], logits.shape[2])
    var targets = [Int](repeating: ignoreIndex, count: b * t)
    for row in 0..<b {
        for position in 0..<(t - 1) { targets[row * t + position] = labels[row * t + position + 1] }
    }
    return crossEntropy(logits: logits.reshaped([b * t, v]), targets: targets, ignoreIndex: ignoreIndex)
}

/// The number of tokens `causalLanguageModelLoss` averages over for these labels.
public func predictedTokenCount(labels: [Int] /* [B, T] */, batchSize: Int, ignoreIndex: Int = -100) -> Int {
    let length = labels.count / batchSize
    return (0..<labels.count).filter { $0 % length != 0 && labels[$0] != ignoreIndex }.count
}

/// Perplexity over many batches: exp of the token-weighted mean negative log-likelihood.
///
/// ```swift
/// var meter = PerplexityMeter()
/// meter.add(meanLoss: loss.item, tokenCount: predictedTokenCount(labels: labels, batchSize: 2))
/// print(meter.perplexity)
/// ```
public struct PerplexityMeter: Sendable, Equatable {
    public private(set) var totalNegativeLogLikelihood: Double = 0
    public private(set) var tokenCount = 0

    public init() {}

    /// Adds one batch: its mean loss and the number of tokens it averaged over.
    public mutating func add(meanLoss: Float, tokenCount count: Int) {
        totalNegativeLogLikelihood += Double(meanLoss) * Double(count)
        tokenCount += count
    }

    public var meanLoss: Double { tokenCount == 0 ? 0 : totalNegativeLogLikelihood / Double(tokenCount) }
    public var perplexity: Double { Foundation.exp(meanLoss) }
}

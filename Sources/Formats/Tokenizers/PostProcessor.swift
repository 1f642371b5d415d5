/// Hugging Face's `TemplateProcessing` (and `BertProcessing`, the same template): wraps one
/// sequence as `[CLS] A [SEP]` and a pair as `[CLS] A [SEP] B [SEP]`, with token type ids 0 for
/// the first part and 1 for the second.
struct TemplatePostProcessor: Sendable {
    enum Piece: Sendable {
        /// A special token (possibly several ids) with its type id.
        case special(ids: [Int], tokens: [String], typeID: Int)
        /// The first (`isFirst`) or second sequence, all its tokens given `typeID`.
        case sequence(isFirst: Bool, typeID: Int)
    }

    var single: [Piece]
    var pair: [Piece]

    /// No special tokens: a pair is just the two sequences, typed 0 and 1.
    static let none = TemplatePostProcessor(
        single: [.sequence(isFirst: true, typeID: 0)],
        pair: [.sequence(isFirst: true, typeID: 0), .sequence(isFirst: false, typeID: 1)])

    /// BERT's template with the given ids of `[CLS]` and `[SEP]`.
    static func bert(classifier: (token: String, id: Int), separator: (token: String, id: Int)) -> TemplatePostProcessor {
        let cls = Piece.special(ids: [classifier.id], tokens: [classifier.token], typeID: 0)
        return TemplatePostProcessor(
            single: [cls, .sequence(isFirst: true, typeID: 0), .special(ids: [separator.id], tokens: [separator.token], typeID: 0)],
            pair: [cls, .sequence(isFirst: true, typeID: 0), .special(ids: [separator.id], tokens: [separator.token], typeID: 0),
                   .sequence(isFirst: false, typeID: 1), .special(ids: [separator.id], tokens: [separator.token], typeID: 1)])
    }

    /// How many special tokens the template adds.
    func addedTokenCount(isPair: Bool) -> Int {
        (isPair ? pair : single).reduce(0) { total, piece in
            if case let .special(ids, _, _) = piece { return total + ids.count }
            return total
        }
    }

    /// Applies the template to encodings of the bare sequences.
    func apply(first: Encoding, second: Encoding?) -> Encoding {
        var result = Encoding(ids: [], tokenTypeIds: [], attentionMask: [], tokens: [], offsets: [])
        for piece in second == nil ? single : pair {
            switch piece {
            case let .special(ids, tokens, typeID):
                result.ids += ids
                result.tokens += tokens
                result.tokenTypeIds += repeatElement(typeID, count: ids.count)
                result.attentionMask += repeatElement(1, count: ids.count)
                result.offsets += repeatElement(0..<0, count: ids.count)
            case let .sequence(isFirst, typeID):
                guard let part = isFirst ? first : second else { continue }
                result.ids += part.ids
                result.tokens += part.tokens
                result.tokenTypeIds += repeatElement(typeID, count: part.count)
                result.attentionMask += part.attentionMask
                result.offsets += part.offsets
            }
        }
        return result
    }
}

/// Hugging Face's `longest_first` truncation of a sequence or pair (before special tokens are
/// added) so that, with `addedTokens` more, the result has at most `maxLength` tokens. For a
/// pair, tokens come off the longer sequence until both are equal, then off both alternately
/// (the first keeps the extra token when the budget is odd and the first is the longer).
func truncateLongestFirst(_ first: inout Encoding, _ second: inout Encoding?, maxLength: Int, addedTokens: Int) {
    precondition(maxLength >= addedTokens, "maxLength \(maxLength) leaves no room for the \(addedTokens) special tokens")
    let budget = maxLength - addedTokens
    guard var pair = second else {
        first.truncate(to: budget)
        return
    }
    guard first.count + pair.count > budget else { return }
    var (shorter, longer) = (min(first.count, pair.count), max(first.count, pair.count))
    longer = shorter > budget ? shorter : max(shorter, budget - shorter)
    if shorter + longer > budget {
        shorter = budget / 2
        longer = shorter + budget % 2
    }
    let firstIsLonger = first.count > pair.count
    first.truncate(to: firstIsLonger ? longer : shorter)
    pair.truncate(to: firstIsLonger ? shorter : longer)
    second = pair
}

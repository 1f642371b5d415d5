import Foundation
import TensorCore

/// A BERT WordPiece tokenizer that gives exactly the token ids of Hugging Face `tokenizers`:
/// special tokens matched first and never split, `BertNormalizer`, `BertPreTokenizer`,
/// greedy longest-match WordPiece with a `##` continuation prefix, the `[CLS] A [SEP] B [SEP]`
/// template, `longest_first` truncation and padding with attention masks.
///
/// ```swift
/// let tokenizer = try WordPieceTokenizer(folder: URL(fileURLWithPath: "all-MiniLM-L6-v2"))
/// let encoding = tokenizer.encode("Is it good?", pair: "Yes, very.", maxLength: 128)
/// encoding.ids           // [101, 2003, 2009, 2204, 1029, 102, 2748, 1010, 2200, 1012, 102]
/// encoding.tokenTypeIds  // [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
/// let batch = tokenizer.encodeBatch(["good", "not good at all"], maxLength: 64, padding: .longest)
/// batch.shape            // [2, 6]
/// ```
public struct WordPieceTokenizer: Sendable {
    /// Truncation applied when `encode` is given no `maxLength`: tokenizer.json's
    /// `truncation.max_length`, or nil (no truncation) for a bare `vocab.txt`.
    public var maximumLength: Int?

    let normalizer: BertNormalizer?
    let model: WordPiece
    let addedTokens: AddedTokens
    let postProcessor: TemplatePostProcessor
    let paddingToken: PaddingToken
    let padsAtStart: Bool
    /// The WordPiece decoder's prefix and whether it cleans up spaces before punctuation; nil
    /// when tokenizer.json has no decoder (tokens are then joined with spaces).
    let decoder: (prefix: String, cleansUp: Bool)?
    /// Token of each id; "" where an id has no token.
    let tokensByID: [String]
    let idsByToken: [String: Int]

    /// Number of ids, added tokens included: the rows an embedding table needs.
    public var vocabularySize: Int { tokensByID.count }

    /// The id of a vocabulary entry or added token.
    public func id(of token: String) -> Int? { idsByToken[token] }

    /// The vocabulary entry of an id.
    public func token(for id: Int) -> String? {
        id >= 0 && id < tokensByID.count && !tokensByID[id].isEmpty ? tokensByID[id] : nil
    }

    /// Encodes a text, or a pair of texts, with special tokens.
    ///
    /// `maxLength` counts the special tokens; nil uses `maximumLength`. A pair is truncated
    /// `longest_first`. No padding is added (see `encodeBatch`).
    public func encode(_ text: String, pair: String? = nil, maxLength: Int? = nil) -> Encoding {
        var first = encodeSequence(text)
        var second = pair.map(encodeSequence)
        if let limit = maxLength ?? maximumLength {
            truncateLongestFirst(&first, &second, maxLength: limit,
                                 addedTokens: postProcessor.addedTokenCount(isPair: second != nil))
        }
        return postProcessor.apply(first: first, second: second)
    }

    /// Encodes texts in parallel and pads them into one `[B, T]` batch: to the longest, or to a
    /// fixed length (which also truncates to it).
    public func encodeBatch(_ texts: [String], maxLength: Int? = nil, padding: PaddingStrategy = .longest) -> BatchEncoding {
        var limit = maxLength ?? maximumLength
        if case let .fixed(length) = padding { limit = min(limit ?? length, length) }
        let empty = Encoding(ids: [], tokenTypeIds: [], attentionMask: [], tokens: [], offsets: [])
        var encodings = [Encoding](repeating: empty, count: texts.count)
        encodings.withUnsafeMutableBufferPointer { buffer in
            let results = UncheckedPointer(buffer.baseAddress)
            Parallel.forEachChunk(texts.count, granularity: 16) { range in
                for index in range { results.pointer?[index] = encode(texts[index], maxLength: limit) }
            }
        }
        let length: Int
        switch padding {
        case .longest: length = encodings.map(\.count).max() ?? 0
        case let .fixed(fixed): length = fixed
        }
        for index in encodings.indices {
            encodings[index].pad(to: length, with: paddingToken, atStart: padsAtStart)
        }
        return BatchEncoding(encodings, sequenceLength: length)
    }

    /// Turns ids back into text with the WordPiece decoder: `##` pieces join the previous one,
    /// other tokens are separated by a space, and spaces before punctuation are removed.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) -> String {
        let tokens = ids.compactMap { id -> String? in
            if skipSpecialTokens && addedTokens.specialIDs.contains(id) { return nil }
            return token(for: id)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        // Compare Unicode scalars, not Characters: "##" + a combining mark is one grapheme.
        let prefix = Array(decoder.prefix.unicodeScalars)
        var text = String.UnicodeScalarView()
        for (index, token) in tokens.enumerated() {
            var piece = Array(token.unicodeScalars)
            if index > 0 {
                if piece.starts(with: prefix) { piece.removeFirst(prefix.count) } else { piece.insert(" ", at: 0) }
            }
            text.append(contentsOf: decoder.cleansUp ? Self.cleanedUp(piece) : piece)
        }
        return String(text)
    }

    /// Hugging Face's `cleanup` of one decoded piece: its replacements, in order, on scalars.
    private static let cleanupReplacements: [([Unicode.Scalar], [Unicode.Scalar])] = [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
        (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ].map { (Array($0.0.unicodeScalars), Array($0.1.unicodeScalars)) }

    private static func cleanedUp(_ piece: [Unicode.Scalar]) -> [Unicode.Scalar] {
        cleanupReplacements.reduce(piece) { text, replacement in
            var result: [Unicode.Scalar] = []
            var index = 0
            while index < text.count {
                if text[index...].starts(with: replacement.0) {
                    result += replacement.1
                    index += replacement.0.count
                } else {
                    result.append(text[index])
                    index += 1
                }
            }
            return result
        }
    }

    /// The tokens of one text, without special tokens or truncation.
    func encodeSequence(_ text: String) -> Encoding {
        let scalars = text.unicodeScalars.map(\.value)
        var result = Encoding(ids: [], tokenTypeIds: [], attentionMask: [], tokens: [], offsets: [])
        result.ids.reserveCapacity(scalars.count / 3 + 2)
        var normalized = NormalizedText()
        for segment in addedTokens.splitRaw(scalars, range: 0..<scalars.count) {
            switch segment {
            case let .token(id, range):
                append(id, offsets: range, to: &result)
            case let .text(range):
                if let normalizer {
                    normalizer.normalize(scalars, range: range, into: &normalized)
                } else {
                    normalized = NormalizedText(scalars: Array(scalars[range]), origins: Array(range))
                }
                guard addedTokens.hasNormalizedTokens else {
                    tokenizeWords(normalized, range: 0..<normalized.scalars.count, into: &result)
                    continue
                }
                for part in addedTokens.splitNormalized(normalized.scalars) {
                    switch part {
                    case let .token(id, range):
                        append(id, offsets: normalized.origins[range.lowerBound]..<normalized.origins[range.upperBound - 1] + 1, to: &result)
                    case let .text(range):
                        tokenizeWords(normalized, range: range, into: &result)
                    }
                }
            }
        }
        return result
    }

    private func tokenizeWords(_ text: NormalizedText, range: Range<Int>, into result: inout Encoding) {
        var pieces: [(id: Int, range: Range<Int>)] = []
        pieces.reserveCapacity(range.count / 2 + 1)
        for word in BertPreTokenizer.words(in: text.scalars, range: range) {
            model.tokenize(text.scalars, word: word, into: &pieces)
        }
        for piece in pieces {
            append(piece.id, offsets: text.origins[piece.range.lowerBound]..<text.origins[piece.range.upperBound - 1] + 1, to: &result)
        }
    }

    private func append(_ id: Int, offsets: Range<Int>, to result: inout Encoding) {
        result.ids.append(id)
        result.tokenTypeIds.append(0)
        result.attentionMask.append(1)
        result.tokens.append(tokensByID[id])
        result.offsets.append(offsets)
    }
}

/// A pointer handed to the worker threads of `encodeBatch`, each writing only its own indices.
private struct UncheckedPointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Encoding>?
    init(_ pointer: UnsafeMutablePointer<Encoding>?) { self.pointer = pointer }
}

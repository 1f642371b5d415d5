import Foundation

/// A byte-level BPE tokenizer (GPT-2, LLaMA-3, SmolLM2, Qwen2) whose ids match Hugging Face
/// `tokenizers`: added tokens are matched first and never split, the rest is cut into words by
/// the pre-tokenizer, each word's UTF-8 bytes become alphabet tokens ("Ġ" for a space) and BPE
/// merges them by rank.
///
/// ```swift
/// let tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: folder.appendingPathComponent("tokenizer.json"))
/// let ids = tokenizer.encode("To be, or not to be")     // [2068, 325, 28, 355, 441, 288, 325] (SmolLM2)
/// tokenizer.decode(ids)                                  // "To be, or not to be"
/// ```
public struct ByteLevelBPETokenizer: Sendable {
    /// A token matched in the raw text before pre-tokenization (tokenizer.json's `added_tokens`).
    public struct AddedToken: Sendable, Equatable {
        public var id: Int
        public var content: String
        /// Left out by `decode(_:skipSpecialTokens:)` when asked.
        public var isSpecial: Bool
        /// Matched in the normalized text rather than the raw text.
        public var isNormalized: Bool
        /// `lstrip`: the whitespace before a match belongs to it.
        public var stripsLeft: Bool
        /// `rstrip`: the whitespace after a match belongs to it.
        public var stripsRight: Bool
        /// `single_word`: a match inside a word is ignored.
        public var isSingleWord: Bool

        public init(id: Int, content: String, isSpecial: Bool = true, isNormalized: Bool = false,
                    stripsLeft: Bool = false, stripsRight: Bool = false, isSingleWord: Bool = false) {
            self.id = id
            self.content = content
            self.isSpecial = isSpecial
            self.isNormalized = isNormalized
            self.stripsLeft = stripsLeft
            self.stripsRight = stripsRight
            self.isSingleWord = isSingleWord
        }
    }

    /// The normalizer applied to text outside added tokens.
    public enum Normalization: Sendable, Equatable {
        case none
        /// Unicode canonical composition (Qwen2's `NFC`).
        case nfc

        func apply(to text: String) -> String {
            switch self {
            case .none: text
            case .nfc: text.precomposedStringWithCanonicalMapping
            }
        }
    }

    /// Ids put around a text's tokens when special tokens are added (the single-sequence form of
    /// `TemplateProcessing`, or GGUF's `add_bos_token`/`add_eos_token`).
    public struct Template: Sendable, Equatable {
        public var prefix: [Int]
        public var suffix: [Int]

        public init(prefix: [Int] = [], suffix: [Int] = []) {
            self.prefix = prefix
            self.suffix = suffix
        }
    }

    public let preTokenizer: ByteLevelPreTokenizer
    public let normalization: Normalization
    public let template: Template
    public var addedTokens: [AddedToken] { added.tokens }
    /// Beginning-of-sequence, end-of-sequence and padding ids, where the source names them.
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    public var padTokenID: Int?
    /// The Jinja chat template the source carries, if any (see `ChatMLTemplate`).
    public var chatTemplate: String?

    private let model: BytePairModel
    private let added: ByteLevelAddedVocabulary

    /// Builds a tokenizer from its parts; `merges` are in rank order, as pairs of vocabulary
    /// entries in the byte-level alphabet. Throws when a merge names a token the vocabulary lacks.
    ///
    /// ```swift
    /// let tokenizer = try ByteLevelBPETokenizer(
    ///     vocabulary: ["a": 0, "b": 1, "ab": 2, "Ġ": 3], merges: [("a", "b")],
    ///     addedTokens: [.init(id: 4, content: "<|endoftext|>")])
    /// tokenizer.encode("ab ab<|endoftext|>")   // [2, 3, 2, 4]
    /// ```
    public init(vocabulary: [String: Int], merges: [(String, String)], addedTokens: [AddedToken] = [],
                preTokenizer: ByteLevelPreTokenizer = .gpt2, normalization: Normalization = .none,
                template: Template = Template(), ignoresMerges: Bool = false, byteFallback: Bool = false,
                unknownToken: String? = nil, fusesUnknown: Bool = false) throws(ByteLevelBPEError) {
        var unknownID: Int?
        if let unknownToken {
            guard let id = vocabulary[unknownToken] else { throw .missingToken(source: "vocabulary", token: unknownToken) }
            unknownID = id
        }
        do {
            model = try BytePairModel(vocabulary: vocabulary, merges: merges, ignoresMerges: ignoresMerges,
                                      byteFallback: byteFallback, unknownID: unknownID, fusesUnknown: fusesUnknown)
        } catch {
            throw .invalidMerge(source: "merges", rank: error.rank, merge: "\(error.left) \(error.right)")
        }
        added = ByteLevelAddedVocabulary(addedTokens, normalization: normalization)
        self.preTokenizer = preTokenizer
        self.normalization = normalization
        self.template = template
    }

    /// One more than the largest id of the vocabulary and the added tokens.
    public var vocabularySize: Int {
        max(model.tokens.count, (added.tokens.map(\.id).max() ?? -1) + 1)
    }

    /// The token ids of `text`, with the template's special tokens around them when `addSpecialTokens`.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var ids: [Int] = addSpecialTokens ? template.prefix : []
        ids.reserveCapacity(text.utf8.count / 3)
        var bytes: [UInt8] = []
        let model = model
        for segment in added.split(text, normalization: normalization) {
            switch segment {
            case let .token(id):
                ids.append(id)
            case let .text(scalars):
                preTokenizer.forEachPiece(in: scalars[...]) { piece in
                    bytes.removeAll(keepingCapacity: true)
                    for scalar in piece { Self.appendUTF8(of: scalar, to: &bytes) }
                    model.encode(word: bytes, into: &ids)
                }
            }
        }
        if addSpecialTokens { ids += template.suffix }
        return ids
    }

    /// The vocabulary entries of `text`'s tokens, e.g. `["Hello", ",", "Ġworld"]`.
    public func tokenize(_ text: String, addSpecialTokens: Bool = false) -> [String] {
        encode(text, addSpecialTokens: addSpecialTokens).map { token(for: $0) ?? "" }
    }

    /// The added token's content or the vocabulary entry of `id`.
    public func token(for id: Int) -> String? {
        if let content = added.contents[id] { return content }
        return id >= 0 && id < model.tokens.count ? model.tokens[id] : nil
    }

    /// The id of an added token's content or of a vocabulary entry.
    public func id(for token: String) -> Int? {
        added.ids[token] ?? model.vocabulary[token]
    }

    /// The text of `ids`: each token's alphabet scalars turned back into bytes (a token with a
    /// scalar outside the alphabet contributes its own UTF-8), invalid UTF-8 replaced by U+FFFD.
    /// Unknown ids are skipped, and special tokens too when `skipSpecialTokens`.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            if skipSpecialTokens && added.specialIDs.contains(id) { continue }
            guard let token = token(for: id) else { continue }
            let mapped = token.unicodeScalars.map { ByteLevelAlphabet.byte(for: $0.value) }
            if mapped.allSatisfy({ $0 != nil }) {
                bytes += mapped.map { $0! }
            } else {
                bytes += token.utf8
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @inline(__always)
    private static func appendUTF8(of scalar: UInt32, to bytes: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            bytes.append(UInt8(scalar))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | scalar >> 6))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | scalar >> 12))
            bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        default:
            bytes.append(UInt8(0xF0 | scalar >> 18))
            bytes.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}

import Foundation

extension WordPieceTokenizer {
    /// The special tokens of a bare BERT `vocab.txt`.
    static let bertSpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    /// Loads a tokenizer from a folder in Hugging Face layout: `tokenizer.json` when present,
    /// else `vocab.txt` (lowercasing as `tokenizer_config.json`'s `do_lower_case` says, default true).
    ///
    /// ```swift
    /// let tokenizer = try WordPieceTokenizer(folder: URL(fileURLWithPath: ".cache/assets/all-MiniLM-L6-v2"))
    /// ```
    public init(folder: URL) throws {
        let json = folder.appendingPathComponent("tokenizer.json")
        let vocabulary = folder.appendingPathComponent("vocab.txt")
        if FileManager.default.fileExists(atPath: json.path) {
            try self.init(tokenizerJSON: json)
        } else if FileManager.default.fileExists(atPath: vocabulary.path) {
            struct Configuration: Decodable { let do_lower_case: Bool? }
            let configuration = folder.appendingPathComponent("tokenizer_config.json")
            var lowercase = true
            if FileManager.default.fileExists(atPath: configuration.path) {
                lowercase = try Self.decode(Configuration.self, from: configuration).do_lower_case ?? true
            }
            try self.init(vocabulary: vocabulary, lowercase: lowercase)
        } else {
            throw TokenizerError.missingVocabulary(folder: folder.path)
        }
    }

    /// Loads a BERT tokenizer from a bare `vocab.txt` with Hugging Face's defaults for
    /// `BertTokenizerFast`: clean text, separate CJK ideographs, strip accents when lowercasing,
    /// `[CLS] A [SEP] B [SEP]`, no truncation.
    ///
    /// ```swift
    /// let tokenizer = try WordPieceTokenizer(vocabulary: folder.appendingPathComponent("vocab.txt"), lowercase: true)
    /// ```
    public init(vocabulary url: URL, lowercase: Bool = true) throws {
        let vocabulary = try readVocabularyFile(url)
        let file = url.path
        func id(_ token: String) throws -> Int {
            guard let id = vocabulary[token] else { throw TokenizerError.missingToken(file: file, token: token) }
            return id
        }
        let added = Self.bertSpecialTokens.compactMap { token in
            vocabulary[token].map { AddedTokens.Token(id: $0, content: token, isSpecial: true, isNormalized: false) }
        }
        self.init(
            vocabulary: vocabulary, addedTokens: added,
            normalizer: BertNormalizer(cleansText: true, separatesIdeographs: true, stripsAccents: lowercase, lowercases: lowercase),
            model: WordPiece(vocabulary: vocabulary, unknownID: try id("[UNK]"), continuationPrefix: "##", maxInputCharactersPerWord: 100),
            postProcessor: .bert(classifier: ("[CLS]", try id("[CLS]")), separator: ("[SEP]", try id("[SEP]"))),
            paddingToken: PaddingToken(id: vocabulary["[PAD]"] ?? 0, typeID: 0, token: "[PAD]"), padsAtStart: false,
            decoder: ("##", true), maximumLength: nil)
    }

    /// Loads a tokenizer from Hugging Face's `tokenizer.json`, which must describe a WordPiece
    /// model with a `BertNormalizer` (or none) and a `BertPreTokenizer`.
    ///
    /// ```swift
    /// let tokenizer = try WordPieceTokenizer(tokenizerJSON: folder.appendingPathComponent("tokenizer.json"))
    /// ```
    public init(tokenizerJSON url: URL) throws {
        let spec = try Self.decode(TokenizerFile.self, from: url)
        let file = url.path
        if let type = spec.model.type, type != "WordPiece" {
            throw TokenizerError.unsupported(file: file, key: "model.type", value: type)
        }
        let vocabulary = spec.model.vocab
        guard !vocabulary.isEmpty else { throw TokenizerError.emptyVocabulary(file: file) }
        let unknownToken = spec.model.unk_token ?? "[UNK]"
        guard let unknownID = vocabulary[unknownToken] else { throw TokenizerError.missingToken(file: file, token: unknownToken) }

        var normalizer: BertNormalizer?
        if let settings = spec.normalizer {
            guard settings.type == "BertNormalizer" else {
                throw TokenizerError.unsupported(file: file, key: "normalizer.type", value: settings.type)
            }
            let lowercase = settings.lowercase ?? true
            normalizer = BertNormalizer(cleansText: settings.clean_text ?? true, separatesIdeographs: settings.handle_chinese_chars ?? true,
                                        stripsAccents: settings.strip_accents ?? lowercase, lowercases: lowercase)
        }
        let preTokenizer = spec.pre_tokenizer?.type ?? "null"
        guard preTokenizer == "BertPreTokenizer" else {
            throw TokenizerError.unsupported(file: file, key: "pre_tokenizer.type", value: preTokenizer)
        }
        if let truncation = spec.truncation {
            if let strategy = truncation.strategy, strategy != "LongestFirst" {
                throw TokenizerError.unsupported(file: file, key: "truncation.strategy", value: strategy)
            }
            if let direction = truncation.direction, direction != "Right" {
                throw TokenizerError.unsupported(file: file, key: "truncation.direction", value: direction)
            }
        }
        var decoder: (prefix: String, cleansUp: Bool)?
        if let settings = spec.decoder {
            guard settings.type == "WordPiece" else { throw TokenizerError.unsupported(file: file, key: "decoder.type", value: settings.type) }
            decoder = (settings.prefix ?? "##", settings.cleanup ?? true)
        }
        let added = (spec.added_tokens ?? []).map { token in
            AddedTokens.Token(id: token.id, content: token.content, isSpecial: token.special ?? false,
                              isNormalized: token.normalized ?? !(token.special ?? false))
        }
        let padding = spec.padding
        self.init(
            vocabulary: vocabulary, addedTokens: added, normalizer: normalizer,
            model: WordPiece(vocabulary: vocabulary, unknownID: unknownID,
                             continuationPrefix: spec.model.continuing_subword_prefix ?? "##",
                             maxInputCharactersPerWord: spec.model.max_input_chars_per_word ?? 100),
            postProcessor: try Self.postProcessor(spec.post_processor, file: file),
            paddingToken: PaddingToken(id: padding?.pad_id ?? vocabulary["[PAD]"] ?? 0, typeID: padding?.pad_type_id ?? 0,
                                       token: padding?.pad_token ?? "[PAD]"),
            padsAtStart: padding?.direction == "Left", decoder: decoder, maximumLength: spec.truncation?.max_length)
    }

    private init(vocabulary: [String: Int], addedTokens: [AddedTokens.Token], normalizer: BertNormalizer?, model: WordPiece,
                 postProcessor: TemplatePostProcessor, paddingToken: PaddingToken, padsAtStart: Bool,
                 decoder: (prefix: String, cleansUp: Bool)?, maximumLength: Int?) {
        var idsByToken = vocabulary
        for token in addedTokens { idsByToken[token.content] = token.id }
        var tokensByID = [String](repeating: "", count: (idsByToken.values.max() ?? -1) + 1)
        for (token, id) in idsByToken where id >= 0 { tokensByID[id] = token }
        self.idsByToken = idsByToken
        self.tokensByID = tokensByID
        self.addedTokens = AddedTokens(addedTokens)
        self.normalizer = normalizer
        self.model = model
        self.postProcessor = postProcessor
        self.paddingToken = paddingToken
        self.padsAtStart = padsAtStart
        self.decoder = decoder
        self.maximumLength = maximumLength
    }

    private static func postProcessor(_ spec: TokenizerFile.PostProcessor?, file: String) throws -> TemplatePostProcessor {
        guard let spec else { return .none }
        switch spec.type {
        case "BertProcessing":
            guard case let .value(classifier, classifierID)? = spec.cls, case let .value(separator, separatorID)? = spec.sep else {
                throw TokenizerError.malformedFile(file: file, reason: "post_processor needs 'cls' and 'sep'")
            }
            return .bert(classifier: (classifier, classifierID), separator: (separator, separatorID))
        case "TemplateProcessing":
            let specials = spec.special_tokens ?? [:]
            func pieces(_ list: [TokenizerFile.PostProcessor.Piece]?, key: String) throws -> [TemplatePostProcessor.Piece] {
                guard let list else { throw TokenizerError.malformedFile(file: file, reason: "missing key 'post_processor.\(key)'") }
                return try list.map { piece in
                    if let special = piece.SpecialToken {
                        guard let token = specials[special.id] else { throw TokenizerError.missingToken(file: file, token: special.id) }
                        return .special(ids: token.ids, tokens: token.tokens, typeID: special.type_id)
                    }
                    if let sequence = piece.Sequence { return .sequence(isFirst: sequence.id == "A", typeID: sequence.type_id) }
                    throw TokenizerError.malformedFile(file: file, reason: "post_processor.\(key) holds a piece that is neither SpecialToken nor Sequence")
                }
            }
            return TemplatePostProcessor(single: try pieces(spec.single, key: "single"), pair: try pieces(spec.pair, key: "pair"))
        default:
            throw TokenizerError.unsupported(file: file, key: "post_processor.type", value: spec.type)
        }
    }

    /// `decodeJSONFile`, its errors reported as `TokenizerError.malformedFile`.
    private static func decode<Value: Decodable>(_ type: Value.Type, from url: URL) throws -> Value {
        do {
            return try decodeJSONFile(type, from: url)
        } catch let error as JSONFileError {
            let reason = switch error {
            case let .unreadable(_, reason): "cannot read: \(reason)"
            case let .malformed(_, reason): "not valid JSON: \(reason)"
            case let .missingKey(_, key): "missing key '\(key)'"
            case let .wrongType(_, key, expected): "key '\(key)' should be \(expected)"
            }
            throw TokenizerError.malformedFile(file: url.path, reason: reason)
        }
    }
}

/// A metadata value as a GGUF file stores it; `GGUFValue` conforms, and so can any other source
/// of llama.cpp-style tokenizer metadata.
public protocol TokenizerMetadataValue {
    var string: String? { get }
    var strings: [String]? { get }
    var integer: Int? { get }
    var integers: [Int]? { get }
    var bool: Bool? { get }
}

extension ByteLevelBPETokenizer {
    /// llama.cpp's token types (`tokenizer.ggml.token_type`).
    private enum GGUFTokenType: Int {
        case normal = 1, unknown, control, userDefined, unused, byte
    }

    /// Builds the tokenizer that a GGUF file's `tokenizer.ggml.*` metadata describes, the way
    /// llama.cpp reads it: model `gpt2`, `tokens`, `merges` ("a b"), `token_type` (control tokens
    /// become special added tokens, user-defined ones plain added tokens), `pre` (the pre-tokenizer:
    /// "gpt2", "smollm"/"starcoder" (digits one by one), "llama-bpe", "qwen2" ...),
    /// `bos/eos/padding_token_id`, `add_bos_token`/`add_eos_token` and `chat_template`.
    ///
    /// ```swift
    /// let gguf = try GGUFFile(url: modelURL)
    /// let tokenizer = try ByteLevelBPETokenizer(ggufMetadata: gguf.metadata)
    /// ```
    public init<Value: TokenizerMetadataValue>(ggufMetadata metadata: [String: Value], source: String = "GGUF metadata") throws(ByteLevelBPEError) {
        func value<T>(_ key: String, _ read: (Value) -> T?, expected: String) throws(ByteLevelBPEError) -> T {
            guard let entry = metadata["tokenizer.ggml." + key], let result = read(entry) else {
                throw .missingKey(source: source, key: "tokenizer.ggml." + key, expected: expected)
            }
            return result
        }
        let model = try value("model", \.string, expected: "a string")
        guard model == "gpt2" else { throw .unsupported(source: source, key: "tokenizer.ggml.model", value: model) }
        let tokens = try value("tokens", \.strings, expected: "a list of strings")
        let types = metadata["tokenizer.ggml.token_type"]?.integers ?? []
        var merges: [(String, String)] = []
        for (rank, merge) in try value("merges", \.strings, expected: "a list of strings").enumerated() {
            guard let space = merge.firstIndex(of: " ") else { throw .invalidMerge(source: source, rank: rank, merge: merge) }
            merges.append((String(merge[..<space]), String(merge[merge.index(after: space)...])))
        }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(tokens.count)
        var addedTokens: [AddedToken] = []
        for (id, token) in tokens.enumerated() {
            if vocabulary[token] == nil { vocabulary[token] = id }
            switch id < types.count ? GGUFTokenType(rawValue: types[id]) : .normal {
            case .control?: addedTokens.append(AddedToken(id: id, content: token, isSpecial: true))
            case .userDefined?: addedTokens.append(AddedToken(id: id, content: token, isSpecial: false))
            default: break
            }
        }
        let pre = metadata["tokenizer.ggml.pre"]?.string ?? "default"
        guard let preTokenizer = Self.preTokenizer(llamaCppName: pre) else {
            throw .unsupported(source: source, key: "tokenizer.ggml.pre", value: pre)
        }
        func tokenID(_ key: String) -> Int? { metadata["tokenizer.ggml." + key]?.integer }
        let bos = tokenID("bos_token_id")
        let eos = tokenID("eos_token_id")
        var template = Template()
        if metadata["tokenizer.ggml.add_bos_token"]?.bool == true, let bos { template.prefix = [bos] }
        if metadata["tokenizer.ggml.add_eos_token"]?.bool == true, let eos { template.suffix = [eos] }
        try self.init(vocabulary: vocabulary, merges: merges, addedTokens: addedTokens, preTokenizer: preTokenizer,
                      normalization: pre == "qwen2" ? .nfc : .none, template: template)
        bosTokenID = bos
        eosTokenID = eos
        padTokenID = tokenID("padding_token_id")
        chatTemplate = metadata["tokenizer.chat_template"]?.string
    }

    /// The pre-tokenizer llama.cpp runs for a `tokenizer.ggml.pre` name, for the names whose
    /// patterns we implement.
    static func preTokenizer(llamaCppName name: String) -> ByteLevelPreTokenizer? {
        switch name {
        case "gpt2", "mpt", "olmo", "jais":
            return .gpt2
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            return .smolLM2
        case "llama3", "llama-v3", "llama-bpe":
            return .llama3
        case "qwen2":
            return ByteLevelPreTokenizer(steps: [.split(.llama3(maximumDigits: 1))])
        default:
            return nil
        }
    }
}

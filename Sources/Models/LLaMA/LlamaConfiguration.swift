import Foundation
import Formats

/// A LLaMA-family model's `config.json` (LLaMA, SmolLM, Mistral-style grouped-query
/// attention), with Hugging Face's key names on disk and full words in Swift.
///
/// The sizes are required; the rest falls back to `transformers.LlamaConfig`'s defaults.
/// `rope_theta` is read at the top level (transformers 4) or inside `rope_parameters`
/// (transformers 5); `eos_token_id` may be one id or a list. Keys this struct does not model
/// (such as `rope_scaling`) are ignored.
///
/// ```swift
/// let config = try LlamaConfiguration.load(from: folder)   // folder/config.json
/// print(config.headDimension)                               // 64 for SmolLM2-135M
/// ```
public struct LlamaConfiguration: Codable, Equatable, Sendable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var hiddenLayerCount: Int
    public var attentionHeadCount: Int
    /// Heads of keys and values; fewer than `attentionHeadCount` means grouped-query attention.
    public var keyValueHeadCount: Int
    /// Channels per head; `hiddenSize / attentionHeadCount` unless `head_dim` says otherwise.
    public var headDimension: Int
    public var rmsNormEpsilon: Double
    /// The base θ of the rotary position embedding.
    public var ropeTheta: Double
    public var maximumPositionCount: Int
    /// Whether `lm_head` shares `model.embed_tokens.weight`.
    public var tieWordEmbeddings: Bool
    public var attentionBias: Bool
    public var mlpBias: Bool
    public var hiddenActivation: String
    public var bosTokenID: Int?
    public var eosTokenIDs: [Int]

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case hiddenLayerCount = "num_hidden_layers"
        case attentionHeadCount = "num_attention_heads"
        case keyValueHeadCount = "num_key_value_heads"
        case headDimension = "head_dim"
        case rmsNormEpsilon = "rms_norm_eps"
        case ropeTheta = "rope_theta"
        case ropeParameters = "rope_parameters"
        case maximumPositionCount = "max_position_embeddings"
        case tieWordEmbeddings = "tie_word_embeddings"
        case attentionBias = "attention_bias"
        case mlpBias = "mlp_bias"
        case hiddenActivation = "hidden_act"
        case bosTokenID = "bos_token_id"
        case eosTokenIDs = "eos_token_id"
        case modelType = "model_type"
    }

    private struct RopeParameters: Codable {
        var ropeTheta: Double?
        enum CodingKeys: String, CodingKey { case ropeTheta = "rope_theta" }
    }

    /// A configuration with transformers' defaults for everything but the sizes.
    ///
    /// ```swift
    /// let tiny = LlamaConfiguration(vocabularySize: 100, hiddenSize: 32, intermediateSize: 64,
    ///                               hiddenLayerCount: 2, attentionHeadCount: 4, keyValueHeadCount: 2)
    /// ```
    public init(vocabularySize: Int, hiddenSize: Int, intermediateSize: Int, hiddenLayerCount: Int,
                attentionHeadCount: Int, keyValueHeadCount: Int? = nil, headDimension: Int? = nil,
                rmsNormEpsilon: Double = 1e-6, ropeTheta: Double = 10000, maximumPositionCount: Int = 2048,
                tieWordEmbeddings: Bool = false, attentionBias: Bool = false, mlpBias: Bool = false,
                hiddenActivation: String = "silu", bosTokenID: Int? = 1, eosTokenIDs: [Int] = [2]) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.hiddenLayerCount = hiddenLayerCount
        self.attentionHeadCount = attentionHeadCount
        self.keyValueHeadCount = keyValueHeadCount ?? attentionHeadCount
        self.headDimension = headDimension ?? hiddenSize / attentionHeadCount
        self.rmsNormEpsilon = rmsNormEpsilon
        self.ropeTheta = ropeTheta
        self.maximumPositionCount = maximumPositionCount
        self.tieWordEmbeddings = tieWordEmbeddings
        self.attentionBias = attentionBias
        self.mlpBias = mlpBias
        self.hiddenActivation = hiddenActivation
        self.bosTokenID = bosTokenID
        self.eosTokenIDs = eosTokenIDs
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func optional<Value: Decodable>(_ key: CodingKeys) throws -> Value? {
            try container.decodeIfPresent(Value.self, forKey: key)
        }
        let eos: [Int]
        if let single = try? container.decodeIfPresent(Int.self, forKey: .eosTokenIDs) {
            eos = [single]
        } else {
            eos = try optional(.eosTokenIDs) ?? []
        }
        let nestedTheta = try (optional(.ropeParameters) as RopeParameters?)?.ropeTheta
        self.init(
            vocabularySize: try container.decode(Int.self, forKey: .vocabularySize),
            hiddenSize: try container.decode(Int.self, forKey: .hiddenSize),
            intermediateSize: try container.decode(Int.self, forKey: .intermediateSize),
            hiddenLayerCount: try container.decode(Int.self, forKey: .hiddenLayerCount),
            attentionHeadCount: try container.decode(Int.self, forKey: .attentionHeadCount),
            keyValueHeadCount: try optional(.keyValueHeadCount),
            headDimension: try optional(.headDimension),
            rmsNormEpsilon: try optional(.rmsNormEpsilon) ?? 1e-6,
            ropeTheta: try optional(.ropeTheta) ?? nestedTheta ?? 10000,
            maximumPositionCount: try optional(.maximumPositionCount) ?? 2048,
            tieWordEmbeddings: try optional(.tieWordEmbeddings) ?? false,
            attentionBias: try optional(.attentionBias) ?? false,
            mlpBias: try optional(.mlpBias) ?? false,
            hiddenActivation: try optional(.hiddenActivation) ?? "silu",
            bosTokenID: try optional(.bosTokenID),
            eosTokenIDs: eos)
    }

    /// Writes transformers' layout (`rope_theta` at the top level, which both transformers 4
    /// and 5 read; one `eos_token_id` as a number).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("llama", forKey: .modelType)
        try container.encode(vocabularySize, forKey: .vocabularySize)
        try container.encode(hiddenSize, forKey: .hiddenSize)
        try container.encode(intermediateSize, forKey: .intermediateSize)
        try container.encode(hiddenLayerCount, forKey: .hiddenLayerCount)
        try container.encode(attentionHeadCount, forKey: .attentionHeadCount)
        try container.encode(keyValueHeadCount, forKey: .keyValueHeadCount)
        try container.encode(headDimension, forKey: .headDimension)
        try container.encode(rmsNormEpsilon, forKey: .rmsNormEpsilon)
        try container.encode(ropeTheta, forKey: .ropeTheta)
        try container.encode(maximumPositionCount, forKey: .maximumPositionCount)
        try container.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try container.encode(attentionBias, forKey: .attentionBias)
        try container.encode(mlpBias, forKey: .mlpBias)
        try container.encode(hiddenActivation, forKey: .hiddenActivation)
        try container.encodeIfPresent(bosTokenID, forKey: .bosTokenID)
        if eosTokenIDs.count == 1 {
            try container.encode(eosTokenIDs[0], forKey: .eosTokenIDs)
        } else {
            try container.encode(eosTokenIDs, forKey: .eosTokenIDs)
        }
    }

    /// Reads `config.json` in `folder`.
    public static func load(from folder: URL) throws -> LlamaConfiguration {
        try decodeJSONFile(LlamaConfiguration.self, from: folder.appendingPathComponent("config.json"))
    }
}

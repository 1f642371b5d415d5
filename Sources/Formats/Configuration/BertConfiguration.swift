import Foundation

/// A BERT model's `config.json`, with Hugging Face's key names on disk and full words in Swift.
///
/// The structural sizes (`vocab_size`, `hidden_size`, `num_hidden_layers`,
/// `num_attention_heads`, `intermediate_size`, `max_position_embeddings`, `type_vocab_size`)
/// are required. Everything else falls back to `transformers.BertConfig`'s default when absent
/// or null, because older configs (Google's original BERT releases) omit `layer_norm_eps`,
/// `pad_token_id` and `model_type`. Keys this struct does not model are ignored.
///
/// ```swift
/// let config = try BertConfiguration.load(from: modelFolder) // reads modelFolder/config.json
/// print(config.hiddenSize / config.attentionHeadCount)      // 32 for all-MiniLM-L6-v2
/// ```
public struct BertConfiguration: Codable, Equatable, Sendable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var hiddenLayerCount: Int
    public var attentionHeadCount: Int
    public var intermediateSize: Int
    /// The most tokens a sequence can hold (rows of the position embedding table).
    public var maximumPositionCount: Int
    /// Rows of the token type (segment) embedding table.
    public var typeVocabularySize: Int
    /// The feed-forward activation as transformers names it: "gelu", "relu", "gelu_new" ...
    public var hiddenActivation: String
    public var layerNormEpsilon: Double
    public var hiddenDropoutProbability: Double
    public var attentionDropoutProbability: Double
    /// Dropout before a classification head; nil means `hiddenDropoutProbability`.
    public var classifierDropoutProbability: Double?
    public var initializerRange: Double
    public var padTokenID: Int
    /// "absolute" (the default), "relative_key" or "relative_key_query".
    public var positionEmbeddingType: String
    public var modelType: String
    /// Class names such as "BertModel" or "BertForSequenceClassification".
    public var architectures: [String]?
    /// The number of labels of a classification head: `num_labels`, or the size of `id2label`.
    public var labelCount: Int?
    public var idToLabel: [Int: String]?
    public var labelToID: [String: Int]?
    /// "single_label_classification", "multi_label_classification" or "regression".
    public var problemType: String?

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size"
        case hiddenSize = "hidden_size"
        case hiddenLayerCount = "num_hidden_layers"
        case attentionHeadCount = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case maximumPositionCount = "max_position_embeddings"
        case typeVocabularySize = "type_vocab_size"
        case hiddenActivation = "hidden_act"
        case layerNormEpsilon = "layer_norm_eps"
        case hiddenDropoutProbability = "hidden_dropout_prob"
        case attentionDropoutProbability = "attention_probs_dropout_prob"
        case classifierDropoutProbability = "classifier_dropout"
        case initializerRange = "initializer_range"
        case padTokenID = "pad_token_id"
        case positionEmbeddingType = "position_embedding_type"
        case modelType = "model_type"
        case architectures
        case labelCount = "num_labels"
        case idToLabel = "id2label"
        case labelToID = "label2id"
        case problemType = "problem_type"
    }

    /// A configuration with transformers' defaults for everything but the sizes.
    ///
    /// ```swift
    /// let tiny = BertConfiguration(vocabularySize: 100, hiddenSize: 32, hiddenLayerCount: 2,
    ///                              attentionHeadCount: 4, intermediateSize: 64)
    /// ```
    public init(vocabularySize: Int, hiddenSize: Int, hiddenLayerCount: Int, attentionHeadCount: Int,
                intermediateSize: Int, maximumPositionCount: Int = 512, typeVocabularySize: Int = 2,
                hiddenActivation: String = "gelu", layerNormEpsilon: Double = 1e-12,
                hiddenDropoutProbability: Double = 0.1, attentionDropoutProbability: Double = 0.1,
                classifierDropoutProbability: Double? = nil, initializerRange: Double = 0.02,
                padTokenID: Int = 0, positionEmbeddingType: String = "absolute", modelType: String = "bert",
                architectures: [String]? = nil, labelCount: Int? = nil, idToLabel: [Int: String]? = nil,
                labelToID: [String: Int]? = nil, problemType: String? = nil) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.hiddenLayerCount = hiddenLayerCount
        self.attentionHeadCount = attentionHeadCount
        self.intermediateSize = intermediateSize
        self.maximumPositionCount = maximumPositionCount
        self.typeVocabularySize = typeVocabularySize
        self.hiddenActivation = hiddenActivation
        self.layerNormEpsilon = layerNormEpsilon
        self.hiddenDropoutProbability = hiddenDropoutProbability
        self.attentionDropoutProbability = attentionDropoutProbability
        self.classifierDropoutProbability = classifierDropoutProbability
        self.initializerRange = initializerRange
        self.padTokenID = padTokenID
        self.positionEmbeddingType = positionEmbeddingType
        self.modelType = modelType
        self.architectures = architectures
        self.labelCount = labelCount
        self.idToLabel = idToLabel
        self.labelToID = labelToID
        self.problemType = problemType
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func optional<Value: Decodable>(_ key: CodingKeys) throws -> Value? {
            try container.decodeIfPresent(Value.self, forKey: key)
        }
        let idToLabel: [Int: String]? = try optional(.idToLabel)
        self.init(
            vocabularySize: try container.decode(Int.self, forKey: .vocabularySize),
            hiddenSize: try container.decode(Int.self, forKey: .hiddenSize),
            hiddenLayerCount: try container.decode(Int.self, forKey: .hiddenLayerCount),
            attentionHeadCount: try container.decode(Int.self, forKey: .attentionHeadCount),
            intermediateSize: try container.decode(Int.self, forKey: .intermediateSize),
            maximumPositionCount: try container.decode(Int.self, forKey: .maximumPositionCount),
            typeVocabularySize: try container.decode(Int.self, forKey: .typeVocabularySize),
            hiddenActivation: try optional(.hiddenActivation) ?? "gelu",
            layerNormEpsilon: try optional(.layerNormEpsilon) ?? 1e-12,
            hiddenDropoutProbability: try optional(.hiddenDropoutProbability) ?? 0.1,
            attentionDropoutProbability: try optional(.attentionDropoutProbability) ?? 0.1,
            classifierDropoutProbability: try optional(.classifierDropoutProbability),
            initializerRange: try optional(.initializerRange) ?? 0.02,
            padTokenID: try optional(.padTokenID) ?? 0,
            positionEmbeddingType: try optional(.positionEmbeddingType) ?? "absolute",
            modelType: try optional(.modelType) ?? "bert",
            architectures: try optional(.architectures),
            labelCount: try optional(.labelCount) ?? idToLabel?.count,
            idToLabel: idToLabel,
            labelToID: try optional(.labelToID),
            problemType: try optional(.problemType))
    }

    /// Writes transformers' layout: labels as `id2label`/`label2id` when known, otherwise
    /// `num_labels`; absent optional keys are left out.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(vocabularySize, forKey: .vocabularySize)
        try container.encode(hiddenSize, forKey: .hiddenSize)
        try container.encode(hiddenLayerCount, forKey: .hiddenLayerCount)
        try container.encode(attentionHeadCount, forKey: .attentionHeadCount)
        try container.encode(intermediateSize, forKey: .intermediateSize)
        try container.encode(maximumPositionCount, forKey: .maximumPositionCount)
        try container.encode(typeVocabularySize, forKey: .typeVocabularySize)
        try container.encode(hiddenActivation, forKey: .hiddenActivation)
        try container.encode(layerNormEpsilon, forKey: .layerNormEpsilon)
        try container.encode(hiddenDropoutProbability, forKey: .hiddenDropoutProbability)
        try container.encode(attentionDropoutProbability, forKey: .attentionDropoutProbability)
        try container.encodeIfPresent(classifierDropoutProbability, forKey: .classifierDropoutProbability)
        try container.encode(initializerRange, forKey: .initializerRange)
        try container.encode(padTokenID, forKey: .padTokenID)
        try container.encode(positionEmbeddingType, forKey: .positionEmbeddingType)
        try container.encode(modelType, forKey: .modelType)
        try container.encodeIfPresent(architectures, forKey: .architectures)
        if idToLabel == nil { try container.encodeIfPresent(labelCount, forKey: .labelCount) }
        try container.encodeIfPresent(idToLabel, forKey: .idToLabel)
        try container.encodeIfPresent(labelToID, forKey: .labelToID)
        try container.encodeIfPresent(problemType, forKey: .problemType)
    }
}

/// A BERT configuration whose values cannot describe a model, naming the file and keys.
public enum BertConfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Attention splits `hidden_size` evenly across `num_attention_heads`.
    case headCountDoesNotDivideHiddenSize(file: String, hiddenSize: Int, attentionHeadCount: Int)
    case invalidValue(file: String, key: String, value: String, expectation: String)

    public var description: String {
        switch self {
        case let .headCountDoesNotDivideHiddenSize(file, hiddenSize, attentionHeadCount):
            "\(file): hidden_size (\(hiddenSize)) should be a multiple of num_attention_heads (\(attentionHeadCount))"
        case let .invalidValue(file, key, value, expectation):
            "\(file): key '\(key)' is \(value), should be \(expectation)"
        }
    }
}

extension BertConfiguration {
    /// Reads and validates `folder/config.json`, throwing `JSONFileError` (naming the file and
    /// key) for a missing or mistyped key and `BertConfigurationError` for impossible values.
    ///
    /// ```swift
    /// let config = try BertConfiguration.load(from: URL(fileURLWithPath: "all-MiniLM-L6-v2"))
    /// ```
    public static func load(from folder: URL) throws -> BertConfiguration {
        let url = folder.appendingPathComponent("config.json")
        let configuration = try decodeJSONFile(BertConfiguration.self, from: url)
        try configuration.validate(file: url.path)
        return configuration
    }

    /// Checks that the values describe a buildable model; `file` names the source in errors.
    public func validate(file: String = "config.json") throws {
        let sizes: [(CodingKeys, Int)] = [
            (.vocabularySize, vocabularySize), (.hiddenSize, hiddenSize), (.hiddenLayerCount, hiddenLayerCount),
            (.attentionHeadCount, attentionHeadCount), (.intermediateSize, intermediateSize),
            (.maximumPositionCount, maximumPositionCount), (.typeVocabularySize, typeVocabularySize),
        ]
        for (key, value) in sizes where value <= 0 {
            throw BertConfigurationError.invalidValue(file: file, key: key.rawValue, value: "\(value)", expectation: "positive")
        }
        guard hiddenSize % attentionHeadCount == 0 else {
            throw BertConfigurationError.headCountDoesNotDivideHiddenSize(
                file: file, hiddenSize: hiddenSize, attentionHeadCount: attentionHeadCount)
        }
        guard layerNormEpsilon > 0 else {
            throw BertConfigurationError.invalidValue(
                file: file, key: CodingKeys.layerNormEpsilon.rawValue, value: "\(layerNormEpsilon)", expectation: "positive")
        }
        let probabilities: [(CodingKeys, Double?)] = [
            (.hiddenDropoutProbability, hiddenDropoutProbability),
            (.attentionDropoutProbability, attentionDropoutProbability),
            (.classifierDropoutProbability, classifierDropoutProbability),
        ]
        for case let (key, value?) in probabilities where !(0..<1).contains(value) {
            throw BertConfigurationError.invalidValue(file: file, key: key.rawValue, value: "\(value)", expectation: "in [0, 1)")
        }
        if let labelCount, labelCount <= 0 {
            throw BertConfigurationError.invalidValue(
                file: file, key: CodingKeys.labelCount.rawValue, value: "\(labelCount)", expectation: "positive")
        }
        guard (0..<vocabularySize).contains(padTokenID) else {
            throw BertConfigurationError.invalidValue(
                file: file, key: CodingKeys.padTokenID.rawValue, value: "\(padTokenID)",
                expectation: "a token id below vocab_size (\(vocabularySize))")
        }
    }
}

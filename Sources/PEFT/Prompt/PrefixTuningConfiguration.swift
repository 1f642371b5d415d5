import NN
import TensorCore

/// PEFT's `PrefixTuningConfig`: n learned keys and values prepended in every attention layer
/// (`prompt_encoder.<adapter>.embedding.weight` [n, L · 2 · C], saved as `prompt_embeddings`).
/// The model extends the attention mask with ones and numbers the real tokens' positions after
/// the prefix, as transformers does after a cache of n tokens. Under grouped-query attention
/// (LLaMA with fewer key/value heads) the prefix holds keys and values for the key/value heads
/// (the host's `prefixGeometry`).
///
/// With `prefixProjection` a new adapter trains a table [n, C] through an MLP (`transform.0`,
/// tanh, `transform.2`); the file holds the projected table, which loading uses directly (as
/// PEFT's inference mode does), so a loaded adapter trains the projected table.
///
/// ```swift
/// var configuration = PrefixTuningConfiguration(virtualTokenCount: 10)
/// configuration.taskType = "SEQ_CLS"
/// let peft = try PeftModel(model: classifier, configuration: configuration)
/// ```
public struct PrefixTuningConfiguration: PromptLearningConfiguration, Equatable {
    public var peftType: PeftType { .prefixTuning }

    var fields: PromptLearningFields
    public var prefixProjection: Bool                 // prefix_projection
    public var encoderHiddenSize: Int?                // encoder_hidden_size (defaults to token_dim)
    /// `init_weights = "zero"`: the table (or the projection's last layer) starts at zero.
    public var initializeToZero: Bool                 // init_weights
    var fileFields = FileFields()

    public init(virtualTokenCount: Int = 20, prefixProjection: Bool = false, encoderHiddenSize: Int? = nil) {
        fields = PromptLearningFields()
        fields.virtualTokenCount = virtualTokenCount
        self.prefixProjection = prefixProjection
        self.encoderHiddenSize = encoderHiddenSize
        self.initializeToZero = false
    }

    public var virtualTokenCount: Int { get { fields.virtualTokenCount } set { fields.virtualTokenCount = newValue } }
    public var tokenDimensions: Int? { get { fields.tokenDimensions } set { fields.tokenDimensions = newValue } }
    public var layerCount: Int? { get { fields.layerCount } set { fields.layerCount = newValue } }
    public var attentionHeadCount: Int? { get { fields.attentionHeadCount } set { fields.attentionHeadCount = newValue } }
    public var modulesToSave: [String]? { get { fields.modulesToSave } set { fields.modulesToSave = newValue } }
    public var taskType: String? { get { fields.taskType } set { fields.taskType = newValue } }
    public var baseModelNameOrPath: String? { get { fields.baseModelNameOrPath } set { fields.baseModelNameOrPath = newValue } }
    public var inferenceMode: Bool { get { fields.inferenceMode } set { fields.inferenceMode = newValue } }

    public func forLoading() -> PrefixTuningConfiguration { self }

    /// The key/value geometry: under grouped-query attention `token_dim` = head size · key/value
    /// heads and `num_attention_heads` = key/value heads, as PEFT resolves it.
    func geometry(of host: any VirtualTokenHost) -> PromptGeometry { host.prefixGeometry }

    func makeTable(host: any VirtualTokenHost, geometry: PromptGeometry, generator: inout RandomGenerator) throws -> PromptTable {
        guard geometry.tokenDimensions % geometry.attentionHeadCount == 0 else {
            throw AdapterError.invalidField(file: "configuration", key: "num_attention_heads",
                                            expected: "a divisor of token_dim \(geometry.tokenDimensions)")
        }
        let (n, c, width) = (virtualTokenCount, geometry.tokenDimensions, geometry.layerCount * 2 * geometry.tokenDimensions)
        guard prefixProjection else {
            return PromptTable(kind: .prefix(geometry), table: initializeToZero ? .zeros([n, width]) : .randomNormal([n, width], generator: &generator))
        }
        let hidden = encoderHiddenSize ?? c
        let last = Linear(inputDimensions: hidden, outputDimensions: width, generator: &generator)
        let transform = Sequential([Linear(inputDimensions: c, outputDimensions: hidden, generator: &generator), Activation(.tanh), last])
        if initializeToZero {
            last.replaceTensor(at: "weight", with: .zeros([width, hidden]))
            last.replaceTensor(at: "bias", with: .zeros([width]))
        }
        return PromptTable(kind: .prefix(geometry), table: .randomNormal([n, c], generator: &generator), transform: transform)
    }
}

/// Reading and writing `PrefixTuningConfiguration` as PEFT's `adapter_config.json` fields.
extension PrefixTuningConfiguration {
    public init(json: [String: JSONValue], file: String) throws {
        let reader = FieldReader(json: json, file: file)
        _ = try reader.requirePeftType([.prefixTuning])
        self.init()
        fields = try PromptLearningFields(reader: reader)
        prefixProjection = try reader.bool("prefix_projection") ?? false
        encoderHiddenSize = try reader.positiveInteger("encoder_hidden_size")
        switch try reader.string("init_weights") {
        case nil: initializeToZero = false
        case "zero": initializeToZero = true
        default: throw AdapterError.invalidField(file: file, key: "init_weights", expected: "null or \"zero\"")
        }
        fileFields = FileFields(fields: json, decoded: typedFields)
    }

    public var ignoredFields: [String] {
        fileFields.ignored(used: PromptLearningFields.used.union(["prefix_projection", "encoder_hidden_size", "init_weights"]))
    }

    public var json: [String: JSONValue] { fileFields.merged(with: typedFields) }

    private var typedFields: [String: JSONValue] {
        var result = fields.json
        result["peft_type"] = .string(PeftType.prefixTuning.rawValue)
        result["prefix_projection"] = .bool(prefixProjection)
        result["encoder_hidden_size"] = .integer(encoderHiddenSize ?? fields.tokenDimensions ?? 0)
        if encoderHiddenSize == nil && fields.tokenDimensions == nil { result["encoder_hidden_size"] = .null }
        result["init_weights"] = initializeToZero ? .string("zero") : .null
        return result
    }
}

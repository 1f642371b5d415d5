import NN
import TensorCore

/// How prompt tuning's table starts (`prompt_tuning_init`).
public enum PromptTuningInitialization: Equatable, Sendable {
    /// `"RANDOM"`: standard normal, as `nn.Embedding`.
    case random
    /// `"SAMPLE_VOCAB"`: rows of the word embeddings at random token ids.
    case sampleVocabulary
    /// `"TEXT"`: the word embeddings of `prompt_tuning_init_text`'s token ids, repeated or cut to n.
    /// PEFT tokenizes the text itself; here the caller passes the ids (with the special tokens
    /// the tokenizer adds, as PEFT keeps them).
    case text(tokenIDs: [Int])
}

/// PEFT's `PromptTuningConfig`: n learned embeddings prepended to the input's word embeddings
/// (`prompt_encoder.<adapter>.embedding.weight` [n, C], saved as `prompt_embeddings`). The model
/// extends the attention mask with ones, gives the virtual tokens token type 0, and numbers
/// positions over the whole sequence, as PEFT's `inputs_embeds` path does.
///
/// ```swift
/// var configuration = PromptTuningConfiguration(virtualTokenCount: 8)
/// configuration.taskType = "SEQ_CLS"
/// let peft = try PeftModel(model: classifier, configuration: configuration)
/// ```
public struct PromptTuningConfiguration: PromptLearningConfiguration, Equatable {
    public var peftType: PeftType { .promptTuning }

    var fields: PromptLearningFields
    public var initialization: PromptTuningInitialization      // prompt_tuning_init (+ _text)
    /// `prompt_tuning_init_text` and `tokenizer_name_or_path` as read (kept for Python).
    public var initializationText: String?
    public var tokenizerNameOrPath: String?
    var fileFields = FileFields()

    public init(virtualTokenCount: Int = 20, initialization: PromptTuningInitialization = .random) {
        fields = PromptLearningFields()
        fields.virtualTokenCount = virtualTokenCount
        self.initialization = initialization
    }

    public var virtualTokenCount: Int { get { fields.virtualTokenCount } set { fields.virtualTokenCount = newValue } }
    public var tokenDimensions: Int? { get { fields.tokenDimensions } set { fields.tokenDimensions = newValue } }
    public var layerCount: Int? { get { fields.layerCount } set { fields.layerCount = newValue } }
    public var attentionHeadCount: Int? { get { fields.attentionHeadCount } set { fields.attentionHeadCount = newValue } }
    public var modulesToSave: [String]? { get { fields.modulesToSave } set { fields.modulesToSave = newValue } }
    public var taskType: String? { get { fields.taskType } set { fields.taskType = newValue } }
    public var baseModelNameOrPath: String? { get { fields.baseModelNameOrPath } set { fields.baseModelNameOrPath = newValue } }
    public var inferenceMode: Bool { get { fields.inferenceMode } set { fields.inferenceMode = newValue } }

    public func forLoading() -> PromptTuningConfiguration {
        var copy = self
        copy.initialization = .random
        return copy
    }

    func geometry(of host: any VirtualTokenHost) -> PromptGeometry { host.promptGeometry }

    func makeTable(host: any VirtualTokenHost, geometry: PromptGeometry, generator: inout RandomGenerator) throws -> PromptTable {
        let (n, c) = (virtualTokenCount, geometry.tokenDimensions)
        let table: Tensor
        switch initialization {
        case .random:
            table = .randomNormal([n, c], generator: &generator)
        case .sampleVocabulary, .text:
            guard let words = host.wordEmbeddingTable else {
                throw AdapterError.unsupportedModule(path: "", type: "\(type(of: host)) without a word embedding table, for prompt_tuning_init")
            }
            var ids: [Int]
            if case let .text(tokenIDs) = initialization {
                guard !tokenIDs.isEmpty else { throw AdapterError.invalidField(file: "configuration", key: "prompt_tuning_init_text", expected: "token ids") }
                ids = Array(repeating: tokenIDs, count: (n + tokenIDs.count - 1) / tokenIDs.count).flatMap { $0 }
            } else {
                ids = (0..<n).map { _ in Int(generator.next() % UInt64(words.shape[0])) }
            }
            ids = Array(ids.prefix(n))
            table = Tensor.withoutGradient { embedding(words, indices: ids, shape: [n]).contiguous() }.detached()
        }
        return PromptTable(kind: .prompt, table: table)
    }
}

/// Reading and writing `PromptTuningConfiguration` as PEFT's `adapter_config.json` fields.
extension PromptTuningConfiguration {
    public init(json: [String: JSONValue], file: String) throws {
        let reader = FieldReader(json: json, file: file)
        _ = try reader.requirePeftType([.promptTuning])
        self.init()
        fields = try PromptLearningFields(reader: reader)
        initializationText = try reader.string("prompt_tuning_init_text")
        tokenizerNameOrPath = try reader.string("tokenizer_name_or_path")
        switch try reader.string("prompt_tuning_init") ?? "RANDOM" {
        case "RANDOM": initialization = .random
        case "SAMPLE_VOCAB": initialization = .sampleVocabulary
        case "TEXT": initialization = .text(tokenIDs: [])   // the table is loaded next; ids matter only for a new adapter
        default: throw AdapterError.invalidField(file: file, key: "prompt_tuning_init", expected: "\"RANDOM\", \"SAMPLE_VOCAB\" or \"TEXT\"")
        }
        fileFields = FileFields(fields: json, decoded: typedFields)
    }

    public var ignoredFields: [String] {
        fileFields.ignored(used: PromptLearningFields.used.union(["prompt_tuning_init", "prompt_tuning_init_text", "tokenizer_name_or_path", "tokenizer_kwargs"]))
    }

    public var json: [String: JSONValue] { fileFields.merged(with: typedFields) }

    private var typedFields: [String: JSONValue] {
        var result = fields.json
        result["peft_type"] = .string(PeftType.promptTuning.rawValue)
        switch initialization {
        case .random: result["prompt_tuning_init"] = .string("RANDOM")
        case .sampleVocabulary: result["prompt_tuning_init"] = .string("SAMPLE_VOCAB")
        case .text: result["prompt_tuning_init"] = .string("TEXT")
        }
        result["prompt_tuning_init_text"] = initializationText.json
        result["tokenizer_name_or_path"] = tokenizerNameOrPath.json
        return result
    }
}

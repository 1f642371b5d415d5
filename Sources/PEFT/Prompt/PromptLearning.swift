import NN
import TensorCore

/// What prompt and prefix tuning share: PEFT's `PromptLearningConfig` fields and attaching a
/// `PromptEncoder` to the model's `VirtualTokenHost` (for a classifier, its encoder `bert`).
protocol PromptLearningConfiguration: AdapterConfiguration {
    var virtualTokenCount: Int { get }                 // num_virtual_tokens
    var tokenDimensions: Int? { get set }              // token_dim
    var layerCount: Int? { get set }                   // num_layers
    var attentionHeadCount: Int? { get set }           // num_attention_heads
    var modulesToSave: [String]? { get }
    /// The host's geometry this method sizes its table by (`promptGeometry` or `prefixGeometry`).
    func geometry(of host: any VirtualTokenHost) -> PromptGeometry
    /// The new adapter's table for `host`, whose geometry the configuration matches.
    func makeTable(host: any VirtualTokenHost, geometry: PromptGeometry, generator: inout RandomGenerator) throws -> PromptTable
}

extension PromptLearningConfiguration {
    public var targets: TargetSelector { TargetSelector(targetModules: nil, modulesToSave: modulesToSave) }
    public var savedKeyPrefix: String { "base_model." }
    public var isMergeable: Bool { false }
    public func resolvingTargets(_ paths: [String]) -> Self { self }

    public func inject(into model: Module, adapterName: String, generator: inout RandomGenerator) throws -> [String] {
        let (path, host) = try findHost(in: model)
        let geometry = try checkedGeometry(self.geometry(of: host))
        let encoder = (host.child(PromptEncoder.componentName) as? PromptEncoder) ?? {
            let made = PromptEncoder()
            host.register(PromptEncoder.componentName, made)
            return made
        }()
        try encoder.addAdapter(adapterName, table: try makeTable(host: host, geometry: geometry, generator: &generator))
        return [path.isEmpty ? PromptEncoder.componentName : path + "." + PromptEncoder.componentName]
    }

    /// PEFT fills token_dim, num_layers and num_attention_heads from the model's config.
    public func resolved(for model: Module) throws -> Self {
        let geometry = self.geometry(of: try findHost(in: model).host)
        var copy = self
        copy.tokenDimensions = tokenDimensions ?? geometry.tokenDimensions
        copy.layerCount = layerCount ?? geometry.layerCount
        copy.attentionHeadCount = attentionHeadCount ?? geometry.attentionHeadCount
        return copy
    }

    func findHost(in model: Module) throws -> (path: String, host: any VirtualTokenHost) {
        for (path, module) in model.namedModules() {
            if let host = module as? any VirtualTokenHost { return (path, host) }
        }
        throw AdapterError.unsupportedModule(path: "", type: "\(type(of: model)), which reads no virtual tokens, for \(peftType.rawValue)")
    }

    /// The model's geometry, after checking the configuration's values against it.
    func checkedGeometry(_ geometry: PromptGeometry) throws -> PromptGeometry {
        let pairs = [("token_dim", tokenDimensions, geometry.tokenDimensions), ("num_layers", layerCount, geometry.layerCount),
                     ("num_attention_heads", attentionHeadCount, geometry.attentionHeadCount)]
        for (key, value, model) in pairs where value != nil && value != model {
            throw AdapterError.invalidField(file: "configuration", key: key, expected: "\(model) for this model, not \(value!)")
        }
        return geometry
    }
}

/// Fields both prompt-learning configurations read and write.
struct PromptLearningFields: Equatable, Sendable {
    var virtualTokenCount: Int = 20
    var tokenDimensions: Int?
    var layerCount: Int?
    var attentionHeadCount: Int?
    var modulesToSave: [String]?
    var taskType: String?
    var baseModelNameOrPath: String?
    var revision: String?
    var inferenceMode = false

    static let used: Set<String> = [
        "num_virtual_tokens", "token_dim", "num_layers", "num_attention_heads", "num_transformer_submodules",
        "modules_to_save", "task_type", "base_model_name_or_path", "revision", "inference_mode", "peft_type",
    ]

    init() {}

    init(reader: FieldReader) throws {
        virtualTokenCount = try reader.positiveInteger("num_virtual_tokens") ?? 20
        tokenDimensions = try reader.positiveInteger("token_dim")
        layerCount = try reader.positiveInteger("num_layers")
        attentionHeadCount = try reader.positiveInteger("num_attention_heads")
        if let submodules = try reader.positiveInteger("num_transformer_submodules"), submodules != 1 {
            throw AdapterError.unsupportedOption(key: "num_transformer_submodules", value: "\(submodules) (encoder-decoder models)")
        }
        modulesToSave = try reader.strings("modules_to_save")
        taskType = try reader.string("task_type")
        baseModelNameOrPath = try reader.string("base_model_name_or_path")
        revision = try reader.string("revision")
        inferenceMode = try reader.bool("inference_mode") ?? false
    }

    var json: [String: JSONValue] {
        func integer(_ value: Int?) -> JSONValue { value.map(JSONValue.integer) ?? .null }
        return [
            "num_virtual_tokens": .integer(virtualTokenCount), "token_dim": integer(tokenDimensions),
            "num_layers": integer(layerCount), "num_attention_heads": integer(attentionHeadCount),
            "num_transformer_submodules": .integer(1), "modules_to_save": modulesToSave.json,
            "task_type": taskType.json, "base_model_name_or_path": baseModelNameOrPath.json,
            "revision": revision.json, "inference_mode": .bool(inferenceMode),
        ]
    }
}

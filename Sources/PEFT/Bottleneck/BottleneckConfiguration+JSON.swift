import NN

/// Reading and writing `BottleneckConfiguration` as our `adapter_config.json` (AdapterHub's
/// field names, `peft_type` "BOTTLENECK").
extension BottleneckConfiguration {
    static let usedFields: Set<String> = [
        "peft_type", "architecture", "reduction_factor", "non_linearity", "mh_adapter", "output_adapter",
        "original_ln_before", "original_ln_after", "residual_before_ln", "init_weights", "target_modules", "exclude_modules",
        "layers_to_transform", "modules_to_save", "task_type", "base_model_name_or_path", "inference_mode",
    ]
    /// AdapterHub options that change the computation and are not implemented.
    static let refusedFields: Set<String> = ["ln_before", "ln_after", "adapter_residual_before_ln", "use_gating", "phm_layer", "is_parallel"]

    public init(json: [String: JSONValue], file: String) throws {
        let reader = FieldReader(json: json, file: file)
        _ = try reader.requirePeftType([.bottleneck])
        let architecture = try reader.value("architecture", "\"houlsby\" or \"pfeiffer\"") { $0.stringValue.flatMap(BottleneckArchitecture.init(rawValue:)) } ?? .houlsby
        self.init(architecture: architecture)
        reductionFactor = try reader.value("reduction_factor", "a positive number") { $0.doubleValue.flatMap { $0 > 0 ? $0 : nil } } ?? reductionFactor
        nonLinearity = try reader.value("non_linearity", "an activation name (\"swish\", \"relu\", \"gelu\" ...)") {
            $0.stringValue.flatMap { Activation.Kind(huggingFaceName: $0.lowercased()) }
        } ?? nonLinearity
        afterAttention = try reader.bool("mh_adapter") ?? afterAttention
        afterFeedForward = try reader.bool("output_adapter") ?? afterFeedForward
        originalLayerNormBefore = try reader.bool("original_ln_before") ?? originalLayerNormBefore
        residualBeforeLayerNorm = try reader.bool("residual_before_ln") ?? residualBeforeLayerNorm
        if try reader.bool("original_ln_after") == false { throw AdapterError.unsupportedOption(key: "original_ln_after", value: "false") }
        if let initialization = try reader.string("init_weights"), initialization != "mam_adapter" {
            throw AdapterError.unsupportedOption(key: "init_weights", value: initialization)
        }
        targetModules = try reader.selection("target_modules")
        excludeModules = try reader.selection("exclude_modules")
        layersToTransform = try reader.integers("layers_to_transform")
        modulesToSave = try reader.strings("modules_to_save")
        taskType = try reader.string("task_type")
        baseModelNameOrPath = try reader.string("base_model_name_or_path")
        inferenceMode = try reader.bool("inference_mode") ?? false
        try reader.refuse(Self.refusedFields)
        fileFields = FileFields(fields: json, decoded: typedFields)
    }

    public var ignoredFields: [String] { fileFields.ignored(used: Self.usedFields) }
    public var json: [String: JSONValue] { fileFields.merged(with: typedFields) }

    private var typedFields: [String: JSONValue] {
        [
            "peft_type": .string(PeftType.bottleneck.rawValue),
            "architecture": .string(architecture.rawValue),
            "reduction_factor": jsonNumber(reductionFactor),
            "non_linearity": .string(nonLinearity == .silu ? "swish" : nonLinearity.rawValue),
            "mh_adapter": .bool(afterAttention),
            "output_adapter": .bool(afterFeedForward),
            "original_ln_before": .bool(originalLayerNormBefore),
            "original_ln_after": .bool(true),
            "residual_before_ln": .bool(residualBeforeLayerNorm),
            "init_weights": .string("mam_adapter"),
            "target_modules": targetModules?.json ?? .null,
            "exclude_modules": excludeModules?.json ?? .null,
            "layers_to_transform": layersToTransform.map { .array($0.map(JSONValue.integer)) } ?? .null,
            "modules_to_save": modulesToSave.json,
            "task_type": taskType.json,
            "base_model_name_or_path": baseModelNameOrPath.json,
            "inference_mode": .bool(inferenceMode),
        ]
    }
}

/// Reading and writing `LoRAConfiguration` as PEFT's `adapter_config.json` fields.
extension LoRAConfiguration {
    /// Fields SwiftPEFT reads.
    static let usedFields: Set<String> = [
        "r", "lora_alpha", "target_modules", "exclude_modules", "lora_dropout", "bias", "modules_to_save",
        "fan_in_fan_out", "init_lora_weights", "use_rslora", "use_dora", "rank_pattern", "alpha_pattern",
        "layers_to_transform", "layers_pattern", "task_type", "base_model_name_or_path", "revision",
        "inference_mode", "peft_type",
    ]
    /// Unused fields whose usual values change nothing (bookkeeping, or PEFT's defaults).
    static let harmlessValues: [String: JSONValue] = [
        "qalora_group_size": .integer(16), "megatron_core": .string("megatron.core"),
    ]
    static let bookkeepingFields: Set<String> = ["auto_mapping", "peft_version"]
    /// Options that change the computation: set, they are refused rather than ignored.
    static let refusedFields: Set<String> = [
        "lora_bias", "use_qalora", "layer_replication", "target_parameters", "trainable_token_indices",
        "use_bdlora", "alora_invocation_tokens", "arrow_config", "velora_config", "monteclora_config", "kasa_config",
    ]

    /// Decodes PEFT's fields; `file` names the source in errors.
    public init(json: [String: JSONValue], file: String) throws {
        self.init()
        func field<T>(_ key: String, _ expected: String, _ read: (JSONValue) -> T?) throws -> T? {
            guard let value = json[key], !value.isNull else { return nil }
            guard let result = read(value) else { throw AdapterError.invalidField(file: file, key: key, expected: expected) }
            return result
        }
        if let peftType = json["peft_type"]?.stringValue, peftType != Self.peftType.rawValue {
            throw AdapterError.unsupportedMethod(file: file, peftType: peftType)
        }
        rank = try field("r", "a positive integer") { $0.intValue.flatMap { $0 > 0 ? $0 : nil } } ?? rank
        alpha = try field("lora_alpha", "a number", \.doubleValue) ?? alpha
        targetModules = try field("target_modules", "a string or a list of strings", ModuleSelection.init(json:))
        excludeModules = try field("exclude_modules", "a string or a list of strings", ModuleSelection.init(json:))
        dropout = try field("lora_dropout", "a number in [0, 1)") { $0.doubleValue.flatMap { (0..<1).contains($0) ? $0 : nil } } ?? 0
        bias = try field("bias", "\"none\", \"all\" or \"lora_only\"") { $0.stringValue.flatMap(LoRABias.init(rawValue:)) } ?? .none
        modulesToSave = try field("modules_to_save", "a list of strings") { value in
            value.arrayValue.map { $0.compactMap(\.stringValue) }
        }
        fanInFanOut = try field("fan_in_fan_out", "a boolean", \.boolValue) ?? false
        initialization = try field("init_lora_weights", "true, false, \"gaussian\" or \"pissa\"") { value in
            if let flag = value.boolValue { return flag ? .standard : .random }
            switch value.stringValue { case "gaussian": return .gaussian; case "pissa": return .pissa; default: return nil }
        } ?? .standard
        useRSLoRA = try field("use_rslora", "a boolean", \.boolValue) ?? false
        useDoRA = try field("use_dora", "a boolean", \.boolValue) ?? false
        rankPattern = try field("rank_pattern", "an object of integers") { value in
            value.objectValue.flatMap { object in object.mapValues(\.intValue) as? [String: Int] }
        } ?? [:]
        alphaPattern = try field("alpha_pattern", "an object of numbers") { value in
            value.objectValue.flatMap { object in object.mapValues(\.doubleValue) as? [String: Double] }
        } ?? [:]
        layersToTransform = try field("layers_to_transform", "an integer or a list of integers") { value in
            value.intValue.map { [$0] } ?? value.arrayValue.flatMap { $0.map(\.intValue) as? [Int] }
        }
        layersPattern = try field("layers_pattern", "a string or a list of strings") { value in
            value.stringValue.map { [$0] } ?? value.arrayValue.flatMap { $0.map(\.stringValue) as? [String] }
        }
        taskType = try field("task_type", "a string", \.stringValue)
        baseModelNameOrPath = try field("base_model_name_or_path", "a string", \.stringValue)
        revision = try field("revision", "a string", \.stringValue)
        inferenceMode = try field("inference_mode", "a boolean", \.boolValue) ?? false
        for key in Self.refusedFields.sorted() {
            if let value = json[key], !value.isEmptyDefault {
                throw AdapterError.unsupportedOption(key: key, value: "\(value)")
            }
        }
        fileFields = json
        fieldsAsDecoded = typedFields
    }

    public var ignoredFields: [String] {
        fileFields.compactMap { key, value in
            if Self.usedFields.contains(key) || Self.bookkeepingFields.contains(key) || value.isEmptyDefault { return nil }
            return Self.harmlessValues[key] == value ? nil : key
        }.sorted()
    }

    /// The fields as written: values unchanged since decoding keep the file's own spelling
    /// (`"layers_pattern": "layer"` stays a string, `0.0` stays `0.0`).
    public var json: [String: JSONValue] {
        var result = fileFields
        for (key, value) in typedFields where fieldsAsDecoded[key] != value || fileFields[key] == nil {
            result[key] = value
        }
        return result
    }

    private var typedFields: [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        result["peft_type"] = .string(Self.peftType.rawValue)
        result["r"] = .integer(rank)
        result["lora_alpha"] = number(alpha)
        result["target_modules"] = targetModules?.json ?? .null
        result["exclude_modules"] = excludeModules?.json ?? .null
        result["lora_dropout"] = number(dropout)
        result["bias"] = .string(bias.rawValue)
        result["modules_to_save"] = modulesToSave.map { .array($0.map(JSONValue.string)) } ?? .null
        result["fan_in_fan_out"] = .bool(fanInFanOut)
        result["init_lora_weights"] = initialization.json
        result["use_rslora"] = .bool(useRSLoRA)
        result["use_dora"] = .bool(useDoRA)
        result["rank_pattern"] = .object(rankPattern.mapValues(JSONValue.integer))
        result["alpha_pattern"] = .object(alphaPattern.mapValues(number))
        result["layers_to_transform"] = layersToTransform.map { .array($0.map(JSONValue.integer)) } ?? .null
        result["layers_pattern"] = layersPattern.map { .array($0.map(JSONValue.string)) } ?? .null
        result["task_type"] = taskType.map(JSONValue.string) ?? .null
        result["base_model_name_or_path"] = baseModelNameOrPath.map(JSONValue.string) ?? .null
        result["revision"] = revision.map(JSONValue.string) ?? .null
        result["inference_mode"] = .bool(inferenceMode)
        return result
    }
}

/// Whole numbers as JSON integers (PEFT writes `lora_alpha: 16`), others as doubles.
private func number(_ value: Double) -> JSONValue {
    value == value.rounded() && abs(value) < 1e15 ? .integer(Int(value)) : .number(value)
}

import NN
import TensorCore

/// PEFT's `IA3Config` with its JSON field names: learned vectors `ia3_l` that rescale the
/// output of attention projections, or the input of feed-forward layers.
///
/// The defaults are PEFT's for BERT: keys, values and both `output.dense` layers, the latter as
/// feed-forward layers (PEFT's `feedforward_modules` test is a plain suffix match, so
/// `attention.output.dense` counts too).
///
/// ```swift
/// var configuration = IA3Configuration()
/// configuration.taskType = "SEQ_CLS"   // the classifier trains too (modules_to_save)
/// let peft = try PeftModel(model: classifier, configuration: configuration)
/// ```
public struct IA3Configuration: AdapterConfiguration, Equatable {
    public var peftType: PeftType { .ia3 }

    public var targetModules: ModuleSelection?        // target_modules
    public var excludeModules: ModuleSelection?       // exclude_modules
    public var feedforwardModules: ModuleSelection?   // feedforward_modules
    public var modulesToSave: [String]?               // modules_to_save
    /// true: vectors start at one (the base model's output); false: standard normal.
    public var initializeToOnes: Bool                 // init_ia3_weights
    public var taskType: String?                      // task_type
    public var baseModelNameOrPath: String?           // base_model_name_or_path
    public var revision: String?                      // revision
    public var inferenceMode: Bool                    // inference_mode
    var fileFields = FileFields()

    public init(targetModules: ModuleSelection? = .names(["key", "value", "output.dense"]),
                feedforwardModules: ModuleSelection? = .names(["output.dense"]), initializeToOnes: Bool = true) {
        self.targetModules = targetModules
        self.excludeModules = nil
        self.feedforwardModules = feedforwardModules
        self.modulesToSave = nil
        self.initializeToOnes = initializeToOnes
        self.taskType = nil
        self.baseModelNameOrPath = nil
        self.revision = nil
        self.inferenceMode = false
    }

    public var targets: TargetSelector {
        TargetSelector(targetModules: targetModules, excludeModules: excludeModules, modulesToSave: modulesToSave)
    }

    /// PEFT's `_check_target_module_feedforward`: a string is a full regular-expression match,
    /// a list entry matches when the path ends with it.
    public func isFeedforward(_ path: String) -> Bool {
        switch feedforwardModules {
        case nil: false
        case let .names(names)?: names.contains { path.hasSuffix($0) }
        case let .pattern(expression)?: ModuleSelection.pattern(expression).matches(path)
        }
    }

    public func resolvingTargets(_ paths: [String]) -> IA3Configuration { self }

    public func forLoading() -> IA3Configuration {
        var copy = self
        copy.initializeToOnes = true
        return copy
    }

    public func adapt(_ module: Module, path: String, adapterName: String, generator: inout RandomGenerator) throws -> any AdapterLayer {
        let layer: IA3Layer
        if let existing = module as? IA3Layer {
            layer = existing
        } else if let linear = module as? Linear {
            layer = IA3Layer(base: linear, isFeedforward: isFeedforward(path))
        } else {
            throw AdapterError.unsupportedModule(path: path, type: "\(type(of: module)) for IA3 (Linear can)")
        }
        try layer.addAdapter(adapterName, initializeToOnes: initializeToOnes, generator: &generator)
        return layer
    }
}

/// Reading and writing `IA3Configuration` as PEFT's `adapter_config.json` fields.
extension IA3Configuration {
    static let usedFields: Set<String> = [
        "target_modules", "exclude_modules", "feedforward_modules", "fan_in_fan_out", "modules_to_save",
        "init_ia3_weights", "task_type", "base_model_name_or_path", "revision", "inference_mode", "peft_type",
    ]

    /// Decodes PEFT's fields; `file` names the source in errors.
    public init(json: [String: JSONValue], file: String) throws {
        self.init()
        let reader = FieldReader(json: json, file: file)
        _ = try reader.requirePeftType([.ia3])
        targetModules = try reader.selection("target_modules")
        excludeModules = try reader.selection("exclude_modules")
        feedforwardModules = try reader.selection("feedforward_modules")
        modulesToSave = try reader.strings("modules_to_save")
        initializeToOnes = try reader.bool("init_ia3_weights") ?? true
        taskType = try reader.string("task_type")
        baseModelNameOrPath = try reader.string("base_model_name_or_path")
        revision = try reader.string("revision")
        inferenceMode = try reader.bool("inference_mode") ?? false
        try reader.refuse(["fan_in_fan_out"])
        fileFields = FileFields(fields: json, decoded: typedFields)
    }

    public var ignoredFields: [String] { fileFields.ignored(used: Self.usedFields) }
    public var json: [String: JSONValue] { fileFields.merged(with: typedFields) }

    private var typedFields: [String: JSONValue] {
        [
            "peft_type": .string(PeftType.ia3.rawValue),
            "target_modules": targetModules?.json ?? .null,
            "exclude_modules": excludeModules?.json ?? .null,
            "feedforward_modules": feedforwardModules?.json ?? .null,
            "fan_in_fan_out": .bool(false),
            "modules_to_save": modulesToSave.json,
            "init_ia3_weights": .bool(initializeToOnes),
            "task_type": taskType.json,
            "base_model_name_or_path": baseModelNameOrPath.json,
            "revision": revision.json,
            "inference_mode": .bool(inferenceMode),
        ]
    }
}

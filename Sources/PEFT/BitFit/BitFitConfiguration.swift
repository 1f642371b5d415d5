import NN
import TensorCore

/// Which base parameters a selective method trains.
public enum ParameterSubset: String, Sendable {
    /// BitFit: every bias (linear, convolution and LayerNorm biases).
    case biases
    /// Norm-only tuning: the weights and biases of LayerNorm and RMSNorm.
    case normalization

    var peftType: PeftType { self == .biases ? .bitFit : .normTuning }
}

/// BitFit (Ben Zaken et al. 2022) and norm-only tuning: train a subset of the base model's own
/// parameters, chosen by module type and path, with everything else frozen.
///
/// Each selected module is wrapped in a `BitFitLayer` holding a trainable delta per adapter
/// (`bitfit_delta.<adapter>.bias`, zero at the start), so the base tensors stay untouched:
/// adapters can be disabled, switched, merged (the deltas added in) and unloaded exactly. The
/// file format is ours (`peft_type` "BITFIT" or "NORM_TUNING", docs/adapter-formats.md); a
/// trained parameter is the base one plus its saved delta.
///
/// ```swift
/// let peft = try PeftModel(model: bert, configuration: BitFitConfiguration(subset: .biases))
/// ```
public struct BitFitConfiguration: AdapterConfiguration, Equatable {
    public var peftType: PeftType { subset.peftType }

    public var subset: ParameterSubset
    /// Restricts the modules (nil: every module with parameters of the subset).
    public var targetModules: ModuleSelection?        // target_modules
    public var excludeModules: ModuleSelection?       // exclude_modules
    public var layersToTransform: [Int]?              // layers_to_transform
    public var modulesToSave: [String]?               // modules_to_save
    public var taskType: String?                      // task_type
    public var baseModelNameOrPath: String?           // base_model_name_or_path
    public var inferenceMode: Bool                    // inference_mode
    var fileFields = FileFields()

    public init(subset: ParameterSubset = .biases, targetModules: ModuleSelection? = nil) {
        self.subset = subset
        self.targetModules = targetModules
        self.inferenceMode = false
    }

    public var targets: TargetSelector {
        TargetSelector(targetModules: targetModules ?? .pattern(".*"), excludeModules: excludeModules,
                       layersToTransform: layersToTransform, modulesToSave: modulesToSave)
    }

    public func resolvingTargets(_ paths: [String]) -> BitFitConfiguration { self }
    public func forLoading() -> BitFitConfiguration { self }

    /// The parameter names of `module` this subset trains (empty: the module is not adapted).
    func selectedParameters(of module: Module) -> [String] {
        let base = (module as? BitFitLayer)?.baseLayer ?? module
        switch (subset, base) {
        case (.biases, is Linear), (.biases, is Conv2d), (.biases, is LayerNorm):
            return base.optionalParameter("bias") == nil ? [] : ["bias"]
        case (.normalization, is LayerNorm), (.normalization, is RMSNorm):
            return base.parameterNames.filter { $0 == "weight" || $0 == "bias" }
        default:
            return []
        }
    }

    public func inject(into model: Module, adapterName: String, generator: inout RandomGenerator) throws -> [String] {
        let candidates = Set(model.namedModules().filter { !selectedParameters(of: $0.module).isEmpty }.map(\.path))
        let paths = targets.targetPaths(in: model, taskType: taskType).filter(candidates.contains)
        guard !paths.isEmpty else {
            throw AdapterError.noTargetFound(targets: "\(subset.rawValue) of \(targetModules.map { "\($0.json)" } ?? "every module")",
                                             examplePaths: model.namedModules().map(\.path).filter { !$0.isEmpty })
        }
        for path in paths {
            let module = model.module(at: path)!
            let layer = (module as? BitFitLayer) ?? BitFitLayer(base: module)
            try layer.addAdapter(adapterName, parameters: selectedParameters(of: module))
            if layer !== module { model.replaceModule(at: path, with: layer) }
        }
        return paths
    }
}

/// Reading and writing `BitFitConfiguration` as our `adapter_config.json`.
extension BitFitConfiguration {
    static let usedFields: Set<String> = [
        "peft_type", "target_modules", "exclude_modules", "layers_to_transform", "modules_to_save", "task_type",
        "base_model_name_or_path", "inference_mode",
    ]

    public init(json: [String: JSONValue], file: String) throws {
        let reader = FieldReader(json: json, file: file)
        let type = try reader.requirePeftType([.bitFit, .normTuning])
        self.init(subset: type == .normTuning ? .normalization : .biases)
        targetModules = try reader.selection("target_modules")
        excludeModules = try reader.selection("exclude_modules")
        layersToTransform = try reader.integers("layers_to_transform")
        modulesToSave = try reader.strings("modules_to_save")
        taskType = try reader.string("task_type")
        baseModelNameOrPath = try reader.string("base_model_name_or_path")
        inferenceMode = try reader.bool("inference_mode") ?? false
        fileFields = FileFields(fields: json, decoded: typedFields)
    }

    public var ignoredFields: [String] { fileFields.ignored(used: Self.usedFields) }
    public var json: [String: JSONValue] { fileFields.merged(with: typedFields) }

    private var typedFields: [String: JSONValue] {
        [
            "peft_type": .string(peftType.rawValue),
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

import NN
import TensorCore

/// How LoRA factors start (`init_lora_weights`).
public enum LoRAInitialization: Equatable, Sendable {
    /// `true`: A kaiming-uniform (a = sqrt 5), B zero; for embeddings A zero, B standard normal.
    case standard
    /// `false`: A and B both random (the adapter changes the output from the start; for tests).
    case random
    /// `"gaussian"`: A ~ N(0, 1/r), B zero.
    case gaussian
    /// `"pissa"`: A, B from the top-r singular triplets of W; W keeps the residual.
    case pissa

    var json: JSONValue {
        switch self {
        case .standard: .bool(true)
        case .random: .bool(false)
        case .gaussian: .string("gaussian")
        case .pissa: .string("pissa")
        }
    }
}

/// Which biases train alongside LoRA (PEFT's `bias`).
public enum LoRABias: String, Sendable {
    case none, all
    case loraOnly = "lora_only"
}

/// PEFT's `LoraConfig` with its JSON field names.
///
/// ```swift
/// var configuration = LoRAConfiguration(rank: 8, alpha: 16, targetModules: .names(["query", "value"]))
/// configuration.modulesToSave = ["classifier"]
/// let peft = try PeftModel(model: model, configuration: configuration)
/// ```
public struct LoRAConfiguration: AdapterConfiguration, Equatable {
    public static let peftType = PeftType.lora

    public var rank: Int                              // r
    public var alpha: Double                          // lora_alpha
    public var targetModules: ModuleSelection?        // target_modules
    public var excludeModules: ModuleSelection?       // exclude_modules
    public var dropout: Double                        // lora_dropout
    public var bias: LoRABias                         // bias
    public var modulesToSave: [String]?               // modules_to_save
    public var fanInFanOut: Bool                      // fan_in_fan_out
    public var initialization: LoRAInitialization     // init_lora_weights
    public var useRSLoRA: Bool                        // use_rslora
    public var useDoRA: Bool                          // use_dora
    public var rankPattern: [String: Int]             // rank_pattern
    public var alphaPattern: [String: Double]         // alpha_pattern
    public var layersToTransform: [Int]?              // layers_to_transform
    public var layersPattern: [String]?               // layers_pattern
    public var taskType: String?                      // task_type
    public var baseModelNameOrPath: String?           // base_model_name_or_path
    public var revision: String?                      // revision
    public var inferenceMode: Bool                    // inference_mode
    /// Every field as read, so unused fields round-trip unchanged.
    var fileFields: [String: JSONValue] = [:]
    /// Our encoding of the fields right after decoding, to tell which ones changed since.
    var fieldsAsDecoded: [String: JSONValue] = [:]

    public init(rank: Int = 8, alpha: Double = 8, targetModules: ModuleSelection? = nil, dropout: Double = 0,
                initialization: LoRAInitialization = .standard, useRSLoRA: Bool = false, useDoRA: Bool = false) {
        self.rank = rank
        self.alpha = alpha
        self.targetModules = targetModules
        self.excludeModules = nil
        self.dropout = dropout
        self.bias = .none
        self.modulesToSave = nil
        self.fanInFanOut = false
        self.initialization = initialization
        self.useRSLoRA = useRSLoRA
        self.useDoRA = useDoRA
        self.rankPattern = [:]
        self.alphaPattern = [:]
        self.layersToTransform = nil
        self.layersPattern = nil
        self.taskType = nil
        self.baseModelNameOrPath = nil
        self.revision = nil
        self.inferenceMode = false
    }

    public var targets: TargetSelector {
        TargetSelector(targetModules: targetModules, excludeModules: excludeModules, layersToTransform: layersToTransform,
                       layersPattern: layersPattern, modulesToSave: modulesToSave)
    }

    /// Rank and alpha for the module at `path` after `rank_pattern` / `alpha_pattern`.
    public func rankAndAlpha(for path: String) -> (rank: Int, alpha: Double) {
        let rankKey = patternKey(Array(rankPattern.keys), matching: path)
        let alphaKey = patternKey(Array(alphaPattern.keys), matching: path)
        return (rankKey.map { rankPattern[$0]! } ?? rank, alphaKey.map { alphaPattern[$0]! } ?? alpha)
    }

    /// alpha / r, or alpha / sqrt(r) with rsLoRA.
    public func scaling(rank: Int, alpha: Double) -> Float {
        Float(useRSLoRA ? alpha / Double(rank).squareRoot() : alpha / Double(rank))
    }

    public func resolvingTargets(_ paths: [String]) -> LoRAConfiguration {
        var copy = self
        if targetModules?.isAllLinear == true {
            // PEFT stores the last path components, which select the same modules.
            copy.targetModules = .names(Set(paths.map { String($0.split(separator: ".").last!) }).sorted())
        }
        return copy
    }

    public func forLoading() -> LoRAConfiguration {
        var copy = self
        copy.initialization = .standard
        return copy
    }

    public func extraTrainableParameterPaths(in model: Module) -> [String] {
        switch bias {
        case .none: return []
        case .all: return model.namedParameters().map(\.path).filter { $0.contains("bias") && !isAdapterPath($0) }
        case .loraOnly:
            return model.namedModules().filter { $0.module is LoRALayer }.compactMap { path, module in
                module.child("base_layer")?.optionalParameter("bias") == nil ? nil : path + ".base_layer.bias"
            }
        }
    }

    public func adapt(_ module: Module, path: String, adapterName: String, generator: inout RandomGenerator) throws -> any AdapterLayer {
        let (rank, alpha) = rankAndAlpha(for: path)
        let settings = LoRASettings(rank: rank, alpha: alpha, scaling: scaling(rank: rank, alpha: alpha), dropout: Float(dropout),
                                    initialization: initialization, useDoRA: useDoRA, fanInFanOut: fanInFanOut)
        let layer: LoRALayer
        if let existing = module as? LoRALayer {
            layer = existing
        } else if let linear = module as? Linear {
            layer = LoRALinear(base: linear, fanInFanOut: false)
        } else if let made = makeLoRALayer(wrapping: module) {
            layer = made
        } else {
            throw AdapterError.unsupportedModule(path: path, type: "\(type(of: module))")
        }
        try layer.addAdapter(adapterName, settings: settings, path: path, generator: &generator)
        return layer
    }
}

private func isAdapterPath(_ path: String) -> Bool {
    path.split(separator: ".").contains { ["lora_A", "lora_B", "lora_embedding_A", "lora_embedding_B", "lora_magnitude_vector"].contains(String($0)) }
}

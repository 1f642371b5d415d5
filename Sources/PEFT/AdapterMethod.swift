import NN
import TensorCore

/// The PEFT methods SwiftPEFT implements, by their `peft_type` in `adapter_config.json`.
/// This one closed enum drives configuration decoding (and the command line). LoRA, IA3, prompt
/// and prefix tuning use Python PEFT's names and files; the others have names of our own
/// (docs/adapter-formats.md).
public enum PeftType: String, Sendable, CaseIterable {
    case lora = "LORA"
    case ia3 = "IA3"
    case promptTuning = "PROMPT_TUNING"
    case prefixTuning = "PREFIX_TUNING"
    /// Houlsby or Pfeiffer bottleneck adapters (AdapterHub's semantics).
    case bottleneck = "BOTTLENECK"
    /// Bias-only tuning.
    case bitFit = "BITFIT"
    /// Normalisation-only tuning (LayerNorm / RMSNorm weights and biases).
    case normTuning = "NORM_TUNING"

    /// Decodes the configuration of this method from the fields of an `adapter_config.json`.
    func makeConfiguration(json: [String: JSONValue], file: String) throws -> any AdapterConfiguration {
        switch self {
        case .lora: try LoRAConfiguration(json: json, file: file)
        case .ia3: try IA3Configuration(json: json, file: file)
        case .promptTuning: try PromptTuningConfiguration(json: json, file: file)
        case .prefixTuning: try PrefixTuningConfiguration(json: json, file: file)
        case .bottleneck: try BottleneckConfiguration(json: json, file: file)
        case .bitFit, .normTuning: try BitFitConfiguration(json: json, file: file)
        }
    }

    /// Whether the method feeds virtual tokens to the model (PEFT's `is_prompt_learning`).
    public var isPromptLearning: Bool { self == .promptTuning || self == .prefixTuning }

    /// Child names under which the methods keep per-adapter tensors, for every method.
    static let adapterComponentNames: Set<String> = Set(LoRALayer.adapterComponentNames + IA3Layer.adapterComponentNames
        + BitFitLayer.adapterComponentNames + [BottleneckAdapters.componentName, PromptEncoder.componentName])
}

/// A method's configuration: PEFT's config class with PEFT's own JSON field names. It knows
/// which modules to adapt and how to wrap one, so `PeftModel` needs nothing method-specific.
public protocol AdapterConfiguration: Sendable {
    var peftType: PeftType { get }
    /// target_modules, exclude_modules, layers_to_transform, layers_pattern, modules_to_save.
    var targets: TargetSelector { get }
    /// Whether nothing trains (PEFT saves true; loading for training sets false).
    var inferenceMode: Bool { get set }
    /// PEFT's `task_type` ("SEQ_CLS", "CAUSAL_LM" ...), if any.
    var taskType: String? { get }
    /// Fields of the file this method does not use although they are set to something other
    /// than PEFT's default. They are kept and written back; callers should show them.
    var ignoredFields: [String] { get }
    /// The `adapter_config.json` fields, unused ones included.
    var json: [String: JSONValue] { get }
    /// Returns a copy whose target_modules lists `paths` (PEFT stores "all-linear" resolved).
    func resolvingTargets(_ paths: [String]) -> Self
    /// A copy for building layers whose weights are loaded next: its initialisation is cheap
    /// and leaves the base weights alone (PiSSA's would change them).
    func forLoading() -> Self
    /// A copy with what PEFT fills in from the model (prompt learning's `token_dim`, `num_layers` ...).
    func resolved(for model: Module) throws -> Self

    /// Adds adapter `adapterName` to `model` and returns the adapted module paths. The default
    /// wraps every target path with `adapt`; methods that attach modules instead override it.
    func inject(into model: Module, adapterName: String, generator: inout RandomGenerator) throws -> [String]

    /// Adds adapter `adapterName` to the module at `path`: wraps `module` in the method's layer,
    /// or adds to it when it already is one. Returns the module to place at `path`.
    func adapt(_ module: Module, path: String, adapterName: String, generator: inout RandomGenerator) throws -> any AdapterLayer

    /// Paths of base-model parameters that also train (and are saved) under this configuration,
    /// such as biases for PEFT's `bias = "all"`.
    func extraTrainableParameterPaths(in model: Module) -> [String]

    /// What every saved key starts with: PEFT's "base_model.model.", or "base_model." for
    /// prompt learning (whose `modules_to_save` keys read `base_model.classifier.weight`).
    var savedKeyPrefix: String { get }
    /// Whether the adapter's update can be folded into the base weights.
    var isMergeable: Bool { get }
}

extension AdapterConfiguration {
    public var savedKeyPrefix: String { AdapterFile.keyPrefix }
    public var isMergeable: Bool { true }
    public func resolved(for model: Module) throws -> Self { self }
    public func extraTrainableParameterPaths(in model: Module) -> [String] { [] }

    public func inject(into model: Module, adapterName: String, generator: inout RandomGenerator) throws -> [String] {
        let paths = targets.targetPaths(in: model, taskType: taskType)
        guard !paths.isEmpty else {
            throw AdapterError.noTargetFound(targets: "\(targets.targetModules.map { "\($0.json)" } ?? "none")",
                                             examplePaths: model.namedModules().map(\.path).filter { !$0.isEmpty })
        }
        for path in paths {
            let module = model.module(at: path)!
            let layer = try adapt(module, path: path, adapterName: adapterName, generator: &generator)
            if layer !== module { model.replaceModule(at: path, with: layer) }
        }
        return paths
    }

    public func adapt(_ module: Module, path: String, adapterName: String, generator: inout RandomGenerator) throws -> any AdapterLayer {
        throw AdapterError.unsupportedModule(path: path, type: "\(type(of: module)) for \(peftType.rawValue)")
    }
}

/// A layer that wraps a base module (child `base_layer`) and holds named adapters.
///
/// Adapter tensors live at PEFT's in-memory paths (`lora_A.<adapter>.weight`), so a saved key is
/// the in-memory path with the adapter name removed, for every method alike.
public protocol AdapterLayer: Module, UnaryLayer {
    /// Child names under which this layer keeps per-adapter tensors (`lora_A`, `lora_B` ...).
    static var adapterComponentNames: [String] { get }
    var baseLayer: Module { get }
    var adapterNames: [String] { get }
    /// Adapters applied in the forward pass, in order.
    var activeAdapters: [String] { get set }
    /// When true the layer computes the base layer only (adapters stay in place).
    var isAdapterDisabled: Bool { get set }
    /// Adapters merged into the base weights, in merge order.
    var mergedAdapters: [String] { get }

    /// Adds the adapters' updates to the base weights (all active adapters when nil).
    func merge(adapterNames: [String]?) throws
    /// Restores the base weights as they were before the first merge (the same tensors).
    func unmerge()
    /// Removes an adapter's tensors.
    func deleteAdapter(_ name: String)
    /// The weight update of one adapter in the base weight's layout (for merging and combining).
    func deltaWeight(adapter: String) -> Tensor
}

extension AdapterLayer {
    public var isMerged: Bool { !mergedAdapters.isEmpty }
}

/// Adapter modules attached as a new child of a model module rather than wrapping one:
/// bottleneck adapters (`adapters` of a residual block) and prompt encoders (`prompt_encoder`
/// of a model). Removing the child restores the model.
public protocol AttachedAdapter: Module {
    /// The child name the container is attached under.
    static var componentName: String { get }
    var adapterNames: [String] { get }
    /// Adapters applied in the forward pass.
    var activeAdapters: [String] { get set }
    var isAdapterDisabled: Bool { get set }
    func deleteAdapter(_ name: String)
}

/// A module holding named per-adapter modules as children, in insertion order.
func removingChild(_ name: String, from container: Module) -> Module {
    let kept = Module()
    for other in container.childNames where other != name { kept.register(other, container.child(other)!) }
    for other in container.parameterNames where other != name { kept.register(parameter: other, container.parameter(other)) }
    return kept
}

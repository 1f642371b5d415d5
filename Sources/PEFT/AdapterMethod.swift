import NN
import TensorCore

/// The PEFT methods SwiftPEFT implements, by their `peft_type` in `adapter_config.json`.
/// This one closed enum drives configuration decoding (and the command line).
public enum PeftType: String, Sendable, CaseIterable {
    case lora = "LORA"

    /// Decodes the configuration of this method from the fields of an `adapter_config.json`.
    func makeConfiguration(json: [String: JSONValue], file: String) throws -> any AdapterConfiguration {
        switch self {
        case .lora: try LoRAConfiguration(json: json, file: file)
        }
    }
}

/// A method's configuration: PEFT's config class with PEFT's own JSON field names. It knows
/// which modules to adapt and how to wrap one, so `PeftModel` needs nothing method-specific.
public protocol AdapterConfiguration: Sendable {
    static var peftType: PeftType { get }
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

    /// Adds adapter `adapterName` to the module at `path`: wraps `module` in the method's layer,
    /// or adds to it when it already is one. Returns the module to place at `path`.
    func adapt(_ module: Module, path: String, adapterName: String, generator: inout RandomGenerator) throws -> any AdapterLayer

    /// Paths of base-model parameters that also train (and are saved) under this configuration,
    /// such as biases for PEFT's `bias = "all"`.
    func extraTrainableParameterPaths(in model: Module) -> [String]
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

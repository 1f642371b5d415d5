import NN
import TensorCore

/// Where bottleneck adapters sit, after AdapterHub's two classic configurations.
public enum BottleneckArchitecture: String, Sendable {
    /// Houlsby et al. 2019 (AdapterHub `double_seq_bn`): after attention and after the feed-forward
    /// block, on the sub-block output before the residual and LayerNorm; swish.
    case houlsby
    /// Pfeiffer et al. 2020 (AdapterHub `seq_bn`): after the feed-forward block only, on the
    /// LayerNorm-ed output; relu.
    case pfeiffer
}

/// Bottleneck adapters with AdapterHub's semantics: h ← W_up f(W_down x) + r at the close of a
/// residual block (`ResidualBlock`, e.g. BERT's `attention.output` and `output`). With h the
/// sub-block output after dropout, x the block's input and LN the block's LayerNorm:
///
/// - `original_ln_before = false` (Houlsby): adapter input h, result LN(h + A(h) + x).
/// - `original_ln_before = true` (Pfeiffer): adapter input LN(h + x), result LN(h + A(LN(h + x)) + x)
///   (`residual_before_ln = true`: the adapter's residual is h, taken before the LayerNorm; with
///   false it is LN(h + x)). The block's LayerNorm is used twice, as AdapterHub does.
///
/// A ≡ 0 at the start (W_up and its bias zero, AdapterHub's `mam_adapter` init; W_down
/// uniform ±1/√C), so the model's output is the base model's. The file format is ours:
/// `peft_type` "BOTTLENECK" with AdapterHub's field names (docs/adapter-formats.md).
///
/// ```swift
/// let configuration = BottleneckConfiguration(architecture: .pfeiffer, reductionFactor: 16)
/// let peft = try PeftModel(model: bert, configuration: configuration)
/// ```
public struct BottleneckConfiguration: AdapterConfiguration, Equatable {
    public var peftType: PeftType { .bottleneck }

    public var architecture: BottleneckArchitecture   // architecture
    /// Hidden size / bottleneck size.
    public var reductionFactor: Double               // reduction_factor
    public var nonLinearity: Activation.Kind          // non_linearity
    /// Adapters after attention (`mh_adapter`) and after the feed-forward block (`output_adapter`).
    public var afterAttention: Bool                   // mh_adapter
    public var afterFeedForward: Bool                 // output_adapter
    public var originalLayerNormBefore: Bool          // original_ln_before
    public var residualBeforeLayerNorm: Bool          // residual_before_ln
    /// Restricts the residual blocks adapted (nil: every block of the selected kinds).
    public var targetModules: ModuleSelection?        // target_modules
    public var excludeModules: ModuleSelection?       // exclude_modules
    public var layersToTransform: [Int]?              // layers_to_transform
    public var modulesToSave: [String]?               // modules_to_save
    public var taskType: String?                      // task_type
    public var baseModelNameOrPath: String?           // base_model_name_or_path
    public var inferenceMode: Bool                    // inference_mode
    var fileFields = FileFields()

    public init(architecture: BottleneckArchitecture = .houlsby, reductionFactor: Double = 16, nonLinearity: Activation.Kind? = nil) {
        self.architecture = architecture
        self.reductionFactor = reductionFactor
        self.nonLinearity = nonLinearity ?? (architecture == .houlsby ? .silu : .relu)
        self.afterAttention = architecture == .houlsby
        self.afterFeedForward = true
        self.originalLayerNormBefore = architecture == .pfeiffer
        self.residualBeforeLayerNorm = true
        self.inferenceMode = false
    }

    public var targets: TargetSelector {
        TargetSelector(targetModules: targetModules, excludeModules: excludeModules, layersToTransform: layersToTransform, modulesToSave: modulesToSave)
    }

    public var isMergeable: Bool { false }
    public func resolvingTargets(_ paths: [String]) -> BottleneckConfiguration { self }
    public func forLoading() -> BottleneckConfiguration { self }

    /// The residual blocks this configuration adapts, in tree order.
    public func blockPaths(in model: Module) -> [String] {
        var selector = targets
        selector.targetModules = selector.targetModules ?? .pattern(".*")
        return model.namedModules().compactMap { path, module in
            guard let block = module as? any ResidualBlock else { return nil }
            let wanted = block.residualKind == .attention ? afterAttention : afterFeedForward
            return wanted && selector.matches(path) ? path : nil
        }
    }

    public func inject(into model: Module, adapterName: String, generator: inout RandomGenerator) throws -> [String] {
        let paths = blockPaths(in: model)
        guard !paths.isEmpty else {
            throw AdapterError.noTargetFound(targets: "residual blocks (\(architecture.rawValue))",
                                             examplePaths: model.namedModules().map(\.path).filter { !$0.isEmpty })
        }
        for path in paths {
            let block = model.module(at: path) as! any ResidualBlock
            let container = (block.child(BottleneckAdapters.componentName) as? BottleneckAdapters) ?? {
                let made = BottleneckAdapters()
                block.register(BottleneckAdapters.componentName, made)
                return made
            }()
            let size = max(1, Int(Double(block.residualDimensions) / reductionFactor))
            try container.addAdapter(adapterName, adapter: BottleneckAdapter(dimensions: block.residualDimensions, bottleneck: size,
                                                                             configuration: self, generator: &generator))
        }
        return paths.map { $0 + "." + BottleneckAdapters.componentName }
    }
}

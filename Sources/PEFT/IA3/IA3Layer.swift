import NN
import TensorCore

/// IA3 on a linear layer (PEFT's `ia3.Linear`): a learned vector l per adapter (`ia3_l.<name>`).
/// For a feed-forward layer l [1, C_in] scales the input, y = W (x ⊙ l) + b; otherwise
/// l [C_out, 1] scales the output, y = (W x + b) ⊙ l. Several active adapters multiply.
///
/// ```swift
/// let layer = try IA3Configuration().adapt(linear, path: "attention.self.key", adapterName: "default", generator: &generator)
/// let y = layer(x)   // x: [..., C_in] -> [..., C_out]
/// ```
public final class IA3Layer: Module, AdapterLayer {
    public static let adapterComponentNames = ["ia3_l"]

    /// Whether l scales the input (feed-forward) rather than the output.
    public let isFeedforward: Bool
    public private(set) var adapterNames: [String] = []
    public var activeAdapters: [String] = []
    public var isAdapterDisabled = false
    public private(set) var mergedAdapters: [String] = []
    /// The base weight and bias before the first merge: unmerging puts back these very tensors.
    private var unmergedTensors: (weight: Tensor, bias: Tensor?)?

    init(base: Linear, isFeedforward: Bool) {
        self.isFeedforward = isFeedforward
        super.init()
        register("base_layer", base)
        register("ia3_l", Module())
    }

    public var baseLayer: Module { child("base_layer")! }
    var base: Linear { baseLayer as! Linear }

    /// The vector of an adapter: [1, C_in] (feed-forward) or [C_out, 1].
    public func vector(_ adapter: String) -> Tensor { child("ia3_l")!.parameter(adapter) }

    func addAdapter(_ name: String, initializeToOnes: Bool, generator: inout RandomGenerator) throws {
        if adapterNames.contains(name) { throw AdapterError.duplicateAdapter(name: name) }
        let shape = isFeedforward ? [1, base.inputDimensions] : [base.outputDimensions, 1]
        child("ia3_l")!.register(parameter: name, initializeToOnes ? .ones(shape) : .randomNormal(shape, generator: &generator))
        adapterNames.append(name)
        if activeAdapters.isEmpty { activeAdapters = [name] }
    }

    /// The product of the vectors of the unmerged active adapters, flattened, or nil.
    private var scaling: Tensor? {
        if isAdapterDisabled {
            if isMerged { unmerge() }
            return nil
        }
        let applied = activeAdapters.filter { adapterNames.contains($0) && !mergedAdapters.contains($0) }
        return applied.map { vector($0).reshaped([-1]) }.reduce(nil) { product, next in product.map { $0 * next } ?? next }
    }

    /// x: [..., C_in] -> [..., C_out]
    public func callAsFunction(_ input: Tensor) -> Tensor {
        guard let scaling else { return base(input) }
        return isFeedforward ? base(input * scaling) : base(input) * scaling
    }

    public func merge(adapterNames names: [String]? = nil) throws {
        let toMerge = (names ?? activeAdapters).filter { !mergedAdapters.contains($0) }
        for name in toMerge where !adapterNames.contains(name) {
            throw AdapterError.unknownAdapter(name: name, known: adapterNames)
        }
        guard !toMerge.isEmpty else { return }
        if unmergedTensors == nil { unmergedTensors = (base.weight, base.bias) }
        Tensor.withoutGradient {
            for adapter in toMerge {
                let l = vector(adapter)   // [C_out, 1] scales rows, [1, C_in] columns of W [C_out, C_in]
                base.replaceTensor(at: "weight", with: (base.weight * l).contiguous())
                if !isFeedforward, let bias = base.bias {
                    base.replaceTensor(at: "bias", with: (bias * l.reshaped([-1])).contiguous())
                }
            }
        }
        mergedAdapters += toMerge
    }

    public func unmerge() {
        guard let original = unmergedTensors else { return }
        base.replaceTensor(at: "weight", with: original.weight)
        if let bias = original.bias { base.replaceTensor(at: "bias", with: bias) }
        unmergedTensors = nil
        mergedAdapters = []
    }

    public func deleteAdapter(_ name: String) {
        precondition(!mergedAdapters.contains(name), "deleteAdapter: '\(name)' is merged; unmerge first")
        adapterNames.removeAll { $0 == name }
        activeAdapters.removeAll { $0 == name }
        register("ia3_l", removingChild(name, from: child("ia3_l")!))
    }

    /// W ⊙ l − W in the weight's layout [C_out, C_in] (the bias change is not included).
    public func deltaWeight(adapter: String) -> Tensor {
        base.weight * vector(adapter) - base.weight
    }
}

import NN
import TensorCore

/// PEFT's `ModulesToSaveWrapper`: keeps the original module (`original_module`) and one trainable
/// copy per adapter (`modules_to_save.<adapter>`); the forward pass runs the active adapter's
/// copy, or the original when adapters are disabled or the active adapter has no copy.
public final class ModulesToSaveWrapper: Module, UnaryLayer {
    public var activeAdapter: String?
    public var isAdapterDisabled = false

    init(original: Module) {
        super.init()
        register("original_module", original)
        register("modules_to_save", Module())
    }

    public var originalModule: Module { child("original_module")! }
    var copies: Module { child("modules_to_save")! }
    public var adapterNames: [String] { copies.childNames }

    /// Adds a trainable copy of the original for `adapter`; throws for module types that cannot be copied.
    func addCopy(for adapter: String, path: String) throws {
        guard let copy = clonedModule(originalModule) else {
            throw AdapterError.unsupportedModule(path: path, type: "\(type(of: originalModule)) in modules_to_save")
        }
        copies.register(adapter, copy)
    }

    func deleteCopy(for adapter: String) {
        let kept = Module()
        for name in copies.childNames where name != adapter { kept.register(name, copies.child(name)!) }
        register("modules_to_save", kept)
        if activeAdapter == adapter { activeAdapter = nil }
    }

    /// The module the forward pass uses now.
    public var current: Module {
        guard !isAdapterDisabled, let activeAdapter, let copy = copies.child(activeAdapter) else { return originalModule }
        return copy
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        guard let layer = current as? any UnaryLayer else {
            preconditionFailure("ModulesToSaveWrapper: \(type(of: current)) is not a unary layer")
        }
        return layer(input)
    }
}

/// A deep copy with fresh storage for the module types a head usually has.
func clonedModule(_ module: Module) -> Module? {
    let copy: Module
    if let linear = module as? Linear {
        copy = Linear(inputDimensions: linear.inputDimensions, outputDimensions: linear.outputDimensions, bias: linear.bias != nil)
    } else if let made = makeEmptyCopy(of: module) {
        copy = made
    } else {
        return nil
    }
    for (path, tensor) in module.namedParameters() + module.namedBuffers() {
        copy.replaceTensor(at: path, with: tensor.copied())
    }
    copy.setTraining(module.isTraining)
    return copy
}

import Foundation
import TensorCore

/// A node of a model: named parameters, named buffers (non-trainable state such as batch-norm
/// statistics) and named child modules, in registration order.
///
/// Paths join names with dots, exactly as Hugging Face state dicts do
/// (`encoder.layer.0.attention.self.query.weight`), so weights and adapters map one to one.
/// Children are looked up by name at call time, which lets PEFT methods replace a layer
/// (`replaceModule(at:with:)`) without the model knowing.
///
/// ```swift
/// final class TwoLayer: Module {
///     init() {
///         super.init()
///         register("fc1", Linear(inputDimensions: 4, outputDimensions: 8))
///         register("fc2", Linear(inputDimensions: 8, outputDimensions: 2))
///     }
///     func callAsFunction(_ x: Tensor) -> Tensor { layer("fc2")(layer("fc1")(x).relu()) }
/// }
/// ```
open class Module {
    public private(set) var parameterNames: [String] = []
    private var parameterTable: [String: Tensor] = [:]
    public private(set) var bufferNames: [String] = []
    private var bufferTable: [String: Tensor] = [:]
    public private(set) var childNames: [String] = []
    private var childTable: [String: Module] = [:]
    /// Training mode (dropout active, batch norm uses batch statistics).
    public private(set) var isTraining = true

    public init() {}

    // MARK: Registration and access

    /// Registers or replaces a trainable parameter.
    public func register(parameter name: String, _ tensor: Tensor) {
        if parameterTable[name] == nil { parameterNames.append(name) }
        parameterTable[name] = tensor.requiringGradient()
    }

    /// Registers or replaces a buffer: saved in the state dict, never trained.
    public func register(buffer name: String, _ tensor: Tensor) {
        if bufferTable[name] == nil { bufferNames.append(name) }
        bufferTable[name] = tensor
    }

    /// Registers or replaces a child module.
    public func register(_ name: String, _ child: Module) {
        if childTable[name] == nil { childNames.append(name) }
        childTable[name] = child
    }

    /// Removes a parameter (for example a bias that is set to none).
    public func removeParameter(_ name: String) {
        parameterTable[name] = nil
        parameterNames.removeAll { $0 == name }
    }

    /// Removes a child module (for example an attached adapter that is unloaded).
    public func removeChild(_ name: String) {
        childTable[name] = nil
        childNames.removeAll { $0 == name }
    }

    public func parameter(_ name: String) -> Tensor {
        guard let tensor = parameterTable[name] else {
            preconditionFailure("\(type(of: self)) has no parameter '\(name)'; it has \(parameterNames)")
        }
        return tensor
    }

    public func optionalParameter(_ name: String) -> Tensor? { parameterTable[name] }

    public func buffer(_ name: String) -> Tensor {
        guard let tensor = bufferTable[name] else {
            preconditionFailure("\(type(of: self)) has no buffer '\(name)'; it has \(bufferNames)")
        }
        return tensor
    }

    public func child(_ name: String) -> Module? { childTable[name] }

    /// The child `name` as a function from tensor to tensor (the child must be a `UnaryLayer`).
    /// Looked up at each call, so a replaced child takes effect at once.
    public func layer(_ name: String) -> (Tensor) -> Tensor {
        guard let child = childTable[name] as? any UnaryLayer else {
            preconditionFailure("\(type(of: self)) has no layer '\(name)'; it has \(childNames)")
        }
        return { child.callAsFunction($0) }
    }

    /// The child `name` as `T`.
    public func child<T: Module>(_ name: String, as type: T.Type) -> T {
        guard let child = childTable[name] as? T else {
            preconditionFailure("\(Swift.type(of: self)).\(name) is \(String(describing: childTable[name].map { Swift.type(of: $0) })), not \(T.self)")
        }
        return child
    }

    // MARK: Tree walks

    /// Every module of the tree with its path ("" for the root), parents before children.
    public func namedModules(prefix: String = "") -> [(path: String, module: Module)] {
        var result: [(String, Module)] = [(prefix, self)]
        for name in childNames {
            result += childTable[name]!.namedModules(prefix: join(prefix, name))
        }
        return result
    }

    /// Every parameter of the tree with its dotted path.
    public func namedParameters(prefix: String = "") -> [(path: String, tensor: Tensor)] {
        var result = parameterNames.map { (join(prefix, $0), parameterTable[$0]!) }
        for name in childNames {
            result += childTable[name]!.namedParameters(prefix: join(prefix, name))
        }
        return result
    }

    /// Every buffer of the tree with its dotted path.
    public func namedBuffers(prefix: String = "") -> [(path: String, tensor: Tensor)] {
        var result = bufferNames.map { (join(prefix, $0), bufferTable[$0]!) }
        for name in childNames {
            result += childTable[name]!.namedBuffers(prefix: join(prefix, name))
        }
        return result
    }

    /// Parameters that receive gradients.
    public func trainableParameters() -> [(path: String, tensor: Tensor)] {
        namedParameters().filter { $0.tensor.requiresGradient }
    }

    /// Total and trainable parameter counts.
    public func parameterCounts() -> (total: Int, trainable: Int) {
        namedParameters().reduce((0, 0)) { counts, entry in
            (counts.0 + entry.tensor.count, counts.1 + (entry.tensor.requiresGradient ? entry.tensor.count : 0))
        }
    }

    /// The module at a dotted path ("" is this module).
    public func module(at path: String) -> Module? {
        if path.isEmpty { return self }
        var current: Module = self
        for component in path.split(separator: ".") {
            guard let next = current.childTable[String(component)] else { return nil }
            current = next
        }
        return current
    }

    /// Replaces the module at a dotted path; returns the module it replaced.
    @discardableResult
    public func replaceModule(at path: String, with replacement: Module) -> Module {
        let components = path.split(separator: ".").map(String.init)
        precondition(!components.isEmpty, "replaceModule: empty path")
        guard let parent = module(at: components.dropLast().joined(separator: ".")),
              let previous = parent.childTable[components.last!] else {
            preconditionFailure("replaceModule: no module at '\(path)'")
        }
        parent.register(components.last!, replacement)
        return previous
    }

    // MARK: Modes and freezing

    /// Sets training (true) or evaluation (false) mode on the whole tree.
    public func setTraining(_ training: Bool) {
        for (_, module) in namedModules() { module.isTraining = training }
    }

    /// Freezes every parameter whose path fully matches `pattern` (a regular expression), or all.
    public func freeze(matching pattern: String? = nil) { setTrainable(false, matching: pattern) }

    /// Unfreezes every parameter whose path fully matches `pattern` (a regular expression), or all.
    public func unfreeze(matching pattern: String? = nil) { setTrainable(true, matching: pattern) }

    private func setTrainable(_ trainable: Bool, matching pattern: String?) {
        let matched = Set(parameterPaths(matching: pattern))
        for (path, tensor) in namedParameters() where matched.contains(path) { tensor.requiringGradient(trainable) }
    }

    /// The paths of the parameters that fully match `pattern` (a regular expression; all when
    /// nil), in tree order.
    public func parameterPaths(matching pattern: String? = nil) -> [String] {
        let expression = pattern.map { try! NSRegularExpression(pattern: "^(?:\($0))$") }
        return namedParameters().map(\.path).filter { path in
            expression.map { $0.firstMatch(in: path, range: NSRange(path.startIndex..., in: path)) != nil } ?? true
        }
    }

    /// Clears the gradients of every parameter.
    public func zeroGradients() {
        for (_, tensor) in namedParameters() { tensor.grad = nil }
    }

    // MARK: Parameter update (used by state dict loading and methods)

    /// Replaces the tensor of a parameter or buffer at a dotted path, keeping its trainability.
    public func replaceTensor(at path: String, with tensor: Tensor) {
        precondition(setTensor(at: path, tensor), "replaceTensor: no parameter or buffer at '\(path)'")
    }

    func setTensor(at path: String, _ tensor: Tensor) -> Bool {
        let components = path.split(separator: ".").map(String.init)
        guard let name = components.last,
              let owner = module(at: components.dropLast().joined(separator: ".")) else { return false }
        if let existing = owner.parameterTable[name] {
            let replacement = tensor.isLeaf ? tensor : tensor.detached()
            owner.parameterTable[name] = replacement.requiringGradient(existing.requiresGradient)
            return true
        }
        if owner.bufferTable[name] != nil {
            owner.bufferTable[name] = tensor.isLeaf ? tensor : tensor.detached()
            return true
        }
        return false
    }
}

/// A module that maps one tensor to one tensor.
public protocol UnaryLayer: AnyObject {
    func callAsFunction(_ input: Tensor) -> Tensor
}

func join(_ prefix: String, _ name: String) -> String {
    prefix.isEmpty ? name : prefix + "." + name
}

/// What a user can get wrong with adapters: configurations, files and targets. Each case names
/// the file, key or module and what was expected.
public enum AdapterError: Error, CustomStringConvertible, Equatable {
    /// A configuration field has the wrong type or an invalid value.
    case invalidField(file: String, key: String, expected: String)
    /// `peft_type` names a method SwiftPEFT does not implement.
    case unsupportedMethod(file: String, peftType: String)
    /// A configuration asks for an option SwiftPEFT does not implement (rather than silently ignore it).
    case unsupportedOption(key: String, value: String)
    /// No module of the model matched the configuration's targets.
    case noTargetFound(targets: String, examplePaths: [String])
    /// A targeted module has a type the method cannot adapt.
    case unsupportedModule(path: String, type: String)
    /// The adapter's tensors do not fit the model: keys (full PEFT keys) missing from the file or not used.
    case keysMismatch(file: String, missing: [String], unexpected: [String])
    /// An adapter tensor has the wrong shape for its module.
    case shapeMismatch(module: String, key: String, expected: [Int], found: [Int])
    /// No adapter of that name exists.
    case unknownAdapter(name: String, known: [String])
    /// An adapter of that name exists already.
    case duplicateAdapter(name: String)
    /// Adapters cannot be combined as asked.
    case incompatibleAdapters(reason: String)

    public var description: String {
        switch self {
        case let .invalidField(file, key, expected): "\(file): field '\(key)' should be \(expected)"
        case let .unsupportedMethod(file, peftType): "\(file): peft_type '\(peftType)' is not supported"
        case let .unsupportedOption(key, value): "option \(key) = \(value) is not supported by SwiftPEFT"
        case let .noTargetFound(targets, paths):
            "no module matches target_modules \(targets); module paths look like \(paths.prefix(8).joined(separator: ", "))"
        case let .unsupportedModule(path, type): "module '\(path)' of type \(type) cannot be adapted (Linear, Embedding and Conv2d can)"
        case let .keysMismatch(file, missing, unexpected):
            "\(file) does not fit the model: missing keys \(missing), unexpected keys \(unexpected)"
        case let .shapeMismatch(module, key, expected, found):
            "module '\(module)': '\(key)' should have shape \(expected) for this model, the adapter has \(found)"
        case let .unknownAdapter(name, known): "no adapter named '\(name)'; adapters are \(known)"
        case let .duplicateAdapter(name): "an adapter named '\(name)' exists already"
        case let .incompatibleAdapters(reason): "cannot combine adapters: \(reason)"
        }
    }
}

import TensorCore

/// Why a state dict does not fit a model.
public enum StateDictError: Error, CustomStringConvertible, Equatable {
    case keysMismatch(missing: [String], unexpected: [String])
    case shapeMismatch(key: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case let .keysMismatch(missing, unexpected):
            "state dict does not fit the model: missing keys \(missing), unexpected keys \(unexpected)"
        case let .shapeMismatch(key, expected, found):
            "state dict key '\(key)': the model expects shape \(expected), the file has \(found)"
        }
    }
}

extension Module {
    /// Parameters and buffers by dotted path.
    public func stateDict() -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (path, tensor) in namedParameters() + namedBuffers() { result[path] = tensor }
        return result
    }

    /// Loads tensors by dotted path. Tensors keep their storage dtype (a float16 file stays
    /// float16 in memory) and are not copied. With `strict`, every model key must be present
    /// and every file key used; otherwise unmatched keys are returned.
    ///
    /// ```swift
    /// let unused = try model.load(stateDict: try SafetensorsFile(url: url).tensors(), strict: false)
    /// ```
    @discardableResult
    public func load(stateDict: [String: Tensor], strict: Bool = true) throws -> (missing: [String], unexpected: [String]) {
        let expected = Dictionary(uniqueKeysWithValues: (namedParameters() + namedBuffers()).map { ($0.path, $0.tensor) })
        let missing = expected.keys.filter { stateDict[$0] == nil }.sorted()
        let unexpected = stateDict.keys.filter { expected[$0] == nil }.sorted()
        if strict && (!missing.isEmpty || !unexpected.isEmpty) {
            throw StateDictError.keysMismatch(missing: missing, unexpected: unexpected)
        }
        for (key, tensor) in stateDict {
            guard let current = expected[key] else { continue }
            guard current.shape == tensor.shape else {
                throw StateDictError.shapeMismatch(key: key, expected: current.shape, found: tensor.shape)
            }
        }
        for (key, tensor) in stateDict where expected[key] != nil {
            _ = setTensor(at: key, tensor)
        }
        return (missing, unexpected)
    }
}

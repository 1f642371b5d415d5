/// The values the pickle subset of `torch.save` builds. Containers live in the machine's
/// arena and values refer to them by index, so that deep or cyclic structures (a hostile
/// pickle can build either) never recurse when they are read or freed.
enum PickleValue: Equatable {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer wider than 64 bits, as its little-endian two's-complement bytes.
    case bigInteger([UInt8])
    case float(Double)
    case string(String)
    case bytes(count: Int)
    case global(PickleGlobal)
    case tuple(Int)
    case list(Int)
    case dict(Int)
    case storage(Int)
    case tensor(Int)

    var kind: String {
        switch self {
        case .none: "None"
        case .bool: "a bool"
        case .int, .bigInteger: "an int"
        case .float: "a float"
        case .string: "a string"
        case .bytes: "bytes"
        case let .global(global): "'\(global)'"
        case .tuple: "a tuple"
        case .list: "a list"
        case .dict: "a dict"
        case .storage: "a storage"
        case .tensor: "a tensor"
        }
    }
}

/// The only globals a checkpoint may name. Nothing is imported or called: each is a marker
/// the machine interprets itself.
enum PickleGlobal: Equatable, CustomStringConvertible {
    case orderedDict
    case rebuildTensor
    case rebuildParameter
    case rebuildParameterWithState
    case storageClass(PyTorchElementType)
    case dtype(PyTorchElementType)

    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): self = .rebuildParameterWithState
        case ("torch", _):
            if let type = PyTorchElementType(storageClass: name) {
                self = .storageClass(type)
            } else if let type = PyTorchElementType(dtypeName: name) {
                self = .dtype(type)
            } else {
                return nil
            }
        default: return nil
        }
    }

    var description: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensor: "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: "torch._utils._rebuild_parameter_with_state"
        case let .storageClass(type): "torch storage of \(type)"
        case let .dtype(type): "torch.\(type)"
        }
    }
}

/// A storage a tensor refers to: its element type, its key (the archive file name or legacy
/// id) and its element count.
struct StorageReference: Equatable {
    let type: PyTorchElementType
    let key: String
    let count: Int
}

/// A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage.
struct TensorReference: Equatable {
    let storage: Int
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

/// An insertion-ordered dict; a key set twice keeps its first position and the last value.
struct PickleDict {
    private(set) var keys: [PickleValue] = []
    private(set) var values: [PickleValue] = []
    private var positions: [String: Int] = [:]

    mutating func set(_ key: PickleValue, _ value: PickleValue) {
        if case let .string(text) = key, let position = positions[text] {
            values[position] = value
            return
        }
        if case let .string(text) = key { positions[text] = keys.count }
        keys.append(key)
        values.append(value)
    }

    subscript(key: String) -> PickleValue? {
        positions[key].map { values[$0] }
    }
}

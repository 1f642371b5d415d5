import TensorCore

/// The element types of torch storages that a state dict can hold.
///
/// float32, float16 and bfloat16 map onto a `DType` and load without a copy; the others are
/// converted to float32 (integers above 2^24 in magnitude round; bool becomes 0 or 1).
///
/// ```swift
/// PyTorchElementType(storageClass: "HalfStorage") // .float16
/// PyTorchElementType.int64.byteSize                // 8
/// ```
public enum PyTorchElementType: String, Sendable, CaseIterable {
    case float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8, bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// The tensor storage type this maps onto without conversion, or nil when converted to float32.
    public var storageType: DType? {
        switch self {
        case .float32: .float32
        case .float16: .float16
        case .bfloat16: .bfloat16
        default: nil
        }
    }

    /// The type of a legacy typed-storage class (`torch.FloatStorage` -> "FloatStorage").
    init?(storageClass name: String) {
        switch name {
        case "DoubleStorage": self = .float64
        case "FloatStorage": self = .float32
        case "HalfStorage": self = .float16
        case "BFloat16Storage": self = .bfloat16
        case "LongStorage": self = .int64
        case "IntStorage": self = .int32
        case "ShortStorage": self = .int16
        case "CharStorage": self = .int8
        case "ByteStorage": self = .uint8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }

    /// The type a `torch` dtype attribute names (`torch.float32`, `torch.half`, ...).
    init?(dtypeName name: String) {
        switch name {
        case "float64", "double": self = .float64
        case "float32", "float": self = .float32
        case "float16", "half": self = .float16
        case "bfloat16": self = .bfloat16
        case "int64", "long": self = .int64
        case "int32", "int": self = .int32
        case "int16", "short": self = .int16
        case "int8": self = .int8
        case "uint8": self = .uint8
        case "bool": self = .bool
        default: return nil
        }
    }

    /// The same element type as safetensors names it; both formats store little-endian values.
    var safetensorsType: SafetensorsDType {
        switch self {
        case .float64: .float64
        case .float32: .float32
        case .float16: .float16
        case .bfloat16: .bfloat16
        case .int64: .int64
        case .int32: .int32
        case .int16: .int16
        case .int8: .int8
        case .uint8: .uint8
        case .bool: .bool
        }
    }

    /// Converts `count` little-endian elements at `source` (any alignment) to float32.
    func widen(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        safetensorsType.widen(source, count: count, into: destination)
    }
}

/// The type ids of GGUF metadata values.
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64

    /// The fewest bytes one value of this type takes in a file (used to reject absurd counts).
    var minimumSize: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .string: 8
        case .array: 12
        }
    }
}

/// One metadata value of a GGUF file.
///
/// Integers keep their stored width; the accessors convert where the value fits.
///
/// ```swift
/// file.metadata["general.architecture"]?.string        // "llama"
/// file.metadata["llama.block_count"]?.integer          // 30
/// file.metadata["tokenizer.ggml.tokens"]?.strings?.count // 49152
/// ```
public enum GGUFValue: Equatable, Sendable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case uint64(UInt64)
    case int64(Int64)
    case float32(Float)
    case float64(Double)
    case bool(Bool)
    case string(String)
    /// The element type is kept so that empty arrays still say what they hold.
    case array(elementType: GGUFValueType, values: [GGUFValue])

    /// An integer value of any width as `Int`, or nil (not an integer, or a `uint64` above `Int.max`).
    public var integer: Int? {
        switch self {
        case let .uint8(value): Int(value)
        case let .int8(value): Int(value)
        case let .uint16(value): Int(value)
        case let .int16(value): Int(value)
        case let .uint32(value): Int(value)
        case let .int32(value): Int(value)
        case let .uint64(value): Int(exactly: value)
        case let .int64(value): Int(value)
        default: nil
        }
    }

    /// A floating-point or integer value as `Double`, or nil.
    public var double: Double? {
        switch self {
        case let .float32(value): Double(value)
        case let .float64(value): value
        default: integer.map(Double.init)
        }
    }

    public var bool: Bool? {
        if case let .bool(value) = self { value } else { nil }
    }

    public var string: String? {
        if case let .string(value) = self { value } else { nil }
    }

    /// The elements of an array value, or nil.
    public var array: [GGUFValue]? {
        if case let .array(_, values) = self { values } else { nil }
    }

    /// An array of strings, or nil when this is not one.
    public var strings: [String]? {
        guard case let .array(elementType, values) = self, elementType == .string else { return nil }
        return values.map { $0.string ?? "" }
    }

    /// An array of integers as `Int`, or nil when this is not one (or an element does not fit).
    public var integers: [Int]? {
        guard let values = array else { return nil }
        var result: [Int] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let integer = value.integer else { return nil }
            result.append(integer)
        }
        return result
    }

    /// An array of numbers as `Float`, or nil.
    public var floats: [Float]? {
        guard let values = array else { return nil }
        var result: [Float] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let number = value.double else { return nil }
            result.append(Float(number))
        }
        return result
    }
}

extension GGUFCursor {
    /// Deeper nesting than this is refused; real files use at most one level.
    static let maximumArrayDepth = 8

    /// Reads one value of `type` for metadata `key`.
    mutating func readValue(_ type: GGUFValueType, key: String, depth: Int = 0) throws -> GGUFValue {
        let what = "the value of '\(key)'"
        switch type {
        case .uint8: return .uint8(try read(UInt8.self, what))
        case .int8: return .int8(try read(Int8.self, what))
        case .uint16: return .uint16(try read(UInt16.self, what))
        case .int16: return .int16(try read(Int16.self, what))
        case .uint32: return .uint32(try read(UInt32.self, what))
        case .int32: return .int32(try read(Int32.self, what))
        case .uint64: return .uint64(try read(UInt64.self, what))
        case .int64: return .int64(try read(Int64.self, what))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, what)))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, what)))
        case .bool: return .bool(try read(UInt8.self, what) != 0)
        case .string: return .string(try readString(what))
        case .array:
            guard depth < Self.maximumArrayDepth else {
                throw GGUFError.nestingTooDeep(file: file, key: key, depth: Self.maximumArrayDepth)
            }
            let rawType = try read(UInt32.self, "the element type of '\(key)'")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.unknownValueType(file: file, key: key, type: rawType)
            }
            let rawCount = try read(UInt64.self, "the element count of '\(key)'")
            let count = try checkCount(rawCount, minimumSize: elementType.minimumSize, "an element count for '\(key)'")
            var values: [GGUFValue] = []
            values.reserveCapacity(count)
            for _ in 0..<count {
                values.append(try readValue(elementType, key: key, depth: depth + 1))
            }
            return .array(elementType: elementType, values: values)
        }
    }
}

/// GGUF metadata feeds the byte-level BPE tokenizer directly (`tokenizer.ggml.*` keys).
extension GGUFValue: TokenizerMetadataValue {}

import TensorCore

/// The element types a safetensors file can declare, spelled as the format spells them.
///
/// `float32`, `float16` and `bfloat16` map onto a `DType` and load without a copy; every other
/// type is converted to float32 when its tensor is read.
///
/// ```swift
/// SafetensorsDType(rawValue: "BF16")?.storageType // .bfloat16
/// SafetensorsDType.int64.byteSize                  // 8
/// ```
public enum SafetensorsDType: String, CaseIterable, Sendable {
    case float64 = "F64"
    case float32 = "F32"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case float8E4M3 = "F8_E4M3"
    case float8E5M2 = "F8_E5M2"
    case int64 = "I64"
    case int32 = "I32"
    case int16 = "I16"
    case int8 = "I8"
    case uint64 = "U64"
    case uint32 = "U32"
    case uint16 = "U16"
    case uint8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64, .uint64: 8
        case .float32, .int32, .uint32: 4
        case .float16, .bfloat16, .int16, .uint16: 2
        case .float8E4M3, .float8E5M2, .int8, .uint8, .bool: 1
        }
    }

    /// The tensor storage type this dtype maps onto without conversion, or nil when its values
    /// are converted to float32 on access.
    public var storageType: DType? {
        switch self {
        case .float32: .float32
        case .float16: .float16
        case .bfloat16: .bfloat16
        default: nil
        }
    }

    /// The safetensors spelling of a tensor storage type.
    public init(_ storageType: DType) {
        switch storageType {
        case .float32: self = .float32
        case .float16: self = .float16
        case .bfloat16: self = .bfloat16
        }
    }

    /// Converts `count` little-endian elements at `source` (any alignment) to float32.
    /// Integers above 2^24 in magnitude round to the nearest representable float.
    func widen(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        func each<Bits: FixedWidthInteger>(_: Bits.Type, _ convert: (Bits) -> Float) {
            for index in 0..<count {
                let bits = source.loadUnaligned(fromByteOffset: index * MemoryLayout<Bits>.size, as: Bits.self)
                destination[index] = convert(Bits(littleEndian: bits))
            }
        }
        switch self {
        case .float64: each(UInt64.self) { Float(Double(bitPattern: $0)) }
        case .float32: each(UInt32.self) { Float(bitPattern: $0) }
        case .float16: each(UInt16.self) { Float(halfBits: $0) }
        case .bfloat16: each(UInt16.self) { Float(bitPattern: UInt32($0) << 16) }
        case .float8E4M3: each(UInt8.self) { Float(float8E4M3Bits: $0) }
        case .float8E5M2: each(UInt8.self) { Float(halfBits: UInt16($0) << 8) }
        case .int64: each(Int64.self) { Float($0) }
        case .int32: each(Int32.self) { Float($0) }
        case .int16: each(Int16.self) { Float($0) }
        case .int8: each(Int8.self) { Float($0) }
        case .uint64: each(UInt64.self) { Float($0) }
        case .uint32: each(UInt32.self) { Float($0) }
        case .uint16: each(UInt16.self) { Float($0) }
        case .uint8: each(UInt8.self) { Float($0) }
        case .bool: each(UInt8.self) { $0 == 0 ? 0 : 1 }
        }
    }
}

extension Float {
    /// Decodes IEEE 754 half precision bits (1 sign, 5 exponent, 10 mantissa bits).
    init(halfBits bits: UInt16) {
        let sign: Float = bits & 0x8000 == 0 ? 1 : -1
        let exponent = Int((bits >> 10) & 0x1f)
        let mantissa = Float(bits & 0x3ff)
        switch exponent {
        case 0: self = sign * mantissa * 0x1p-24
        case 0x1f: self = mantissa == 0 ? sign * .infinity : .nan
        default: self = sign * (1 + mantissa / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }

    /// Decodes float8 E4M3 "fn" bits (1 sign, 4 exponent, 3 mantissa bits, bias 7): no
    /// infinities, and only S.1111.111 is NaN, as in PyTorch's `float8_e4m3fn`.
    init(float8E4M3Bits bits: UInt8) {
        let sign: Float = bits & 0x80 == 0 ? 1 : -1
        let exponent = Int((bits >> 3) & 0x0f)
        let mantissa = Float(bits & 0x07)
        if exponent == 0x0f && bits & 0x07 == 0x07 {
            self = .nan
        } else if exponent == 0 {
            self = sign * mantissa * 0x1p-9
        } else {
            self = sign * (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
        }
    }
}

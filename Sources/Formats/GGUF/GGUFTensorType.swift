import TensorCore

/// The element types (ggml types) a GGUF tensor can have, with ggml's type ids.
///
/// Quantized types store blocks of `blockSize` elements in `blockByteCount` bytes; a tensor's
/// first (fastest) dimension must be a whole number of blocks.
///
/// ```swift
/// GGUFTensorType.q4_1.blockSize       // 32
/// GGUFTensorType.q4_1.blockByteCount  // 20: f16 scale, f16 minimum, 16 bytes of 4-bit values
/// ```
public enum GGUFTensorType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1
    case q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_XXS = 16, iq2_XS = 17, iq3_XXS = 18, iq1_S = 19, iq4_NL = 20, iq3_S = 21, iq2_S = 22, iq4_XS = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28
    case iq1_M = 29, bf16 = 30, tq1_0 = 34, tq2_0 = 35, mxfp4 = 39

    /// Elements per block (1 for plain types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .f64, .i8, .i16, .i32, .i64: 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_NL, .mxfp4: 32
        default: 256
        }
    }

    /// Bytes per block (bytes per element for plain types).
    public var blockByteCount: Int {
        switch self {
        case .f32, .i32: 4
        case .f16, .bf16, .i16: 2
        case .f64, .i64: 8
        case .i8: 1
        case .q4_0, .iq4_NL: 18
        case .q4_1: 20
        case .q5_0: 22
        case .q5_1: 24
        case .q8_0: 34
        case .q8_1: 40
        case .q2_K: 84
        case .q3_K: 110
        case .q4_K: 144
        case .q5_K: 176
        case .q6_K: 210
        case .q8_K: 292
        case .iq2_XXS: 66
        case .iq2_XS: 74
        case .iq3_XXS: 98
        case .iq1_S: 50
        case .iq3_S: 110
        case .iq2_S: 82
        case .iq4_XS: 136
        case .iq1_M: 56
        case .tq1_0: 54
        case .tq2_0: 66
        case .mxfp4: 17
        }
    }

    /// The name ggml gives the type ("Q4_1", "F32", ...).
    public var name: String {
        switch self {
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K: "Q\(String(describing: self).dropFirst().dropLast(2))_K"
        default: String(describing: self).uppercased()
        }
    }

    /// The storage type a tensor of this type loads into without conversion, or nil when it
    /// is converted (dequantized) to float32.
    public var storageType: DType? {
        switch self {
        case .f32: .float32
        case .f16: .float16
        case .bf16: .bfloat16
        default: nil
        }
    }

    /// Whether `GGUFFile.tensor(_:)` can convert this type to float32.
    public var isConvertible: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64, .i8, .i16, .i32, .i64,
             .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K:
            true
        default:
            false
        }
    }
}

import CKernels

/// The element type a tensor's storage holds. Compute is always float32; narrower types
/// hold frozen weights as model files deliver them and are widened inside kernels.
public enum DType: String, Sendable, CaseIterable, Codable {
    case float32
    case float16
    case bfloat16

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32: 4
        case .float16, .bfloat16: 2
        }
    }

    var kernelType: peft_dtype {
        switch self {
        case .float32: PEFT_DTYPE_F32
        case .float16: PEFT_DTYPE_F16
        case .bfloat16: PEFT_DTYPE_BF16
        }
    }
}

/// Everything that can be wrong with a safetensors file, each case naming the file and, where
/// one is involved, the tensor. Reading never crashes on a malformed file; it throws one of these.
///
/// ```swift
/// do {
///     let file = try SafetensorsFile(url: url)
///     let weight = try file.tensor("classifier.weight")
/// } catch let error as SafetensorsError {
///     print(error) // "model.safetensors: no tensor named 'classifier.weight'"
/// }
/// ```
public enum SafetensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened, measured or mapped.
    case unreadable(file: String, reason: String)
    /// The file is shorter than the 8-byte header length that starts every safetensors file.
    case fileTooShort(file: String, byteCount: Int)
    /// The header length in the first 8 bytes runs past the end of the file.
    case headerTooLarge(file: String, headerLength: UInt64, fileLength: Int)
    /// The header is not UTF-8, not JSON, or not a JSON object.
    case malformedHeader(file: String, reason: String)
    /// `__metadata__` is not an object of strings.
    case invalidMetadata(file: String, reason: String)
    /// A tensor entry lacks `dtype`, `shape` or `data_offsets`, or one has the wrong type.
    case invalidEntry(file: String, tensor: String, reason: String)
    /// A dtype string this reader does not know.
    case unknownDType(file: String, tensor: String, dtype: String)
    /// A shape with a negative dimension, or whose element count overflows.
    case invalidShape(file: String, tensor: String, shape: [Int])
    /// `data_offsets` is negative, decreasing, or runs past the data section.
    case invalidOffsets(file: String, tensor: String, begin: Int, end: Int, dataLength: Int)
    /// The byte range does not hold exactly dtype size x element count bytes.
    case byteLengthMismatch(file: String, tensor: String, expected: Int, actual: Int)
    /// Two tensors claim overlapping bytes.
    case overlappingTensors(file: String, first: String, second: String)
    /// A tensor name that is not in the file was asked for.
    case missingTensor(file: String, tensor: String)
    /// Writing failed (a reserved or empty tensor name, or an I/O error).
    case unwritable(file: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            "\(file): cannot read safetensors file: \(reason)"
        case let .fileTooShort(file, byteCount):
            "\(file): \(byteCount) bytes is too short for a safetensors file (needs at least 8)"
        case let .headerTooLarge(file, headerLength, fileLength):
            "\(file): header length \(headerLength) runs past the end of the \(fileLength)-byte file"
        case let .malformedHeader(file, reason):
            "\(file): malformed safetensors header: \(reason)"
        case let .invalidMetadata(file, reason):
            "\(file): '__metadata__' should map strings to strings: \(reason)"
        case let .invalidEntry(file, tensor, reason):
            "\(file): tensor '\(tensor)': \(reason)"
        case let .unknownDType(file, tensor, dtype):
            "\(file): tensor '\(tensor)': unknown dtype '\(dtype)'"
        case let .invalidShape(file, tensor, shape):
            "\(file): tensor '\(tensor)': invalid shape \(shape) (negative or too many elements)"
        case let .invalidOffsets(file, tensor, begin, end, dataLength):
            "\(file): tensor '\(tensor)': data_offsets [\(begin), \(end)] outside the \(dataLength)-byte data section or decreasing"
        case let .byteLengthMismatch(file, tensor, expected, actual):
            "\(file): tensor '\(tensor)': holds \(actual) bytes, dtype and shape need \(expected)"
        case let .overlappingTensors(file, first, second):
            "\(file): tensors '\(first)' and '\(second)' overlap"
        case let .missingTensor(file, tensor):
            "\(file): no tensor named '\(tensor)'"
        case let .unwritable(file, reason):
            "\(file): cannot write safetensors file: \(reason)"
        }
    }
}

/// Everything that can be wrong with a GGUF file, each case naming the file and, where one is
/// involved, the metadata key or tensor. Reading never crashes on a malformed file; it throws
/// one of these.
///
/// ```swift
/// do {
///     let file = try GGUFFile(url: url)
///     let embedding = try file.tensor("token_embd.weight")
/// } catch let error as GGUFError {
///     print(error) // "model.gguf: no tensor named 'token_embd.weight'"
/// }
/// ```
public enum GGUFError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened, measured or mapped.
    case unreadable(file: String, reason: String)
    /// The file does not start with the four bytes `GGUF`.
    case badMagic(file: String, found: [UInt8])
    /// A format version other than 2 or 3 (version 1 used 32-bit counts and is not read).
    case unsupportedVersion(file: String, version: UInt32)
    /// The file ends before a field that the header promises; `reading` says which.
    case truncated(file: String, offset: Int, reading: String)
    /// A count or length that cannot fit in the bytes that remain (a corrupt or hostile header).
    case absurdCount(file: String, what: String, count: UInt64, remainingBytes: Int)
    /// A metadata value type id outside the format's 13 types.
    case unknownValueType(file: String, key: String, type: UInt32)
    /// Arrays nested deeper than any real file needs.
    case nestingTooDeep(file: String, key: String, depth: Int)
    /// The same metadata key appears twice.
    case duplicateKey(file: String, key: String)
    /// `general.alignment` is not a positive power-of-two integer.
    case invalidAlignment(file: String, reason: String)
    /// A tensor with too many dimensions, an element count that overflows, or a first
    /// dimension that is not a whole number of quantization blocks.
    case invalidShape(file: String, tensor: String, dimensions: [UInt64], reason: String)
    /// A tensor type id that this reader does not know.
    case unknownTensorType(file: String, tensor: String, type: UInt32)
    /// A known tensor type this reader cannot convert to float32 (its raw bytes still load).
    case unsupportedTensorType(file: String, tensor: String, type: String)
    /// The same tensor name appears twice.
    case duplicateTensor(file: String, tensor: String)
    /// A tensor offset that is not a multiple of the file's alignment.
    case misalignedTensor(file: String, tensor: String, offset: UInt64, alignment: Int)
    /// A tensor whose bytes run past the end of the data section.
    case tensorOutOfRange(file: String, tensor: String, offset: UInt64, byteCount: Int, dataLength: Int)
    /// A tensor name that is not in the file was asked for.
    case missingTensor(file: String, tensor: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            "\(file): cannot read GGUF file: \(reason)"
        case let .badMagic(file, found):
            "\(file): not a GGUF file (starts with bytes \(found.map { String($0, radix: 16) }), expected 'GGUF')"
        case let .unsupportedVersion(file, version):
            "\(file): GGUF version \(version) is not supported (only 2 and 3)"
                + (version.byteSwapped == 2 || version.byteSwapped == 3 ? "; this looks like a big-endian file" : "")
        case let .truncated(file, offset, reading):
            "\(file): file ends at byte \(offset) while reading \(reading)"
        case let .absurdCount(file, what, count, remainingBytes):
            "\(file): \(what) of \(count) cannot fit in the \(remainingBytes) bytes that remain"
        case let .unknownValueType(file, key, type):
            "\(file): metadata '\(key)': unknown value type \(type)"
        case let .nestingTooDeep(file, key, depth):
            "\(file): metadata '\(key)': arrays nested more than \(depth) deep"
        case let .duplicateKey(file, key):
            "\(file): metadata key '\(key)' appears twice"
        case let .invalidAlignment(file, reason):
            "\(file): 'general.alignment' \(reason)"
        case let .invalidShape(file, tensor, dimensions, reason):
            "\(file): tensor '\(tensor)': invalid dimensions \(dimensions): \(reason)"
        case let .unknownTensorType(file, tensor, type):
            "\(file): tensor '\(tensor)': unknown tensor type \(type)"
        case let .unsupportedTensorType(file, tensor, type):
            "\(file): tensor '\(tensor)': type \(type) cannot be converted to float32 (use rawBytes)"
        case let .duplicateTensor(file, tensor):
            "\(file): tensor '\(tensor)' appears twice"
        case let .misalignedTensor(file, tensor, offset, alignment):
            "\(file): tensor '\(tensor)': offset \(offset) is not a multiple of the alignment \(alignment)"
        case let .tensorOutOfRange(file, tensor, offset, byteCount, dataLength):
            "\(file): tensor '\(tensor)': \(byteCount) bytes at offset \(offset) run past the \(dataLength)-byte data section"
        case let .missingTensor(file, tensor):
            "\(file): no tensor named '\(tensor)'"
        }
    }
}

/// Everything that can be wrong with a PyTorch checkpoint (`torch.save` output, zip or legacy
/// format), each case naming the file and, where one is involved, the entry, tensor or global.
/// Reading never crashes on a malformed file and never runs code from it; it throws one of these.
///
/// ```swift
/// do {
///     let weights = try PyTorchStateDict(url: url)
/// } catch let error as PyTorchError {
///     print(error) // "model.pth: pickle calls 'os.system', which is not allowed ..."
/// }
/// ```
public enum PyTorchError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened, measured or mapped.
    case unreadable(file: String, reason: String)
    /// Neither a zip archive nor a legacy (pickle-stream) checkpoint.
    case notAPyTorchFile(file: String, reason: String)
    /// The file ends inside a structure; `reading` says which.
    case truncated(file: String, reading: String)
    /// The zip's end record or central directory is missing or inconsistent.
    case badZip(file: String, reason: String)
    /// A zip entry is compressed; `torch.save` stores entries uncompressed.
    case compressedEntry(file: String, entry: String, method: Int)
    /// A required archive member (`data.pkl`) is missing.
    case missingEntry(file: String, entry: String)
    /// The pickle holds an opcode outside the subset `torch.save` emits.
    case unknownOpcode(file: String, opcode: UInt8, offset: Int)
    /// The pickle names a global outside the allow-list; nothing is ever imported or called.
    case disallowedGlobal(file: String, name: String)
    /// The pickle is inconsistent (stack underflow, a bad memo index, wrong argument types).
    case malformedPickle(file: String, reason: String)
    /// A tensor's storage has no data in the file.
    case missingStorage(file: String, key: String)
    /// A tensor view (offset, shape, strides) reaches outside its storage, or the storage's
    /// bytes are shorter than its element count needs.
    case storageOutOfRange(file: String, tensor: String, reason: String)
    /// A big-endian checkpoint (`byteorder` says "big").
    case bigEndian(file: String)
    /// No dictionary of tensors found: neither the top level nor a wrapper such as
    /// `{"state_dict": ...}` or `{"model": ...}`.
    case notAStateDict(file: String, reason: String)
    /// A tensor name that is not in the state dict was asked for.
    case missingTensor(file: String, tensor: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): "\(file): cannot read PyTorch file: \(reason)"
        case let .notAPyTorchFile(file, reason): "\(file): not a PyTorch checkpoint: \(reason)"
        case let .truncated(file, reading): "\(file): file ends while reading \(reading)"
        case let .badZip(file, reason): "\(file): malformed zip archive: \(reason)"
        case let .compressedEntry(file, entry, method):
            "\(file): zip entry '\(entry)' is compressed (method \(method)); torch.save stores entries uncompressed"
        case let .missingEntry(file, entry): "\(file): archive has no '\(entry)'"
        case let .unknownOpcode(file, opcode, offset):
            "\(file): pickle opcode 0x\(String(opcode, radix: 16)) at byte \(offset) is not one torch.save emits"
        case let .disallowedGlobal(file, name):
            "\(file): pickle refers to '\(name)', which is not allowed (only tensors, storages and OrderedDict are read; no code runs)"
        case let .malformedPickle(file, reason): "\(file): malformed pickle: \(reason)"
        case let .missingStorage(file, key): "\(file): no data for storage '\(key)'"
        case let .storageOutOfRange(file, tensor, reason): "\(file): tensor '\(tensor)': \(reason)"
        case let .bigEndian(file): "\(file): big-endian checkpoints are not supported"
        case let .notAStateDict(file, reason): "\(file): no state dict found: \(reason)"
        case let .missingTensor(file, tensor): "\(file): no tensor named '\(tensor)'"
        }
    }
}

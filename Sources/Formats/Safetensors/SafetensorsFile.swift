import Foundation
import TensorCore

/// A safetensors file opened lazily: the file is memory-mapped and only its header is parsed,
/// so opening a large model takes milliseconds and tensors are read on access.
///
/// float32, float16 and bfloat16 tensors come back without a copy: their storage borrows the
/// mapped bytes and keeps the mapping alive, so a tensor stays valid after this object is gone.
/// Every other dtype of the format (F64, I64 ... BOOL, F8_E4M3, F8_E5M2) is converted to a
/// float32 tensor on access; integers above 2^24 in magnitude then lose precision, and BOOL
/// becomes 0 or 1.
///
/// Alignment: the data section starts 8-byte aligned (the header is padded to a multiple of
/// 8 and the mapping is page-aligned), and writers (ours and Python's) place wider dtypes
/// first, so tensors land aligned to their element size. A tensor that does not (a file from
/// an unusual writer) is copied into aligned storage instead of borrowed.
///
/// ```swift
/// let file = try SafetensorsFile(url: folder.appendingPathComponent("model.safetensors"))
/// print(file.names.count, file.metadata["format"] ?? "-")
/// let query = try file.tensor("encoder.layer.0.attention.self.query.weight") // [384, 384]
/// ```
public final class SafetensorsFile: Sendable {
    /// Where a tensor lives in the file and how it is stored.
    public struct TensorInfo: Equatable, Sendable {
        public let dtype: SafetensorsDType
        public let shape: [Int]
        /// The tensor's bytes as offsets from the start of the file.
        public let byteRange: Range<Int>
    }

    public let url: URL
    /// The tensor names, sorted.
    public let names: [String]
    /// The `__metadata__` string map (empty when the file has none).
    public let metadata: [String: String]
    private let entries: [String: TensorInfo]
    private let mapping: MappedFile

    /// Maps the file and validates its header; throws `SafetensorsError` for a malformed file.
    public init(url: URL) throws {
        self.url = url
        mapping = try MappedFile(path: url.path, minimumCount: 8)
        let header = try SafetensorsHeader(bytes: mapping.bytes, count: mapping.count, file: url.path)
        entries = header.entries
        metadata = header.metadata
        names = header.entries.keys.sorted()
    }

    /// The dtype, shape and byte range of the tensor `name`, or nil when the file has none.
    ///
    /// ```swift
    /// file.info("embeddings.word_embeddings.weight")?.shape // [30522, 384]
    /// ```
    public func info(_ name: String) -> TensorInfo? {
        entries[name]
    }

    /// The tensor `name`: borrowed from the mapping for F32/F16/BF16 (aligned), otherwise a
    /// float32 copy. Throws `SafetensorsError.missingTensor` for an unknown name.
    ///
    /// ```swift
    /// let positions = try file.tensor("embeddings.position_ids") // I64 [1, 512] -> float32
    /// ```
    public func tensor(_ name: String) throws -> Tensor {
        guard let info = entries[name] else {
            throw SafetensorsError.missingTensor(file: url.path, tensor: name)
        }
        let count = info.shape.reduce(1, *)
        let source = mapping.bytes + info.byteRange.lowerBound
        let storage: Storage
        if let type = info.dtype.storageType {
            if Int(bitPattern: source) % type.byteSize == 0 {
                storage = Storage(borrowing: source, count: count, dtype: type, owner: mapping)
            } else {
                storage = Storage(count: count, dtype: type)
                storage.bytes.copyMemory(from: source, byteCount: info.byteRange.count)
            }
        } else {
            storage = Storage(count: count)
            info.dtype.widen(source, count: count, into: storage.floats)
        }
        return Tensor(storage: storage, shape: info.shape)
    }

    /// Every tensor by name, a state dict. F32/F16/BF16 tensors still borrow the mapping, so
    /// this costs little memory until their pages are touched.
    ///
    /// ```swift
    /// let weights = try SafetensorsFile(url: url).tensors()
    /// ```
    public func tensors() throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        result.reserveCapacity(names.count)
        for name in names { result[name] = try tensor(name) }
        return result
    }
}

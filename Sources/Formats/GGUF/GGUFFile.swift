import Foundation
import TensorCore

/// A GGUF file (versions 2 and 3) opened lazily: the file is memory-mapped, the header
/// (metadata and tensor table) is parsed and validated, and tensors are read on access.
///
/// Shapes are reported row-major, as PyTorch writes them: GGUF lists dimensions fastest first
/// (`ne[0]`), so a `[576, 49152]` GGUF embedding is `[49152, 576]` here. F32, F16 and BF16
/// tensors come back without a copy (their storage borrows the mapping and keeps it alive);
/// quantized tensors are dequantized to float32 exactly as ggml's reference code does, in
/// parallel over blocks.
///
/// ```swift
/// let file = try GGUFFile(url: folder.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf"))
/// print(file.metadata["general.architecture"]?.string ?? "?") // "llama"
/// print(file.info("token_embd.weight")!.shape)                // [49152, 576]
/// let queries = try file.tensor("blk.0.attn_q.weight")        // Q4_1 -> float32 [576, 576]
/// ```
public final class GGUFFile: Sendable {
    /// Where a tensor lives in the file and how it is stored.
    public struct TensorInfo: Equatable, Sendable {
        public let type: GGUFTensorType
        /// Row-major (PyTorch order): the reverse of the dimensions GGUF stores.
        public let shape: [Int]
        /// The tensor's bytes as offsets from the start of the file.
        public let byteRange: Range<Int>
    }

    public let url: URL
    /// The format version (2 or 3).
    public let version: Int
    /// Every metadata value by key.
    public let metadata: [String: GGUFValue]
    /// The metadata keys in file order.
    public let metadataKeys: [String]
    /// The tensor names in file order.
    public let tensorNames: [String]
    /// The alignment of tensor data (`general.alignment`, 32 when absent).
    public let alignment: Int
    private let entries: [String: TensorInfo]
    private let mapping: MappedFile

    /// Maps the file and validates its header; throws `GGUFError` for a malformed file.
    public init(url: URL) throws {
        self.url = url
        let file = url.path
        let mapping: MappedFile
        do {
            mapping = try MappedFile(path: file, minimumCount: 1)
        } catch SafetensorsError.unreadable(_, let reason) {
            throw GGUFError.unreadable(file: file, reason: reason)
        } catch SafetensorsError.fileTooShort(_, let byteCount) {
            throw GGUFError.truncated(file: file, offset: byteCount, reading: "the magic 'GGUF'")
        }
        self.mapping = mapping
        var cursor = GGUFCursor(bytes: mapping.bytes, count: mapping.count, file: file)
        let magic = (0..<min(4, mapping.count)).map { mapping.bytes.load(fromByteOffset: $0, as: UInt8.self) }
        guard magic == Array("GGUF".utf8) else {
            if magic.count < 4 && Array("GGUF".utf8).starts(with: magic) {
                throw GGUFError.truncated(file: file, offset: mapping.count, reading: "the magic 'GGUF'")
            }
            throw GGUFError.badMagic(file: file, found: magic)
        }
        _ = try cursor.read(UInt32.self, "the magic")
        let rawVersion = try cursor.read(UInt32.self, "the version")
        guard rawVersion == 2 || rawVersion == 3 else {
            throw GGUFError.unsupportedVersion(file: file, version: rawVersion)
        }
        version = Int(rawVersion)
        let rawTensorCount = try cursor.read(UInt64.self, "the tensor count")
        let rawKeyCount = try cursor.read(UInt64.self, "the metadata count")
        // A key-value pair takes at least 13 bytes (empty key, type, one byte); a tensor info 24.
        let keyCount = try cursor.checkCount(rawKeyCount, minimumSize: 13, "a metadata count")
        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        keys.reserveCapacity(keyCount)
        for index in 0..<keyCount {
            let key = try cursor.readString("metadata key \(index)")
            let rawType = try cursor.read(UInt32.self, "the value type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.unknownValueType(file: file, key: key, type: rawType)
            }
            let value = try cursor.readValue(type, key: key)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw GGUFError.duplicateKey(file: file, key: key)
            }
            keys.append(key)
        }
        self.metadata = metadata
        metadataKeys = keys
        alignment = try Self.alignment(metadata["general.alignment"], file: file)

        let tensorCount = try cursor.checkCount(rawTensorCount, minimumSize: 24, "a tensor count")
        var raw: [RawTensorInfo] = []
        raw.reserveCapacity(tensorCount)
        for index in 0..<tensorCount {
            raw.append(try cursor.readTensorInfo(index: index))
        }
        let dataStart = (cursor.position + alignment - 1) / alignment * alignment
        let dataLength = max(0, mapping.count - dataStart)
        var entries: [String: TensorInfo] = [:]
        for info in raw {
            let validated = try info.validated(alignment: alignment, dataStart: dataStart, dataLength: dataLength, file: file)
            guard entries.updateValue(validated, forKey: info.name) == nil else {
                throw GGUFError.duplicateTensor(file: file, tensor: info.name)
            }
        }
        self.entries = entries
        tensorNames = raw.map(\.name)
    }

    private static func alignment(_ value: GGUFValue?, file: String) throws -> Int {
        guard let value else { return 32 }
        guard let alignment = value.integer else {
            throw GGUFError.invalidAlignment(file: file, reason: "should be an integer, not \(value)")
        }
        guard alignment > 0, alignment & (alignment - 1) == 0, alignment <= 1 << 20 else {
            throw GGUFError.invalidAlignment(file: file, reason: "should be a power of two up to 2^20, not \(alignment)")
        }
        return alignment
    }

    /// The type, row-major shape and byte range of the tensor `name`, or nil when there is none.
    ///
    /// ```swift
    /// file.info("output_norm.weight")?.type // .f32
    /// ```
    public func info(_ name: String) -> TensorInfo? {
        entries[name]
    }

    /// The tensor `name` as a tensor in row-major shape: borrowed from the mapping for F32,
    /// F16 and BF16 (when aligned to the element size), otherwise converted to float32.
    /// Throws `GGUFError.missingTensor` for an unknown name and `.unsupportedTensorType` for a
    /// type that cannot be converted (the IQ and TQ families, Q8_1, Q8_K, MXFP4).
    ///
    /// ```swift
    /// let norm = try file.tensor("output_norm.weight") // F32 [576], no copy
    /// ```
    public func tensor(_ name: String) throws -> Tensor {
        let info = try existingInfo(name)
        let count = info.shape.reduce(1, *)
        let source = mapping.bytes + info.byteRange.lowerBound
        let storage: Storage
        if let type = info.type.storageType {
            if Int(bitPattern: source) % type.byteSize == 0 {
                storage = Storage(borrowing: source, count: count, dtype: type, owner: mapping)
            } else {
                storage = Storage(count: count, dtype: type)
                storage.bytes.copyMemory(from: source, byteCount: info.byteRange.count)
            }
        } else {
            guard info.type.isConvertible else {
                throw GGUFError.unsupportedTensorType(file: url.path, tensor: name, type: info.type.name)
            }
            storage = Storage(count: count)
            GGUFDequantizer.convert(info.type, from: source, count: count, into: storage.floats)
        }
        return Tensor(storage: storage, shape: info.shape)
    }

    /// Every tensor by name (each as `tensor(_:)` returns it).
    public func tensors() throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        result.reserveCapacity(tensorNames.count)
        for name in tensorNames { result[name] = try tensor(name) }
        return result
    }

    /// The stored bytes of the tensor `name` exactly as in the file (quantized blocks stay
    /// quantized), for a path that keeps weights quantized. No copy: the bytes live in the
    /// mapping, which the returned value keeps alive.
    ///
    /// ```swift
    /// let raw = try file.rawBytes("blk.0.attn_q.weight")
    /// print(raw.type, raw.bytes.count) // q4_1 207360
    /// ```
    public func rawBytes(_ name: String) throws -> GGUFRawTensor {
        let info = try existingInfo(name)
        let bytes = UnsafeRawBufferPointer(start: mapping.bytes + info.byteRange.lowerBound, count: info.byteRange.count)
        return GGUFRawTensor(type: info.type, shape: info.shape, bytes: bytes, owner: mapping)
    }

    private func existingInfo(_ name: String) throws -> TensorInfo {
        guard let info = entries[name] else { throw GGUFError.missingTensor(file: url.path, tensor: name) }
        return info
    }
}

/// The stored bytes of one GGUF tensor. `bytes` stays valid as long as `owner` (the file's
/// mapping) lives, which this value guarantees while it exists; pass `owner` on to anything
/// that keeps the pointer (for example `Storage(borrowing:count:dtype:owner:)`).
public struct GGUFRawTensor: @unchecked Sendable {
    public let type: GGUFTensorType
    /// Row-major shape in elements.
    public let shape: [Int]
    public let bytes: UnsafeRawBufferPointer
    public let owner: AnyObject & Sendable
}

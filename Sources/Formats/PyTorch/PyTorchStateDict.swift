import Foundation
import TensorCore

/// The tensors of a PyTorch checkpoint (`torch.save` output: `.pth`, `.pt`, `.bin`), read
/// without Python and without running any code from the file.
///
/// Both layouts load: the zip archive of torch >= 1.6 and the older legacy stream. The state
/// dict may be the checkpoint itself or sit inside a wrapper dict (`{"state_dict": ...}`,
/// `{"model": ...}`, ...); `path` reports the keys that led to it. float32, float16 and
/// bfloat16 tensors borrow the memory-mapped file where their storage is aligned (torch aligns
/// zip storages to 64 bytes); other element types are converted to float32. Strided views
/// (a transposed tensor, a slice, several tensors sharing one storage) keep their layout.
///
/// ```swift
/// let weights = try PyTorchStateDict(url: folder.appendingPathComponent("efficientnet-lite0.pth"))
/// print(weights.names.count, weights.path)     // 296 []
/// let stem = try weights.tensor("_conv_stem.weight") // [32, 3, 3, 3]
/// ```
public struct PyTorchStateDict: Sendable {
    /// The zip archive of torch >= 1.6, or the older stream of pickles followed by raw storages.
    public enum Layout: String, Sendable {
        case zip
        case legacy
    }

    /// How a tensor is stored.
    public struct TensorInfo: Equatable, Sendable {
        public let type: PyTorchElementType
        public let shape: [Int]
        /// Element strides, as PyTorch reports them.
        public let strides: [Int]
        /// The element offset of the tensor in its storage.
        public let storageOffset: Int
        /// The storage's key (archive file name or legacy id); tensors sharing it share memory.
        public let storageKey: String
        let storageCount: Int
        let storageBytes: Range<Int>
    }

    public let url: URL
    /// Tensor names in the order the file lists them.
    public let names: [String]
    /// The keys of the wrapper dicts that hold the state dict: [] for a bare state dict,
    /// ["state_dict"] for `{"state_dict": {...}, "epoch": 3}`.
    public let path: [String]
    /// Which of torch's two file layouts the checkpoint uses.
    public let layout: Layout
    private let entries: [String: TensorInfo]
    private let mapping: MappedFile

    /// Maps the file, runs its pickle and checks every tensor against its storage; throws
    /// `PyTorchError` for a malformed or unsupported file.
    public init(url: URL) throws {
        self.url = url
        let file = url.path
        do {
            mapping = try MappedFile(path: file, minimumCount: 1)
        } catch SafetensorsError.unreadable(_, let reason) {
            throw PyTorchError.unreadable(file: file, reason: reason)
        } catch SafetensorsError.fileTooShort {
            throw PyTorchError.notAPyTorchFile(file: file, reason: "the file is empty")
        }
        let checkpoint = try PyTorchCheckpoint.read(bytes: mapping.bytes, count: mapping.count, file: file)
        layout = checkpoint.layout
        let machine = checkpoint.machine
        let (path, dict) = try Self.findStateDict(checkpoint.root, machine: machine, file: file)
        self.path = path
        var names: [String] = []
        var entries: [String: TensorInfo] = [:]
        for (key, value) in zip(dict.keys, dict.values) {
            guard case let .string(name) = key, case let .tensor(index) = value else { continue }
            let tensor = machine.tensors[index]
            let storage = machine.storages[tensor.storage]
            guard let bytes = checkpoint.storageBytes[storage.key] else {
                throw PyTorchError.missingStorage(file: file, key: storage.key)
            }
            try Self.validate(tensor, storage: storage, byteCount: bytes.count, name: name, file: file)
            if entries[name] == nil { names.append(name) }
            entries[name] = TensorInfo(type: storage.type, shape: tensor.shape, strides: tensor.strides,
                                       storageOffset: tensor.offset, storageKey: storage.key,
                                       storageCount: storage.count, storageBytes: bytes)
        }
        self.names = names
        self.entries = entries
    }

    /// How the tensor `name` is stored, or nil when there is none.
    public func info(_ name: String) -> TensorInfo? {
        entries[name]
    }

    /// The tensor `name`, with PyTorch's shape and strides. Throws `PyTorchError.missingTensor`
    /// for an unknown name.
    ///
    /// ```swift
    /// let classifier = try weights.tensor("_fc.weight") // [1000, 1280]
    /// ```
    public func tensor(_ name: String) throws -> Tensor {
        guard let info = entries[name] else { throw PyTorchError.missingTensor(file: url.path, tensor: name) }
        let source = mapping.bytes + info.storageBytes.lowerBound
        let storage: Storage
        if let type = info.type.storageType {
            if Int(bitPattern: source) % type.byteSize == 0 {
                storage = Storage(borrowing: source, count: info.storageCount, dtype: type, owner: mapping)
            } else {
                storage = Storage(count: info.storageCount, dtype: type)
                storage.bytes.copyMemory(from: source, byteCount: info.storageCount * type.byteSize)
            }
        } else {
            storage = Storage(count: info.storageCount)
            info.type.widen(source, count: info.storageCount, into: storage.floats)
        }
        return Tensor(storage: storage, shape: info.shape, strides: info.strides, offset: info.storageOffset)
    }

    /// Every tensor by name.
    public func tensors() throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for name in names { result[name] = try tensor(name) }
        return result
    }

    // MARK: - Finding and checking the state dict

    /// Wrapper keys tried first, in this order, before any other dict-valued key.
    private static let wrapperKeys = ["state_dict", "model_state_dict", "model", "module", "net", "network", "weights"]

    /// The root dict if it holds tensors, else the first dict of tensors found breadth-first
    /// (known wrapper keys first) within three levels of string keys.
    private static func findStateDict(_ root: PickleValue, machine: PickleMachine, file: String) throws -> ([String], PickleDict) {
        func isStateDict(_ dict: PickleDict) -> Bool {
            dict.values.contains { if case .tensor = $0 { true } else { false } }
                && dict.values.allSatisfy { if case .tensor = $0 { true } else { $0 == .none } }
                && dict.keys.allSatisfy { if case .string = $0 { true } else { false } }
        }
        guard let top = machine.dict(root) else {
            throw PyTorchError.notAStateDict(file: file, reason: "the checkpoint is \(root.kind), not a dict")
        }
        var level: [([String], PickleDict)] = [([], top)]
        for _ in 0...3 {
            if let found = level.first(where: { isStateDict($0.1) }) { return found }
            var next: [([String], PickleDict)] = []
            for (path, dict) in level {
                var children: [(String, PickleDict)] = []
                for (key, value) in zip(dict.keys, dict.values) {
                    if case let .string(name) = key, let child = machine.dict(value) { children.append((name, child)) }
                }
                children.sort { first, second in
                    (wrapperKeys.firstIndex(of: first.0) ?? wrapperKeys.count) < (wrapperKeys.firstIndex(of: second.0) ?? wrapperKeys.count)
                }
                next += children.map { (path + [$0.0], $0.1) }
            }
            level = next
        }
        let keys = top.keys.prefix(8).map { if case let .string(text) = $0 { "'\(text)'" } else { $0.kind } }
        throw PyTorchError.notAStateDict(file: file, reason: "no dict of tensors at the top level (keys \(keys.joined(separator: ", "))) or under it")
    }

    /// Checks that the view stays inside its storage and that the storage's bytes are all there.
    private static func validate(_ tensor: TensorReference, storage: StorageReference, byteCount: Int,
                                 name: String, file: String) throws {
        func failure(_ reason: String) -> PyTorchError { .storageOutOfRange(file: file, tensor: name, reason: reason) }
        let (needed, overflow) = storage.count.multipliedReportingOverflow(by: storage.type.byteSize)
        guard !overflow, needed <= byteCount else {
            throw failure("storage '\(storage.key)' of \(storage.count) \(storage.type) elements has only \(byteCount) bytes")
        }
        guard tensor.shape.count == tensor.strides.count else {
            throw failure("size \(tensor.shape) and stride \(tensor.strides) differ in rank")
        }
        guard tensor.offset >= 0, tensor.shape.allSatisfy({ $0 >= 0 }), tensor.strides.allSatisfy({ $0 >= 0 }) else {
            throw failure("negative offset, size or stride (offset \(tensor.offset), size \(tensor.shape), stride \(tensor.strides))")
        }
        if tensor.shape.contains(0) { return }
        var last = tensor.offset
        for (size, stride) in zip(tensor.shape, tensor.strides) {
            let (reach, overflow1) = (size - 1).multipliedReportingOverflow(by: stride)
            let (sum, overflow2) = last.addingReportingOverflow(reach)
            guard !overflow1, !overflow2 else { throw failure("size \(tensor.shape) and stride \(tensor.strides) overflow") }
            last = sum
        }
        guard last < storage.count else {
            throw failure("offset \(tensor.offset), size \(tensor.shape), stride \(tensor.strides) reach element \(last) of a \(storage.count)-element storage")
        }
    }
}

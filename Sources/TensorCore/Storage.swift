import CKernels
import Foundation

/// A flat, 64-byte aligned buffer of elements. Storage is shared by tensors and their views.
/// It either owns its memory or borrows it from an owner (for example a memory-mapped file)
/// that it keeps alive.
public final class Storage: @unchecked Sendable {
    public let dtype: DType
    /// Number of elements.
    public let count: Int
    public let bytes: UnsafeMutableRawPointer
    private let owner: AnyObject?

    /// Allocates zero-filled storage for `count` elements.
    public init(count: Int, dtype: DType = .float32) {
        precondition(count >= 0, "Storage: negative element count \(count)")
        self.dtype = dtype
        self.count = count
        let byteCount = max(count * dtype.byteSize, 1)
        bytes = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        bytes.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        owner = nil
    }

    /// Allocates storage for `count` elements without clearing it: for op outputs that write
    /// every element before anything reads one (the zero-fill would be a wasted pass).
    init(uninitializedCount count: Int) {
        precondition(count >= 0, "Storage: negative element count \(count)")
        dtype = .float32
        self.count = count
        bytes = UnsafeMutableRawPointer.allocate(byteCount: max(count * 4, 1), alignment: 64)
        owner = nil
    }

    /// Wraps memory that `owner` keeps alive (for example a memory-mapped file). Not copied.
    public init(borrowing bytes: UnsafeRawPointer, count: Int, dtype: DType, owner: AnyObject) {
        self.dtype = dtype
        self.count = count
        self.bytes = UnsafeMutableRawPointer(mutating: bytes)
        self.owner = owner
    }

    /// Whether this storage owns its memory (and may be updated in place, e.g. by an optimizer).
    /// Borrowed storage, such as a read-only memory-mapped file, must be copied first.
    public var isOwned: Bool { owner == nil }

    deinit {
        if owner == nil { bytes.deallocate() }
    }

    /// The elements as float32. Only valid for float32 storage.
    public var floats: UnsafeMutablePointer<Float> {
        precondition(dtype == .float32, "Storage: float32 access to \(dtype) storage")
        return bytes.assumingMemoryBound(to: Float.self)
    }

    /// Widens elements `start..<start+count` into `destination`.
    func widen(from start: Int, count: Int, into destination: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .float32:
            destination.update(from: floats + start, count: count)
        case .float16:
            peft_f16_to_f32(bytes.assumingMemoryBound(to: UInt16.self) + start, destination, count)
        case .bfloat16:
            peft_bf16_to_f32(bytes.assumingMemoryBound(to: UInt16.self) + start, destination, count)
        }
    }
}

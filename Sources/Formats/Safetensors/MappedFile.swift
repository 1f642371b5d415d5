#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory (`MAP_PRIVATE`), unmapped when the last reference
/// goes. Tensors that borrow its bytes hold it as their storage owner, so the mapping lives as
/// long as any of them. Pages load lazily on first touch. As with any mapping, truncating the
/// file on disk while it is mapped makes later reads of the lost pages fault (SIGBUS); writers
/// that replace files atomically (ours, by rename) never do that.
///
/// ```swift
/// let file = try MappedFile(path: "model.safetensors")
/// let firstByte = file.bytes.load(as: UInt8.self)
/// ```
final class MappedFile: @unchecked Sendable {
    /// The first byte of the mapping; never written through (the pages are read-only).
    let bytes: UnsafeRawPointer
    /// The file's length in bytes.
    let count: Int
    let path: String

    /// Maps the file at `path`; throws `SafetensorsError.unreadable` when it cannot be opened,
    /// measured or mapped, and `.fileTooShort` for a file under `minimumCount` bytes (an empty
    /// file cannot be mapped at all).
    init(path: String, minimumCount: Int) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw SafetensorsError.unreadable(file: path, reason: systemErrorMessage())
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw SafetensorsError.unreadable(file: path, reason: systemErrorMessage())
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw SafetensorsError.unreadable(file: path, reason: "not a regular file")
        }
        count = Int(status.st_size)
        guard count >= max(minimumCount, 1) else {
            throw SafetensorsError.fileTooShort(file: path, byteCount: count)
        }
        let address = mmap(nil, count, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else {
            throw SafetensorsError.unreadable(file: path, reason: "mmap: \(systemErrorMessage())")
        }
        bytes = UnsafeRawPointer(address)
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: bytes), count)
    }
}

/// The message for the current `errno`.
func systemErrorMessage() -> String {
    String(cString: strerror(errno))
}

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file so that readers see either the old file or the complete new one: the bytes
/// go to a temporary file in the same folder, which is flushed (`fsync`) and renamed over the
/// destination; on any failure the temporary file is removed and the destination is untouched.
///
/// ```swift
/// try AtomicFile.write(to: url) { output in try bytes.withUnsafeBytes { try output.append($0) } }
/// ```
enum AtomicFile {
    /// An open temporary file that the body of `write` appends to.
    struct Output {
        fileprivate let descriptor: Int32
        fileprivate let file: String

        func append(_ bytes: UnsafeRawBufferPointer) throws {
            guard var next = bytes.baseAddress else { return }
            var remaining = bytes.count
            while remaining > 0 {
                let written = systemWrite(descriptor, next, remaining)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw SafetensorsError.unwritable(file: file, reason: "write: \(systemErrorMessage())")
                }
                next += written
                remaining -= written
            }
        }
    }

    static func write(to url: URL, _ body: (Output) throws -> Void) throws {
        let file = url.path
        let folder = url.deletingLastPathComponent().path
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString)").path
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw SafetensorsError.unwritable(file: file, reason: "cannot create a file in \(folder): \(systemErrorMessage())")
        }
        var isOpen = true
        do {
            try body(Output(descriptor: descriptor, file: file))
            guard fsync(descriptor) == 0 else {
                throw SafetensorsError.unwritable(file: file, reason: "fsync: \(systemErrorMessage())")
            }
            isOpen = false
            guard close(descriptor) == 0 else {
                throw SafetensorsError.unwritable(file: file, reason: "close: \(systemErrorMessage())")
            }
            guard rename(temporary, file) == 0 else {
                throw SafetensorsError.unwritable(file: file, reason: "rename: \(systemErrorMessage())")
            }
        } catch {
            if isOpen { close(descriptor) }
            unlink(temporary)
            throw error
        }
        // Make the rename itself durable; a folder that cannot be synced is not an error.
        let folderDescriptor = open(folder, O_RDONLY)
        if folderDescriptor >= 0 {
            fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }
}

private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}

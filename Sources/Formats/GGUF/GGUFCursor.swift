/// A bounds-checked little-endian reader over the mapped bytes of a GGUF file. Every read that
/// would pass the end throws `GGUFError.truncated` naming what was being read.
struct GGUFCursor {
    let bytes: UnsafeRawPointer
    let count: Int
    let file: String
    private(set) var position = 0

    init(bytes: UnsafeRawPointer, count: Int, file: String) {
        self.bytes = bytes
        self.count = count
        self.file = file
    }

    var remaining: Int { count - position }

    mutating func read<Value: FixedWidthInteger>(_: Value.Type, _ what: @autoclosure () -> String) throws -> Value {
        let size = MemoryLayout<Value>.size
        guard size <= remaining else {
            throw GGUFError.truncated(file: file, offset: count, reading: what())
        }
        let value = bytes.loadUnaligned(fromByteOffset: position, as: Value.self)
        position += size
        return Value(littleEndian: value)
    }

    /// A `u64` length followed by that many UTF-8 bytes. Invalid UTF-8 is repaired with U+FFFD
    /// rather than refused: token lists of real files occasionally hold stray bytes.
    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let length = try read(UInt64.self, "the length of \(what())")
        guard length <= UInt64(remaining) else {
            throw GGUFError.absurdCount(file: file, what: "a length for \(what())", count: length, remainingBytes: remaining)
        }
        let buffer = UnsafeRawBufferPointer(start: bytes + position, count: Int(length))
        position += Int(length)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Checks that `count` items of at least `minimumSize` bytes each can fit in what remains,
    /// so that a corrupt count fails before anything is allocated for it.
    func checkCount(_ count: UInt64, minimumSize: Int, _ what: @autoclosure () -> String) throws -> Int {
        guard count <= UInt64(remaining / max(minimumSize, 1)) else {
            throw GGUFError.absurdCount(file: file, what: what(), count: count, remainingBytes: remaining)
        }
        return Int(count)
    }
}

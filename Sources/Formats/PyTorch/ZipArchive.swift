/// The entries of a zip archive, read from its central directory (zip64 records included, as
/// `torch.save` always writes them). Only stored (uncompressed) entries can be read; their bytes
/// are located in the memory-mapped file, not copied.
///
/// ```swift
/// let archive = try ZipArchive(bytes: mapping.bytes, count: mapping.count, file: path)
/// let pickle = archive.entries["model/data.pkl"] // byte range in the file
/// ```
struct ZipArchive {
    struct Entry {
        /// The entry's data as offsets from the start of the file.
        let byteRange: Range<Int>
        /// 0 for stored entries.
        let method: Int
    }

    /// Entries by name, in central directory order in `names`.
    private(set) var entries: [String: Entry] = [:]
    private(set) var names: [String] = []

    private static let endSignature: UInt32 = 0x0605_4b50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    private static let zip64EndSignature: UInt32 = 0x0606_4b50
    private static let centralSignature: UInt32 = 0x0201_4b50
    private static let localSignature: UInt32 = 0x0403_4b50

    init(bytes: UnsafeRawPointer, count: Int, file: String) throws {
        let reader = ByteReader(bytes: bytes, count: count, file: file)
        // The end record (22 bytes plus a comment of up to 65535) is the last thing in the file.
        guard count >= 22 else { throw PyTorchError.badZip(file: file, reason: "\(count) bytes is too short for a zip archive") }
        var end = count - 22
        let lowest = max(0, count - 22 - 65535)
        while try end >= lowest && reader.u32(at: end, "the end record") != Self.endSignature { end -= 1 }
        guard end >= lowest else { throw PyTorchError.badZip(file: file, reason: "no end-of-central-directory record") }
        var entryCount = Int(try reader.u16(at: end + 10, "the end record"))
        var directorySize = Int(try reader.u32(at: end + 12, "the end record"))
        var directoryOffset = Int(try reader.u32(at: end + 16, "the end record"))
        if end >= 20, try reader.u32(at: end - 20, "the zip64 locator") == Self.zip64LocatorSignature {
            let recordOffset = try reader.u64(at: end - 12, "the zip64 locator")
            guard count >= 56, recordOffset <= UInt64(count - 56), try reader.u32(at: Int(recordOffset), "the zip64 end record") == Self.zip64EndSignature else {
                throw PyTorchError.badZip(file: file, reason: "the zip64 locator points at no zip64 end record")
            }
            let record = Int(recordOffset)
            entryCount = try reader.int(at: record + 32, "the zip64 end record")
            directorySize = try reader.int(at: record + 40, "the zip64 end record")
            directoryOffset = try reader.int(at: record + 48, "the zip64 end record")
        }
        guard directoryOffset <= count, directorySize <= count - directoryOffset, entryCount <= directorySize / 46 else {
            throw PyTorchError.badZip(file: file, reason: "central directory of \(entryCount) entries (\(directorySize) bytes at \(directoryOffset)) does not fit in the \(count)-byte file")
        }
        var position = directoryOffset
        for index in 0..<entryCount {
            guard try reader.u32(at: position, "central directory entry \(index)") == Self.centralSignature else {
                throw PyTorchError.badZip(file: file, reason: "central directory entry \(index) has a bad signature")
            }
            let method = Int(try reader.u16(at: position + 10, "central directory entry \(index)"))
            var compressedSize = UInt64(try reader.u32(at: position + 20, "central directory entry \(index)"))
            var size = UInt64(try reader.u32(at: position + 24, "central directory entry \(index)"))
            let nameLength = Int(try reader.u16(at: position + 28, "central directory entry \(index)"))
            let extraLength = Int(try reader.u16(at: position + 30, "central directory entry \(index)"))
            let commentLength = Int(try reader.u16(at: position + 32, "central directory entry \(index)"))
            var localOffset = UInt64(try reader.u32(at: position + 42, "central directory entry \(index)"))
            let name = try reader.string(at: position + 46, length: nameLength, "the name of entry \(index)")
            // Fields that overflow 32 bits are 0xFFFFFFFF here and follow, in this order, in
            // the zip64 extra field (id 1).
            var extra = position + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = try reader.u16(at: extra, "the extra fields of '\(name)'")
                let length = Int(try reader.u16(at: extra + 2, "the extra fields of '\(name)'"))
                if id == 1 {
                    var field = extra + 4
                    let fieldEnd = min(extraEnd, field + length)
                    func next(_ value: inout UInt64) throws {
                        guard value == 0xFFFF_FFFF, field + 8 <= fieldEnd else { return }
                        value = try reader.u64(at: field, "the zip64 fields of '\(name)'")
                        field += 8
                    }
                    try next(&size)
                    try next(&compressedSize)
                    try next(&localOffset)
                }
                extra += 4 + length
            }
            position = extraEnd + commentLength
            guard count >= 30, localOffset <= UInt64(count - 30) else {
                throw PyTorchError.badZip(file: file, reason: "entry '\(name)' starts past the end of the file")
            }
            let local = Int(localOffset)
            guard try reader.u32(at: local, "the local header of '\(name)'") == Self.localSignature else {
                throw PyTorchError.badZip(file: file, reason: "entry '\(name)' has no local header at byte \(local)")
            }
            let localNameLength = Int(try reader.u16(at: local + 26, "the local header of '\(name)'"))
            let localExtraLength = Int(try reader.u16(at: local + 28, "the local header of '\(name)'"))
            let start = local + 30 + localNameLength + localExtraLength
            guard start <= count, compressedSize <= UInt64(count - start) else {
                throw PyTorchError.badZip(file: file, reason: "the \(compressedSize) bytes of entry '\(name)' run past the end of the file")
            }
            if method == 0 && size != compressedSize {
                throw PyTorchError.badZip(file: file, reason: "stored entry '\(name)' has sizes \(compressedSize) and \(size)")
            }
            if entries.updateValue(Entry(byteRange: start..<(start + Int(compressedSize)), method: method), forKey: name) == nil {
                names.append(name)
            }
        }
    }
}

/// Bounds-checked little-endian reads at absolute offsets of a mapped file; a read past the end
/// throws `PyTorchError.truncated` naming what was being read.
struct ByteReader {
    let bytes: UnsafeRawPointer
    let count: Int
    let file: String

    func load<Value: FixedWidthInteger>(_: Value.Type, at offset: Int, _ what: @autoclosure () -> String) throws -> Value {
        guard offset >= 0, offset <= count - MemoryLayout<Value>.size else {
            throw PyTorchError.truncated(file: file, reading: what())
        }
        return Value(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Value.self))
    }

    func u16(at offset: Int, _ what: @autoclosure () -> String) throws -> UInt16 { try load(UInt16.self, at: offset, what()) }
    func u32(at offset: Int, _ what: @autoclosure () -> String) throws -> UInt32 { try load(UInt32.self, at: offset, what()) }
    func u64(at offset: Int, _ what: @autoclosure () -> String) throws -> UInt64 { try load(UInt64.self, at: offset, what()) }

    /// A u64 that must fit in `Int` (sizes and offsets).
    func int(at offset: Int, _ what: @autoclosure () -> String) throws -> Int {
        let value = try u64(at: offset, what())
        guard let result = Int(exactly: value) else {
            throw PyTorchError.badZip(file: file, reason: "\(what()) holds the impossible size \(value)")
        }
        return result
    }

    func string(at offset: Int, length: Int, _ what: @autoclosure () -> String) throws -> String {
        guard offset >= 0, length >= 0, offset <= count - length else { throw PyTorchError.truncated(file: file, reading: what()) }
        return String(decoding: UnsafeRawBufferPointer(start: bytes + offset, count: length), as: UTF8.self)
    }
}

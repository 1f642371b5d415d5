/// What both checkpoint layouts yield: the unpickled root value and where each storage's bytes
/// lie in the file.
///
/// - zip (torch >= 1.6): `<folder>/data.pkl` is the pickle, `<folder>/data/<key>` a storage's
///   raw bytes (64-byte aligned by torch), `<folder>/byteorder` "little" or "big".
/// - legacy (older torch): five pickles in a row (magic number, protocol version, system info,
///   the object, the list of storage keys), then each storage in key order as an int64
///   element count followed by its bytes.
struct PyTorchCheckpoint {
    let layout: PyTorchStateDict.Layout
    let machine: PickleMachine
    let root: PickleValue
    /// Storage key -> the file bytes holding it.
    let storageBytes: [String: Range<Int>]

    static func read(bytes: UnsafeRawPointer, count: Int, file: String) throws -> PyTorchCheckpoint {
        let reader = ByteReader(bytes: bytes, count: count, file: file)
        if count >= 4, try reader.u32(at: 0, "the signature") == 0x0403_4b50 {
            return try readZip(bytes: bytes, count: count, file: file)
        }
        if count >= 2, try reader.u16(at: 0, "the signature") == 0x0280 {
            return try readLegacy(bytes: bytes, count: count, file: file)
        }
        throw PyTorchError.notAPyTorchFile(file: file, reason: "neither a zip archive nor a pickle")
    }

    private static func readZip(bytes: UnsafeRawPointer, count: Int, file: String) throws -> PyTorchCheckpoint {
        let archive = try ZipArchive(bytes: bytes, count: count, file: file)
        func stored(_ name: String) throws -> Range<Int>? {
            guard let entry = archive.entries[name] else { return nil }
            guard entry.method == 0 else { throw PyTorchError.compressedEntry(file: file, entry: name, method: entry.method) }
            return entry.byteRange
        }
        // The folder name varies (the file's stem, or "archive"); the pickle sits one level down.
        let pickleName = archive.names.first { name in
            name == "data.pkl" || (name.hasSuffix("/data.pkl") && name.split(separator: "/", omittingEmptySubsequences: false).count == 2)
        }
        guard let pickleName, let pickle = try stored(pickleName) else {
            throw PyTorchError.missingEntry(file: file, entry: "<folder>/data.pkl")
        }
        let folder = String(pickleName.dropLast("data.pkl".count))
        if let byteOrder = try stored(folder + "byteorder"),
           String(decoding: UnsafeRawBufferPointer(start: bytes + byteOrder.lowerBound, count: byteOrder.count), as: UTF8.self) == "big" {
            throw PyTorchError.bigEndian(file: file)
        }
        var machine = PickleMachine(bytes: bytes, range: pickle, file: file)
        let root = try machine.run()
        var storageBytes: [String: Range<Int>] = [:]
        for storage in machine.storages {
            guard let range = try stored(folder + "data/" + storage.key) else {
                throw PyTorchError.missingStorage(file: file, key: storage.key)
            }
            storageBytes[storage.key] = range
        }
        return PyTorchCheckpoint(layout: .zip, machine: machine, root: root, storageBytes: storageBytes)
    }

    /// The magic number that starts a legacy checkpoint, 0x1950a86a20f9469cfc6c, little-endian.
    private static let legacyMagic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

    private static func readLegacy(bytes: UnsafeRawPointer, count: Int, file: String) throws -> PyTorchCheckpoint {
        var position = 0
        func next() throws -> (PickleMachine, PickleValue) {
            var machine = PickleMachine(bytes: bytes, range: position..<count, file: file)
            let value = try machine.run()
            position = machine.position
            return (machine, value)
        }
        guard try next().1 == .bigInteger(legacyMagic) else {
            throw PyTorchError.notAPyTorchFile(file: file, reason: "a pickle without torch's magic number")
        }
        guard try next().1 == .int(1001) else {
            throw PyTorchError.notAPyTorchFile(file: file, reason: "unknown legacy protocol version")
        }
        let (infoMachine, info) = try next()
        if infoMachine.dict(info)?["little_endian"] == .bool(false) { throw PyTorchError.bigEndian(file: file) }
        let (machine, root) = try next()
        let (keyMachine, keyList) = try next()
        guard let keys = keyMachine.list(keyList) else { throw PyTorchError.malformedPickle(file: file, reason: "the storage key list is not a list") }
        let types = Dictionary(machine.storages.map { ($0.key, $0.type) }, uniquingKeysWith: { first, _ in first })
        let reader = ByteReader(bytes: bytes, count: count, file: file)
        var storageBytes: [String: Range<Int>] = [:]
        for key in keys {
            guard case let .string(key) = key, let type = types[key] else {
                throw PyTorchError.malformedPickle(file: file, reason: "storage key list names \(key.kind) that no tensor uses")
            }
            let elements = try reader.u64(at: position, "the size of storage '\(key)'")
            position += 8
            let (byteCount, overflow) = Int(clamping: elements).multipliedReportingOverflow(by: type.byteSize)
            guard !overflow, elements <= UInt64(Int.max), byteCount <= count - position else {
                throw PyTorchError.truncated(file: file, reading: "the \(elements) elements of storage '\(key)'")
            }
            storageBytes[key] = position..<(position + byteCount)
            position += byteCount
        }
        return PyTorchCheckpoint(layout: .legacy, machine: machine, root: root, storageBytes: storageBytes)
    }
}

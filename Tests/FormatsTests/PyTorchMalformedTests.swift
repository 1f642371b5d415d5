import Foundation
import Testing
import TensorCore
import TestSupport
@testable import Formats

/// Writes a zip archive of stored entries (optionally with zip64 records, as torch writes them).
func zipArchive(_ entries: [(String, [UInt8])], zip64: Bool = false, method: UInt16 = 0) -> [UInt8] {
    var bytes: [UInt8] = []
    func u16(_ value: UInt16, _ into: inout [UInt8]) { withUnsafeBytes(of: value.littleEndian) { into += $0 } }
    func u32(_ value: UInt32, _ into: inout [UInt8]) { withUnsafeBytes(of: value.littleEndian) { into += $0 } }
    func u64(_ value: UInt64, _ into: inout [UInt8]) { withUnsafeBytes(of: value.littleEndian) { into += $0 } }
    var directory: [UInt8] = []
    for (name, data) in entries {
        let offset = bytes.count
        u32(0x0403_4b50, &bytes)
        u16(20, &bytes); u16(0, &bytes); u16(method, &bytes); u16(0, &bytes); u16(0, &bytes)
        u32(0, &bytes); u32(UInt32(data.count), &bytes); u32(UInt32(data.count), &bytes)
        u16(UInt16(name.utf8.count), &bytes); u16(0, &bytes)
        bytes += Array(name.utf8) + data
        u32(0x0201_4b50, &directory)
        u16(45, &directory); u16(45, &directory); u16(0, &directory); u16(method, &directory)
        u16(0, &directory); u16(0, &directory); u32(0, &directory)
        let large: UInt32 = 0xFFFF_FFFF
        u32(zip64 ? large : UInt32(data.count), &directory)
        u32(zip64 ? large : UInt32(data.count), &directory)
        u16(UInt16(name.utf8.count), &directory); u16(zip64 ? 28 : 0, &directory); u16(0, &directory)
        u16(0, &directory); u16(0, &directory); u32(0, &directory)
        u32(zip64 ? large : UInt32(offset), &directory)
        directory += Array(name.utf8)
        if zip64 {
            u16(1, &directory); u16(24, &directory)
            u64(UInt64(data.count), &directory); u64(UInt64(data.count), &directory); u64(UInt64(offset), &directory)
        }
    }
    let directoryOffset = bytes.count
    bytes += directory
    if zip64 {
        let recordOffset = bytes.count
        u32(0x0606_4b50, &bytes); u64(44, &bytes); u16(45, &bytes); u16(45, &bytes); u32(0, &bytes); u32(0, &bytes)
        u64(UInt64(entries.count), &bytes); u64(UInt64(entries.count), &bytes)
        u64(UInt64(directory.count), &bytes); u64(UInt64(directoryOffset), &bytes)
        u32(0x0706_4b50, &bytes); u32(0, &bytes); u64(UInt64(recordOffset), &bytes); u32(1, &bytes)
    }
    u32(0x0605_4b50, &bytes); u16(0, &bytes); u16(0, &bytes)
    u16(zip64 ? 0xFFFF : UInt16(entries.count), &bytes); u16(zip64 ? 0xFFFF : UInt16(entries.count), &bytes)
    u32(zip64 ? 0xFFFF_FFFF : UInt32(directory.count), &bytes); u32(zip64 ? 0xFFFF_FFFF : UInt32(directoryOffset), &bytes)
    u16(0, &bytes)
    return bytes
}

/// Pickle opcodes for tests, spelled as torch.save emits them.
enum Pickle {
    static func text(_ value: String) -> [UInt8] {
        [0x58] + withUnsafeBytes(of: UInt32(value.utf8.count).littleEndian) { Array($0) } + Array(value.utf8)
    }
    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
    /// A tuple of integers, each as an 8-byte LONG1.
    static func tuple(_ values: [Int]) -> [UInt8] { [0x28] + values.flatMap { [0x8A, 8] + withUnsafeBytes(of: $0.littleEndian) { Array($0) } } + [0x74] }

    /// `OrderedDict(w=tensor)` where the tensor views storage `key` of `count` elements.
    static func stateDict(storageClass: String = "FloatStorage", key: String = "0", count: Int = 4,
                          offset: Int = 0, shape: [Int] = [2, 2], stride: [Int] = [2, 1]) -> [UInt8] {
        [0x80, 2] + global("collections", "OrderedDict") + [0x29, 0x52, 0x28] + text("w")
            + global("torch._utils", "_rebuild_tensor_v2") + [0x28, 0x28] + text("storage")
            + global("torch", storageClass) + text(key) + text("cpu") + tuple([count]).dropFirst().dropLast() + [0x74, 0x51]
            + [0x4A] + withUnsafeBytes(of: Int32(offset).littleEndian) { Array($0) } + tuple(shape) + tuple(stride)
            + [0x89] + global("collections", "OrderedDict") + [0x29, 0x52, 0x74, 0x52, 0x75, 0x2E]
    }
}

func floats(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { Array($0) } } }

@Suite struct PyTorchMalformedTests {
    func load(_ bytes: [UInt8]) throws -> PyTorchStateDict {
        try PyTorchStateDict(url: writeTemporary(bytes, name: "bad.pt"))
    }

    func error(_ bytes: [UInt8]) -> PyTorchError? {
        do {
            let weights = try load(bytes)
            for name in weights.names { _ = try weights.tensor(name) }
            return nil
        } catch let error as PyTorchError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    func archive(_ pickle: [UInt8], storages: [(String, [UInt8])] = [("0", floats([1, 2, 3, 4]))], zip64: Bool = false) -> [UInt8] {
        zipArchive([("m/data.pkl", pickle), ("m/byteorder", Array("little".utf8))] + storages.map { ("m/data/\($0.0)", $0.1) }, zip64: zip64)
    }

    @Test(arguments: [false, true]) func handBuiltArchivesLoad(zip64: Bool) throws {
        let weights = try load(archive(Pickle.stateDict(), zip64: zip64))
        #expect(weights.names == ["w"] && weights.layout == .zip)
        #expect(try weights.tensor("w").toArray() == [1, 2, 3, 4])
        let transposed = try load(archive(Pickle.stateDict(stride: [1, 2])))
        #expect(try transposed.tensor("w").toArray() == [1, 3, 2, 4])
    }

    @Test func rejectsBrokenArchives() throws {
        let valid = archive(Pickle.stateDict())
        guard case .badZip = error(Array(valid.dropLast(30))) else { return #expect(Bool(false)) }
        guard case .notAPyTorchFile = error([]) else { return #expect(Bool(false)) }
        guard case .notAPyTorchFile = error(Array("hello, world".utf8)) else { return #expect(Bool(false)) }
        var badDirectory = valid
        let directory = try #require((0..<valid.count - 4).last { valid[$0..<$0 + 4] == [0x50, 0x4b, 0x01, 0x02] })
        badDirectory[directory] = 0
        guard case .badZip = error(badDirectory) else { return #expect(Bool(false)) }
        let compressed = zipArchive([("m/data.pkl", Pickle.stateDict())], method: 8)
        guard case .compressedEntry(_, "m/data.pkl", 8) = error(compressed) else { return #expect(Bool(false)) }
        guard case .missingEntry = error(zipArchive([("m/other.pkl", [0x2E])])) else { return #expect(Bool(false)) }
        let bigEndian = zipArchive([("m/data.pkl", Pickle.stateDict()), ("m/byteorder", Array("big".utf8))])
        guard case .bigEndian = error(bigEndian) else { return #expect(Bool(false)) }
    }

    @Test func refusesGlobalsOutsideTheAllowList() {
        let system = [0x80, 2] + Pickle.global("os", "system") + Pickle.text("echo hi") + [0x85, 0x52, 0x2E]
        guard case .disallowedGlobal(_, "os.system") = error(archive(system)) else { return #expect(Bool(false)) }
        let stacked = [0x80, 4] + Pickle.text("builtins") + Pickle.text("eval") + [0x93, 0x2E]
        guard case .disallowedGlobal(_, "builtins.eval") = error(archive(stacked)) else { return #expect(Bool(false)) }
        guard case .disallowedGlobal(_, "torch.ComplexFloatStorage") = error(archive(Pickle.stateDict(storageClass: "ComplexFloatStorage"))) else {
            return #expect(Bool(false))
        }
    }

    @Test func rejectsMalformedPickles() {
        guard case .unknownOpcode(_, 0xFF, 2) = error(archive([0x80, 2, 0xFF])) else { return #expect(Bool(false)) }
        guard case .malformedPickle = error(archive([0x80, 2, 0x52, 0x2E])) else { return #expect(Bool(false)) }
        guard case .malformedPickle = error(archive([0x80, 2, 0x68, 9, 0x2E])) else { return #expect(Bool(false)) }
        let cut = error(archive(Array(Pickle.stateDict().dropLast(12))))
        guard case .truncated = cut else { return #expect(Bool(false), "\(String(describing: cut))") }
        guard case .notAStateDict = error(archive([0x80, 2, 0x4B, 7, 0x2E])) else { return #expect(Bool(false)) }
        guard case .notAStateDict = error(archive([0x80, 2, 0x7D, 0x2E])) else { return #expect(Bool(false)) }
    }

    @Test func rejectsMissingAndShortStorages() {
        guard case .missingStorage(_, "7") = error(archive(Pickle.stateDict(key: "7"))) else { return #expect(Bool(false)) }
        guard case .storageOutOfRange(_, "w", _) = error(archive(Pickle.stateDict(shape: [3, 2]))) else { return #expect(Bool(false)) }
        guard case .storageOutOfRange = error(archive(Pickle.stateDict(offset: 1))) else { return #expect(Bool(false)) }
        guard case .storageOutOfRange = error(archive(Pickle.stateDict(count: 100, shape: [10, 10], stride: [10, 1]))) else {
            return #expect(Bool(false))
        }
        guard case .storageOutOfRange = error(archive(Pickle.stateDict(shape: [2, 2], stride: [-1, 1]))) else { return #expect(Bool(false)) }
        guard case .storageOutOfRange = error(archive(Pickle.stateDict(shape: [1 << 40, 1 << 40], stride: [1 << 40, 1]))) else {
            return #expect(Bool(false))
        }
    }

    /// Nesting a million tuples (or a list that contains itself) must neither overflow the
    /// stack when read nor when freed.
    @Test func survivesDeepAndCyclicPickles() {
        let deep = [0x80, 2, 0x29] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x2E]
        guard case .notAStateDict = error(archive(deep)) else { return #expect(Bool(false)) }
        let cycle: [UInt8] = [0x80, 2, 0x5D, 0x71, 0, 0x68, 0, 0x61, 0x2E]
        guard case .notAStateDict = error(archive(cycle)) else { return #expect(Bool(false)) }
        // A dict holding itself under 2,000 keys: the wrapper search visits it once.
        let selfReferences: [UInt8] = (0..<2000).flatMap { (index: Int) -> [UInt8] in Pickle.text("k\(index)") + [0x68, 0] }
        let dictCycle: [UInt8] = [0x80, 2, 0x7D, 0x71, 0, 0x28] + selfReferences + [0x75, 0x2E]
        guard case .notAStateDict = error(archive(dictCycle)) else { return #expect(Bool(false)) }
    }

    /// Truncations and byte corruptions of torch-written files (zip and legacy) either load or
    /// throw a `PyTorchError`; never a crash.
    @Test(arguments: ["pytorch_state_dict.pt", "pytorch_legacy.pt"])
    func survivesEveryTruncationAndByteCorruption(fixture: String) throws {
        let original = try [UInt8](Data(contentsOf: fixtureURL(fixture)))
        let url = try writeTemporary(original, name: "sweep.pt")
        var loaded = 0, refused = 0
        func attempt(_ bytes: [UInt8]) {
            try! Data(bytes).write(to: url) // nothing maps the file between attempts
            do {
                let weights = try PyTorchStateDict(url: url)
                for name in weights.names { _ = try weights.tensor(name) }
                loaded += 1
            } catch is PyTorchError {
                refused += 1
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        for length in 0..<original.count where length % 3 == 0 { attempt(Array(original.prefix(length))) }
        for position in 0..<original.count where position % 2 == 0 {
            var bytes = original
            bytes[position] ^= 0xFF
            attempt(bytes)
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var bytes = original
            for _ in 0..<3 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = .random(in: 0...255, using: &generator) }
            attempt(bytes)
        }
        print("PyTorch sweep of \(fixture): \(loaded) loaded, \(refused) refused")
        #expect(loaded > 0 && refused > 0)
    }
}

import Foundation
import Testing
import TensorCore
import TestSupport
@testable import Formats

/// Builds GGUF bytes field by field, so that each test can break exactly one thing.
struct GGUFBuilder {
    var bytes: [UInt8] = []

    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func string(_ text: String) {
        u64(UInt64(text.utf8.count))
        bytes += Array(text.utf8)
    }
    /// A metadata pair holding a uint32.
    mutating func keyUInt32(_ key: String, _ value: UInt32) {
        string(key)
        u32(GGUFValueType.uint32.rawValue)
        u32(value)
    }
    mutating func tensorInfo(_ name: String, dimensions: [UInt64], type: UInt32, offset: UInt64) {
        string(name)
        u32(UInt32(dimensions.count))
        dimensions.forEach { u64($0) }
        u32(type)
        u64(offset)
    }
    mutating func header(version: UInt32 = 3, tensors: UInt64, keys: UInt64) {
        bytes += Array("GGUF".utf8)
        u32(version)
        u64(tensors)
        u64(keys)
    }
    /// Pads to `alignment` and appends the data section.
    mutating func data(_ data: [UInt8], alignment: Int = 32) {
        bytes += [UInt8](repeating: 0, count: (alignment - bytes.count % alignment) % alignment)
        bytes += data
    }
    /// A file with one F32 tensor `x` of `dimensions` at `offset` and `data` as its data.
    static func oneTensor(dimensions: [UInt64] = [4], type: UInt32 = 0, offset: UInt64 = 0,
                          data: [UInt8] = [UInt8](repeating: 0, count: 16)) -> [UInt8] {
        var builder = GGUFBuilder()
        builder.header(tensors: 1, keys: 0)
        builder.tensorInfo("x", dimensions: dimensions, type: type, offset: offset)
        builder.data(data)
        return builder.bytes
    }
}

@Suite struct GGUFMalformedTests {
    func open(_ bytes: [UInt8]) throws -> GGUFFile {
        try GGUFFile(url: writeTemporary(bytes, name: "bad.gguf"))
    }

    /// The error thrown for `bytes`, with the temporary path replaced by "F".
    func error(_ bytes: [UInt8], tensor: String? = nil) -> GGUFError? {
        let url = try! writeTemporary(bytes, name: "bad.gguf")
        do {
            let file = try GGUFFile(url: url)
            if let tensor { _ = try file.tensor(tensor) }
            return nil
        } catch let error as GGUFError {
            let text = "\(error)"
            #expect(text.hasPrefix(url.path), "the message names the file: \(text)")
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func rejectsBadMagicAndVersions() {
        #expect(error(Array("GGML".utf8) + [UInt8](repeating: 0, count: 20)).map(isBadMagic) == true)
        var builder = GGUFBuilder()
        builder.header(version: 1, tensors: 0, keys: 0)
        guard case .unsupportedVersion(_, 1) = error(builder.bytes) else { return #expect(Bool(false)) }
        builder = GGUFBuilder()
        builder.header(version: UInt32(3).byteSwapped, tensors: 0, keys: 0)
        #expect(error(builder.bytes).map { "\($0)".contains("big-endian") } == true)
    }

    func isBadMagic(_ error: GGUFError) -> Bool {
        if case .badMagic = error { true } else { false }
    }

    @Test func reportsWhereATruncatedFileEnds() throws {
        let bytes = try [UInt8](Data(contentsOf: GGUFTests.fixture))
        guard case let .truncated(_, offset, reading) = error(Array(bytes.prefix(10))) else { return #expect(Bool(false)) }
        #expect(offset == 10 && reading == "the tensor count")
        guard case .truncated(_, _, "the magic 'GGUF'") = error(Array("GG".utf8)) else { return #expect(Bool(false)) }
        guard case .truncated = error([]) else { return #expect(Bool(false)) }
        var builder = GGUFBuilder()
        builder.header(tensors: 0, keys: 1)
        builder.string("general.name")
        builder.u32(GGUFValueType.string.rawValue)
        builder.u64(5)
        builder.bytes += Array("ab".utf8)
        guard case .absurdCount = error(builder.bytes) else { return #expect(Bool(false)) }
    }

    @Test func rejectsAbsurdCountsAndLengths() {
        var builder = GGUFBuilder()
        builder.header(tensors: 1 << 40, keys: 0)
        guard case .absurdCount(_, "a tensor count", 1 << 40, _) = error(builder.bytes) else { return #expect(Bool(false)) }
        builder = GGUFBuilder()
        builder.header(tensors: 0, keys: UInt64.max)
        guard case .absurdCount = error(builder.bytes) else { return #expect(Bool(false)) }
        builder = GGUFBuilder()
        builder.header(tensors: 0, keys: 1)
        builder.u64(1 << 50) // key length
        guard case .absurdCount = error(builder.bytes + [UInt8](repeating: 65, count: 40)) else { return #expect(Bool(false)) }
        builder = GGUFBuilder()
        builder.header(tensors: 0, keys: 1)
        builder.string("tokens")
        builder.u32(GGUFValueType.array.rawValue)
        builder.u32(GGUFValueType.string.rawValue)
        builder.u64(1 << 40)
        guard case .absurdCount = error(builder.bytes + [UInt8](repeating: 0, count: 64)) else { return #expect(Bool(false)) }
    }

    @Test func rejectsUnknownValueTypesDeepNestingAndDuplicateKeys() {
        var builder = GGUFBuilder()
        builder.header(tensors: 0, keys: 1)
        builder.string("weird")
        builder.u32(77)
        guard case .unknownValueType(_, "weird", 77) = error(builder.bytes + [0, 0, 0, 0]) else { return #expect(Bool(false)) }
        builder = GGUFBuilder()
        builder.header(tensors: 0, keys: 1)
        builder.string("deep")
        builder.u32(GGUFValueType.array.rawValue)
        for _ in 0..<20 {
            builder.u32(GGUFValueType.array.rawValue)
            builder.u64(1)
        }
        guard case .nestingTooDeep(_, "deep", _) = error(builder.bytes + [UInt8](repeating: 0, count: 64)) else { return #expect(Bool(false)) }
        builder = GGUFBuilder()
        builder.header(tensors: 0, keys: 2)
        builder.keyUInt32("a", 1)
        builder.keyUInt32("a", 2)
        guard case .duplicateKey(_, "a") = error(builder.bytes) else { return #expect(Bool(false)) }
    }

    @Test func rejectsInvalidAlignmentAndHonoursAValidOne() throws {
        var builder = GGUFBuilder()
        builder.header(tensors: 0, keys: 1)
        builder.keyUInt32("general.alignment", 24)
        guard case .invalidAlignment = error(builder.bytes) else { return #expect(Bool(false)) }
        builder = GGUFBuilder()
        builder.header(tensors: 1, keys: 1)
        builder.keyUInt32("general.alignment", 256)
        builder.tensorInfo("x", dimensions: [2], type: 0, offset: 256)
        builder.data([UInt8](repeating: 0, count: 256) + [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40], alignment: 256)
        let file = try open(builder.bytes)
        #expect(file.alignment == 256)
        #expect(try file.tensor("x").toArray() == [1, 2])
        guard case .misalignedTensor(_, "x", 4, 32) = error(GGUFBuilder.oneTensor(offset: 4)) else { return #expect(Bool(false)) }
    }

    @Test func rejectsBadShapesAndTypes() {
        guard case .invalidShape = error(GGUFBuilder.oneTensor(dimensions: [1 << 40, 1 << 40])) else { return #expect(Bool(false)) }
        guard case .invalidShape = error(GGUFBuilder.oneTensor(dimensions: [UInt64.max])) else { return #expect(Bool(false)) }
        guard case .invalidShape = error(GGUFBuilder.oneTensor(dimensions: [UInt64](repeating: 1, count: 100))) else { return #expect(Bool(false)) }
        // Q4_0 rows must be whole 32-element blocks.
        guard case .invalidShape = error(GGUFBuilder.oneTensor(dimensions: [33], type: 2)) else { return #expect(Bool(false)) }
        guard case .unknownTensorType(_, "x", 99) = error(GGUFBuilder.oneTensor(type: 99)) else { return #expect(Bool(false)) }
        guard case .tensorOutOfRange(_, "x", 0, 400, 16) = error(GGUFBuilder.oneTensor(dimensions: [100])) else { return #expect(Bool(false)) }
        guard case .tensorOutOfRange = error(GGUFBuilder.oneTensor(offset: 1 << 62)) else { return #expect(Bool(false)) }
        var builder = GGUFBuilder()
        builder.header(tensors: 2, keys: 0)
        builder.tensorInfo("x", dimensions: [1], type: 0, offset: 0)
        builder.tensorInfo("x", dimensions: [1], type: 0, offset: 0)
        builder.data([0, 0, 0, 0])
        guard case .duplicateTensor(_, "x") = error(builder.bytes) else { return #expect(Bool(false)) }
    }

    @Test func unsupportedTypesStillGiveRawBytes() throws {
        let bytes = GGUFBuilder.oneTensor(dimensions: [256], type: GGUFTensorType.iq2_XXS.rawValue,
                                          data: [UInt8](repeating: 1, count: 66))
        guard case .unsupportedTensorType(_, "x", "IQ2_XXS") = error(bytes, tensor: "x") else { return #expect(Bool(false)) }
        let raw = try open(bytes).rawBytes("x")
        #expect(raw.bytes.count == 66 && raw.bytes.allSatisfy { $0 == 1 })
        guard case .missingTensor(_, "y") = error(bytes, tensor: "y") else { return #expect(Bool(false)) }
        #expect(throws: GGUFError.self) { try GGUFFile(url: URL(fileURLWithPath: "/nonexistent/model.gguf")) }
    }

    /// Every truncation and every single-byte corruption of a valid file either throws a
    /// `GGUFError` or opens; tensors of a file that opens either load or throw. Never a crash.
    @Test func survivesEveryTruncationAndByteCorruption() throws {
        let original = try [UInt8](Data(contentsOf: GGUFTests.fixture))
        let url = try writeTemporary(original, name: "sweep.gguf")
        var opened = 0, failed = 0
        func attempt(_ bytes: [UInt8]) {
            try! Data(bytes).write(to: url) // nothing maps the file between attempts
            do {
                let file = try GGUFFile(url: url)
                for name in file.tensorNames { _ = try? file.tensor(name) }
                opened += 1
            } catch is GGUFError {
                failed += 1
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        let clock = ContinuousClock()
        let started = clock.now
        let headerEnd = 1504 // the metadata and tensor table of the fixture end here
        for length in 0..<original.count where length < headerEnd || length % 7 == 0 {
            attempt(Array(original.prefix(length)))
        }
        for position in 0..<original.count where position < headerEnd || position % 7 == 0 {
            var bytes = original
            bytes[position] ^= 0xFF
            attempt(bytes)
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            var bytes = original
            for _ in 0..<4 {
                bytes[Int.random(in: 0..<headerEnd, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            attempt(bytes)
        }
        print("GGUF sweep: \(opened) opened, \(failed) refused in \(clock.now - started)")
        #expect(opened > 0 && failed > 0)
    }
}

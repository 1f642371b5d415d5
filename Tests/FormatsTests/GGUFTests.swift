import Foundation
import Testing
import TensorCore
import TestSupport
@testable import Formats

@Suite struct GGUFTests {
    struct Expected: Decodable {
        struct Entry: Decodable { let type: String; let shape: [Int]; let values: [Double] }
        let tensors: [String: Entry]
        let tensorOrder: [String]
        enum CodingKeys: String, CodingKey { case tensors, tensorOrder = "tensor_order" }
    }

    static let fixture = fixtureURL("gguf_all_types.gguf")

    /// gguf-py wrote one tensor per type and dequantized it (scripts/fixtures/gguf_files.py);
    /// every value must match bit for bit.
    @Test func dequantizesEveryTypeExactlyAsGGUFPy() throws {
        let expected = try decodeJSONFile(Expected.self, from: fixtureURL("gguf_all_types.json"))
        let file = try GGUFFile(url: Self.fixture)
        #expect(file.version == 3)
        #expect(file.tensorNames == expected.tensorOrder)
        for (name, entry) in expected.tensors {
            let info = try #require(file.info(name))
            #expect(info.type.name == entry.type, "\(name)")
            #expect(info.shape == entry.shape, "\(name)")
            let tensor = try file.tensor(name)
            #expect(tensor.shape == entry.shape, "\(name)")
            #expect(tensor.dtype == info.type.storageType ?? .float32, "\(name)")
            let values = tensor.toArray()
            let mismatches = zip(values, entry.values).filter { $0.0.bitPattern != Float($0.1).bitPattern }
            #expect(values.count == entry.values.count && mismatches.isEmpty, "\(name): \(mismatches.prefix(4))")
        }
        let types = Set(expected.tensors.values.map(\.type))
        #expect(types.count == 17)
    }

    @Test func readsMetadataOfEveryValueType() throws {
        let metadata = try GGUFFile(url: Self.fixture).metadata
        #expect(metadata["general.architecture"] == .string("test"))
        #expect(metadata["test.u8"] == .uint8(200))
        #expect(metadata["test.i8"] == .int8(-100))
        #expect(metadata["test.u16"] == .uint16(60000))
        #expect(metadata["test.i16"] == .int16(-30000))
        #expect(metadata["test.u32"] == .uint32(4_000_000_000))
        #expect(metadata["test.i32"] == .int32(-2_000_000_000))
        #expect(metadata["test.f32"] == .float32(0.25))
        #expect(metadata["test.u64"] == .uint64(1 << 63 + 5))
        #expect(metadata["test.u64"]?.integer == nil)
        #expect(metadata["test.i64"] == .int64(-(1 << 62)))
        #expect(metadata["test.f64"] == .float64(3.141592653589793))
        #expect(metadata["test.bool"]?.bool == true)
        #expect(metadata["test.string"]?.string == "héllo, wörld")
        #expect(metadata["test.ints"]?.integers == [1, -2, 3])
        #expect(metadata["test.strings"]?.strings == ["a", "bc", ""])
        #expect(metadata["test.floats"]?.floats == [0.5, -1.5])
        let nested = try #require(metadata["test.nested"]?.array)
        #expect(nested.map(\.integers) == [[1, 2], [3, 4, 5]])
        #expect(metadata["test.i16"]?.double == -30000)
    }

    @Test func floatTensorsBorrowTheMappingAndRawBytesKeepBlocks() throws {
        var file: GGUFFile? = try GGUFFile(url: Self.fixture)
        let first = try #require(try file?.tensor("plain.f16"))
        let second = try #require(try file?.tensor("plain.f16"))
        #expect(!first.storage.isOwned && first.storage.bytes == second.storage.bytes)
        let raw = try #require(try file?.rawBytes("quant.q4_1"))
        #expect(raw.type == .q4_1 && raw.shape == [4, 64] && raw.bytes.count == 4 * 2 * 20)
        let values = first.toArray()
        file = nil
        #expect(first.toArray() == values)
        #expect(raw.bytes.count == 160) // still mapped: `raw` keeps the mapping alive
    }

    @Test func versionTwoReadsLikeVersionThree() throws {
        var bytes = try [UInt8](Data(contentsOf: Self.fixture))
        bytes[4] = 2
        let url = try writeTemporary(bytes)
        let file = try GGUFFile(url: url)
        #expect(file.version == 2)
        #expect(try file.tensor("quant.q5_1").toArray() == GGUFFile(url: Self.fixture).tensor("quant.q5_1").toArray())
    }

    @Test func typeNamesAndSizesFollowGGML() {
        #expect(GGUFTensorType.q4_K.name == "Q4_K")
        #expect(GGUFTensorType.iq2_XXS.name == "IQ2_XXS")
        #expect(GGUFTensorType.bf16.name == "BF16")
        #expect(GGUFTensorType.q6_K.blockByteCount == 210 && GGUFTensorType.q6_K.blockSize == 256)
    }

    struct SmolLM2Reference: Decodable {
        struct Entry: Decodable { let type: String; let shape: [Int] }
        struct Checked: Decodable {
            let first: [Double]
            let sum: Double
            let absSum: Double
            enum CodingKeys: String, CodingKey { case first, sum, absSum = "abs_sum" }
        }
        let tensorCount: Int
        let tensors: [String: Entry]
        let checked: [String: Checked]
        enum CodingKeys: String, CodingKey { case tensorCount = "tensor_count", tensors, checked }
    }

    /// The real SmolLM2-135M-Instruct Q4_1 file: all 272 tensors load with gguf-py's types and
    /// shapes, and a Q4_1, the Q8_0 and an F32 tensor match gguf-py's dequantization.
    @Test func loadsRealSmolLM2File() throws {
        guard let url = try assetURL("SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf") else { return }
        let reference = try decodeJSONFile(SmolLM2Reference.self, from: fixtureURL("gguf_smollm2.json"))
        let start = Date()
        let file = try GGUFFile(url: url)
        let opened = Date()
        let tensors = try file.tensors()
        let loaded = Date()
        print("SmolLM2 GGUF: open \(Int(opened.timeIntervalSince(start) * 1000)) ms, "
            + "load + dequantize \(tensors.count) tensors \(Int(loaded.timeIntervalSince(opened) * 1000)) ms")
        #expect(file.tensorNames.count == reference.tensorCount && tensors.count == 272)
        #expect(file.metadata["general.architecture"]?.string == "llama")
        #expect(file.metadata["tokenizer.ggml.tokens"]?.strings?.count == 49152)
        for (name, entry) in reference.tensors {
            let info = try #require(file.info(name), "\(name)")
            #expect(info.type.name == entry.type && info.shape == entry.shape, "\(name)")
            #expect(tensors[name]?.shape == entry.shape, "\(name)")
        }
        for (name, checked) in reference.checked {
            let values = try #require(tensors[name]).toArray()
            #expect(Array(values.prefix(64)) == checked.first.map { Float($0) }, "\(name)")
            let sum = values.reduce(0.0) { $0 + Double($1) }
            let absSum = values.reduce(0.0) { $0 + Double(abs($1)) }
            #expect(abs(sum - checked.sum) <= 1e-9 * max(1, checked.absSum), "\(name): sum \(sum) vs \(checked.sum)")
            #expect(abs(absSum - checked.absSum) <= 1e-9 * checked.absSum, "\(name)")
        }
    }
}

/// Writes `bytes` to a fresh temporary file and returns its URL. The folder is in memory
/// (`/dev/shm`) where there is one: fuzz sweeps rewrite their file thousands of times, and
/// truncating files on a disk mounted with `discard` costs milliseconds each.
func writeTemporary(_ bytes: [UInt8], name: String = "file.bin") throws -> URL {
    let memory = URL(fileURLWithPath: "/dev/shm")
    let base = FileManager.default.isWritableFile(atPath: memory.path) ? memory : FileManager.default.temporaryDirectory
    let folder = base.appendingPathComponent("formats-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let url = folder.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url
}

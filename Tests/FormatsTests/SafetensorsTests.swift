import Foundation
import Testing
import TensorCore
import TestSupport
@testable import Formats

@Suite struct SafetensorsTests {
    struct Expected: Decodable {
        struct Entry: Decodable { let dtype: String; let shape: [Int]; let values: [Double] }
        let metadata: [String: String]
        let tensors: [String: Entry]
    }

    func temporaryURL(_ name: String = "model.safetensors") throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder.appendingPathComponent(name)
    }

    /// Python's safetensors wrote one tensor of every dtype (scripts/fixtures/safetensors_files.py).
    @Test func readsEveryDTypeWrittenByPython() throws {
        let expected = try decodeJSONFile(Expected.self, from: fixtureURL("safetensors_all_dtypes.json"))
        let file = try SafetensorsFile(url: fixtureURL("safetensors_all_dtypes.safetensors"))
        #expect(file.names == expected.tensors.keys.sorted())
        #expect(file.metadata == expected.metadata)
        #expect(Set(file.names.compactMap { file.info($0)?.dtype }) == Set(SafetensorsDType.allCases))
        for (name, entry) in expected.tensors {
            let info = try #require(file.info(name))
            let tensor = try file.tensor(name)
            #expect(info.dtype.rawValue == entry.dtype, "\(name)")
            #expect(info.byteRange.count == entry.shape.reduce(1, *) * info.dtype.byteSize, "\(name)")
            #expect(tensor.shape == entry.shape, "\(name)")
            #expect(tensor.dtype == info.dtype.storageType ?? .float32, "\(name)")
            #expect(tensor.toArray() == entry.values.map { Float($0) }, "\(name)")
        }
    }

    @Test func floatTensorsBorrowTheMappingAndOutliveTheFile() throws {
        var file: SafetensorsFile? = try SafetensorsFile(url: fixtureURL("safetensors_all_dtypes.safetensors"))
        let first = try #require(try file?.tensor("tensor.bf16"))
        let second = try #require(try file?.tensor("tensor.bf16"))
        #expect(first.storage.bytes == second.storage.bytes)
        file = nil
        #expect(first.toArray()[0] == -3.5)
        #expect(!first.requiresGradient)
    }

    @Test func decodesSpecialFloatBits() {
        #expect(Float(halfBits: 0x7c00) == .infinity)
        #expect(Float(halfBits: 0xfc00) == -.infinity)
        #expect(Float(halfBits: 0x7e00).isNaN)
        #expect(Float(halfBits: 0x0001) == 0x1p-24)
        #expect(Float(halfBits: 0x8000).sign == .minus)
        #expect(Float(float8E4M3Bits: 0x7f).isNaN)
        #expect(Float(float8E4M3Bits: 0x7e) == 448)
        #expect(Float(float8E4M3Bits: 0x78) == 256) // exponent 1111 is finite in the fn variant
        #expect(Float(float8E4M3Bits: 0x81) == -0x1p-9)
        var e5m2: [Float] = [0, 0]
        SafetensorsDType.float8E5M2.widen([UInt8(0x7c), 0xfe], count: 2, into: &e5m2)
        #expect(e5m2[0] == .infinity && e5m2[1].isNaN)
    }

    /// A tensor placed at an offset that is not a multiple of its element size is copied.
    @Test func misalignedTensorsAreCopied() throws {
        let header = #"{"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"w":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}}"#
        let padded = header + String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
        let floats: [Float] = [1.5, -2]
        let data: [UInt8] = [0x00, 0x3c] + floats.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
        let file = try SafetensorsFile(url: try craftedSafetensors(header: padded, data: data))
        #expect(try file.tensor("h").toArray() == [1])
        #expect(try file.tensor("w").toArray() == floats)
        #expect(try file.tensor("w").dtype == DType.float32)
    }

    @Test func writeThenReadRoundTrips() throws {
        let url = try temporaryURL()
        let base = Tensor.randomNormal([3, 4], seed: 1)
        let tensors: [String: Tensor] = [
            "layer.weight": base,
            "layer.half": base.converted(to: .float16),
            "layer.brain": base.converted(to: .bfloat16),
            "layer.transposed": base.transposed(),
            "layer.sliced": base.sliced(axis: 1, 1..<3),
            "layer.scalar": Tensor(scalar: 3),
            "layer.empty": Tensor.zeros([0, 5]),
            "name with \"quotes\" and ünïcode": Tensor([1, 2], shape: [2]),
        ]
        let metadata = ["format": "pt", "note": "line\nbreak \"quoted\" \\ tab\t \u{1}"]
        try SafetensorsWriter.write(tensors, metadata: metadata, to: url) { name in
            name == "layer.sliced" ? .bfloat16 : nil
        }
        let file = try SafetensorsFile(url: url)
        #expect(file.names == tensors.keys.sorted())
        #expect(file.metadata == metadata)
        for (name, tensor) in tensors {
            let read = try file.tensor(name)
            #expect(read.shape == tensor.shape, "\(name)")
            let expectedType: DType = name == "layer.sliced" ? .bfloat16 : tensor.dtype
            #expect(read.dtype == expectedType, "\(name)")
            let expected = name == "layer.sliced" ? tensor.converted(to: .bfloat16) : tensor
            #expect(read.toArray() == expected.toArray(), "\(name)")
            let info = try #require(file.info(name))
            #expect(info.byteRange.lowerBound % info.dtype.byteSize == 0, "\(name) is aligned")
        }
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect(headerLength % 8 == 0)
    }

    /// The file Swift writes for these tensors is committed; scripts/fixtures/safetensors_files.py
    /// checks that Python's `safe_open` reads it. `UPDATE_FIXTURES=1` rewrites it.
    @Test func writerMatchesCommittedFixture() throws {
        let tensors: [String: Tensor] = [
            "a.weight": (Tensor.arange(6) * 0.5 - 1).reshaped([2, 3]),
            "b.half": Tensor([1, -2.5, 65504], shape: [3]).converted(to: .float16),
            "c.bfloat": Tensor([1, -2, 0.15625, 3e38], shape: [2, 2]).converted(to: .bfloat16),
            "d.scalar": Tensor(scalar: 7.25),
            "e.empty": Tensor.zeros([0, 3]),
            "f.transposed": Tensor.arange(6).reshaped([3, 2]).transposed(),
            "g.narrowed": Tensor([0.1, 0.2, 0.3], shape: [3]),
        ]
        let url = try temporaryURL()
        let metadata = ["format": "pt", "writer": "SwiftPEFT"]
        try SafetensorsWriter.write(tensors, metadata: metadata, to: url) { $0 == "g.narrowed" ? .float16 : nil }
        let fixture = fixtureURL("safetensors_swift_written.safetensors")
        if ProcessInfo.processInfo.environment["UPDATE_FIXTURES"] != nil {
            try SafetensorsWriter.write(tensors, metadata: metadata, to: fixture) { $0 == "g.narrowed" ? .float16 : nil }
        }
        #expect(try Data(contentsOf: url) == Data(contentsOf: fixture))
    }

    @Test func writeReplacesAtomicallyAndLeavesNoTemporaryFiles() throws {
        let url = try temporaryURL()
        try SafetensorsWriter.write(["w": Tensor([1], shape: [1])], to: url)
        try SafetensorsWriter.write(["w": Tensor([2, 3], shape: [2])], to: url)
        #expect(try SafetensorsFile(url: url).tensor("w").toArray() == [2, 3])
        // A rejected write leaves the previous file in place.
        #expect(throws: SafetensorsError.self) {
            try SafetensorsWriter.write(["__metadata__": Tensor([4], shape: [1])], to: url)
        }
        #expect(try SafetensorsFile(url: url).tensor("w").toArray() == [2, 3])
        let folder = url.deletingLastPathComponent().path
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["model.safetensors"])
    }

    @Test func writeIntoMissingFolderThrows() {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/model.safetensors")
        #expect(throws: SafetensorsError.self) { try SafetensorsWriter.write(["w": Tensor.zeros([1])], to: url) }
    }

    /// all-MiniLM-L6-v2's real file (90 MB, 104 tensors) opens in milliseconds: only the
    /// header is parsed, the weights stay mapped.
    @Test func opensRealMiniLMInMilliseconds() throws {
        guard let url = try assetURL("all-MiniLM-L6-v2/model.safetensors") else { return }
        let clock = ContinuousClock()
        var opened: SafetensorsFile?
        let elapsed = try clock.measure { opened = try SafetensorsFile(url: url) }
        let file = try #require(opened)
        #expect(elapsed < .milliseconds(250), "opening took \(elapsed)")
        #expect(file.names.count == 104)
        #expect(file.metadata == ["format": "pt"])
        let embeddings = try file.tensor("embeddings.word_embeddings.weight")
        #expect(embeddings.shape == [30522, 384])
        #expect(embeddings.sliced(axis: 0, 101..<102).toArray().prefix(2) == [-0.01761939749121666, -0.007600549608469009])
        #expect(try file.tensor("embeddings.position_ids").toArray().suffix(1) == [511])
        let parameterCount = file.names.compactMap { file.info($0)?.shape.reduce(1, *) }.reduce(0, +)
        #expect(parameterCount == 22_713_728)
    }
}

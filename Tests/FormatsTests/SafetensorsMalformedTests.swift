import Foundation
import Testing
@testable import Formats

/// Writes a safetensors file from parts: the 8-byte length (the header's own unless given),
/// the header text and the data bytes.
func craftedSafetensors(header: String, data: [UInt8] = [], headerLength: UInt64? = nil) throws -> URL {
    try craftedFile(bytes: lengthPrefix(headerLength ?? UInt64(header.utf8.count)) + Array(header.utf8) + data)
}

func craftedFile(bytes: [UInt8]) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("crafted-\(UUID().uuidString).safetensors")
    try Data(bytes).write(to: url)
    return url
}

func lengthPrefix(_ length: UInt64) -> [UInt8] {
    withUnsafeBytes(of: length.littleEndian) { Array($0) }
}

@Suite struct SafetensorsMalformedTests {
    /// The error opening `url` and reading every tensor, or nil when all of it succeeds.
    func failure(_ url: URL) -> SafetensorsError? {
        do {
            let file = try SafetensorsFile(url: url)
            _ = try file.tensors()
            return nil
        } catch let error as SafetensorsError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    func failure(header: String, data: [UInt8] = []) throws -> SafetensorsError? {
        failure(try craftedSafetensors(header: header, data: data))
    }

    @Test func fileShorterThanEightBytes() throws {
        for length in [0, 5] {
            let url = try craftedFile(bytes: [UInt8](repeating: 1, count: length))
            #expect(failure(url) == .fileTooShort(file: url.path, byteCount: length))
        }
    }

    @Test func headerLengthLargerThanFile() throws {
        let url = try craftedSafetensors(header: "{}", headerLength: 100)
        #expect(failure(url) == .headerTooLarge(file: url.path, headerLength: 100, fileLength: 10))
        let huge = try craftedSafetensors(header: "{}", headerLength: .max)
        #expect(failure(huge) == .headerTooLarge(file: huge.path, headerLength: .max, fileLength: 10))
    }

    @Test func headerThatIsNotUTF8() throws {
        let url = try craftedFile(bytes: lengthPrefix(4) + [0x7b, 0xff, 0xfe, 0x7d])
        #expect(failure(url) == .malformedHeader(file: url.path, reason: "not valid UTF-8"))
    }

    @Test func headerThatIsNotJSON() throws {
        let error = try failure(header: "{\"a\": ")
        guard case let .malformedHeader(_, reason)? = error else {
            Issue.record("expected malformedHeader, got \(String(describing: error))")
            return
        }
        #expect(reason.hasPrefix("not valid JSON"))
    }

    @Test func headerThatIsNotAnObject() throws {
        let url = try craftedSafetensors(header: "[1, 2]")
        #expect(failure(url) == .malformedHeader(file: url.path, reason: "not a JSON object"))
    }

    @Test func metadataThatIsNotAStringMap() throws {
        let error = try failure(header: #"{"__metadata__": {"epochs": 3}}"#)
        guard case let .invalidMetadata(_, reason)? = error else {
            Issue.record("expected invalidMetadata, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("epochs"))
    }

    @Test(arguments: [
        (#"{"w": {"shape": [1], "data_offsets": [0, 4]}}"#, "missing 'dtype'"),
        (#"{"w": {"dtype": "F32", "data_offsets": [0, 4]}}"#, "missing 'shape'"),
        (#"{"w": {"dtype": "F32", "shape": [1]}}"#, "missing 'data_offsets'"),
        (#"{"w": {"dtype": 5, "shape": [1], "data_offsets": [0, 4]}}"#, "'dtype'"),
        (#"{"w": {"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}}"#, "'shape'"),
        (#"{"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}"#, "'shape.0'"),
        (#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, null]}}"#, "'data_offsets.1'"),
        (#"{"w": {"dtype": "F32", "shape": [99999999999999999999], "data_offsets": [0, 4]}}"#, "'shape.0'"),
        (#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}"#, "'data_offsets' should hold 2"),
        (#"{"w": 5}"#, "entry"),
    ])
    func entryWithMissingOrMistypedField(header: String, expectedReason: String) throws {
        let error = try failure(header: header, data: [0, 0, 0, 0])
        guard case let .invalidEntry(_, tensor, reason)? = error else {
            Issue.record("expected invalidEntry, got \(String(describing: error))")
            return
        }
        #expect(tensor == "w")
        #expect(reason.contains(expectedReason), "\(reason)")
    }

    @Test func unknownDType() throws {
        let url = try craftedSafetensors(header: #"{"w": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}"#,
                                         data: [UInt8](repeating: 0, count: 16))
        #expect(failure(url) == .unknownDType(file: url.path, tensor: "w", dtype: "F128"))
    }

    @Test func negativeOrOverflowingShape() throws {
        for shape in [[-1, 2], [1 << 62, 1 << 62], [1 << 62]] {
            let url = try craftedSafetensors(
                header: #"{"w": {"dtype": "F32", "shape": \#(shape), "data_offsets": [0, 8]}}"#, data: [UInt8](repeating: 0, count: 8))
            #expect(failure(url) == .invalidShape(file: url.path, tensor: "w", shape: shape))
        }
    }

    @Test func dataOffsetsOutOfRange() throws {
        for (begin, end) in [(0, 100), (8, 4), (-4, 0)] {
            let url = try craftedSafetensors(
                header: #"{"w": {"dtype": "U8", "shape": [4], "data_offsets": [\#(begin), \#(end)]}}"#,
                data: [UInt8](repeating: 0, count: 8))
            #expect(failure(url) == .invalidOffsets(file: url.path, tensor: "w", begin: begin, end: end, dataLength: 8))
        }
    }

    @Test func byteLengthThatDisagreesWithDTypeAndShape() throws {
        let url = try craftedSafetensors(header: #"{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#,
                                         data: [UInt8](repeating: 0, count: 12))
        #expect(failure(url) == .byteLengthMismatch(file: url.path, tensor: "w", expected: 12, actual: 8))
    }

    @Test func overlappingTensors() throws {
        let shifted = try craftedSafetensors(
            header: #"{"a": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]}, "b": {"dtype": "U8", "shape": [8], "data_offsets": [4, 12]}}"#,
            data: [UInt8](repeating: 0, count: 12))
        #expect(failure(shifted) == .overlappingTensors(file: shifted.path, first: "a", second: "b"))
        // b sits inside a, and c starts after b ends but still inside a.
        let nested = try craftedSafetensors(
            header: #"{"a": {"dtype": "U8", "shape": [16], "data_offsets": [0, 16]}, "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}, "c": {"dtype": "U8", "shape": [4], "data_offsets": [8, 12]}}"#,
            data: [UInt8](repeating: 0, count: 16))
        #expect(failure(nested) == .overlappingTensors(file: nested.path, first: "a", second: "b"))
    }

    @Test func emptyTensorsMayShareAnOffset() throws {
        let url = try craftedSafetensors(
            header: #"{"a": {"dtype": "F32", "shape": [0, 3], "data_offsets": [4, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#,
            data: [0, 0, 0x80, 0x3f])
        let file = try SafetensorsFile(url: url)
        #expect(try file.tensor("a").shape == [0, 3])
        #expect(try file.tensor("b").toArray() == [1])
    }

    @Test func missingTensorName() throws {
        let url = try craftedSafetensors(header: "{}")
        let file = try SafetensorsFile(url: url)
        #expect(file.names.isEmpty)
        #expect(file.info("w") == nil)
        #expect(throws: SafetensorsError.missingTensor(file: url.path, tensor: "w")) { try file.tensor("w") }
    }

    @Test func missingFileOrFolder() {
        let missing = URL(fileURLWithPath: "/nonexistent/model.safetensors")
        #expect(failure(missing).map { if case .unreadable = $0 { true } else { false } } == true)
        let folder = FileManager.default.temporaryDirectory
        #expect(failure(folder) == .unreadable(file: folder.path, reason: "not a regular file"))
    }

    @Test func descriptionsNameFileAndTensor() {
        let error = SafetensorsError.byteLengthMismatch(file: "/m/model.safetensors", tensor: "w", expected: 12, actual: 8)
        #expect(error.description == "/m/model.safetensors: tensor 'w': holds 8 bytes, dtype and shape need 12")
    }

    /// Every truncation and many single-byte corruptions of a valid file either read or throw a
    /// `SafetensorsError`; none crashes.
    @Test func corruptedFilesNeverCrash() throws {
        let header = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"I8","shape":[2,2],"data_offsets":[4,8]}}"#
        let valid = lengthPrefix(UInt64(header.utf8.count)) + Array(header.utf8) + [0, 60, 0, 188, 1, 2, 3, 255]
        for length in 0..<valid.count {
            let url = try craftedFile(bytes: Array(valid.prefix(length)))
            #expect(failure(url) != nil, "truncated to \(length) bytes")
            try FileManager.default.removeItem(at: url)
        }
        for position in valid.indices {
            for replacement: UInt8 in [0x00, 0x22, 0x2d, 0x39, 0x5d, 0x7d, 0xff] where valid[position] != replacement {
                var corrupted = valid
                corrupted[position] = replacement
                let url = try craftedFile(bytes: corrupted)
                _ = failure(url)
                try FileManager.default.removeItem(at: url)
            }
        }
    }
}

import Foundation
import Formats

/// Reading and writing a `SparseDiff` as a safetensors file (format in `SparseDiff`'s comment
/// and docs/sparse-diff.md). `SafetensorsWriter` writes float tensors only, so the integer
/// index arrays are laid out here: header JSON padded to 8 bytes, 8-byte elements first.
extension SparseDiff {
    /// Writes the diff atomically to `url`.
    public func write(to url: URL) throws {
        let maximumCount = entries.values.map { $0.shape.reduce(1, *) }.max() ?? 0
        let wideIndices = maximumCount > Int(Int32.max)
        var arrays: [(name: String, dtype: String, elementSize: Int, count: Int, bytes: Data)] = []
        func indexArray(_ name: String, _ indices: [Int]) {
            let bytes = wideIndices ? indices.map { Int64($0).littleEndian }.withUnsafeBytes { Data($0) }
                : indices.map { Int32($0).littleEndian }.withUnsafeBytes { Data($0) }
            arrays.append((name, wideIndices ? "I64" : "I32", wideIndices ? 8 : 4, indices.count, bytes))
        }
        func floatArray(_ name: String, _ values: [Float]) {
            arrays.append((name, "F32", 4, values.count, values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) }))
        }
        var shapes: [String: [Int]] = [:]
        for (path, entry) in entries {
            shapes[path] = entry.shape
            indexArray(path + ".indices", entry.indices)
            floatArray(path + ".values", entry.deltas)
            if !entry.absoluteIndices.isEmpty {
                indexArray(path + ".absolute_indices", entry.absoluteIndices)
                floatArray(path + ".absolute_values", entry.absoluteValues)
            }
        }
        arrays.sort { ($0.elementSize, $1.name) > ($1.elementSize, $0.name) }
        var header: [String: Any] = [:]
        var offset = 0
        for array in arrays {
            header[array.name] = ["dtype": array.dtype, "shape": [array.count], "data_offsets": [offset, offset + array.bytes.count]]
            offset += array.bytes.count
        }
        let shapesJSON = String(decoding: try JSONSerialization.data(withJSONObject: shapes, options: [.sortedKeys]), as: UTF8.self)
        header["__metadata__"] = metadata.merging(
            ["format": Self.formatName, "format_version": "1", "shapes": shapesJSON]) { _, fixed in fixed }
        var headerBytes = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
        headerBytes.append(contentsOf: [UInt8](repeating: UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8))
        var file = Data()
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(headerBytes)
        for array in arrays { file.append(array.bytes) }
        try file.write(to: url, options: .atomic)
    }

    /// Reads a diff written by `write(to:)`; throws `SparseDiffError.invalidFile` (or a
    /// `SafetensorsError` for a malformed safetensors file) naming what is wrong.
    public init(contentsOf url: URL) throws {
        let file = try SafetensorsFile(url: url)
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        func invalid(_ reason: String) -> SparseDiffError { .invalidFile(file: url.path, reason: reason) }
        guard file.metadata["format"] == Self.formatName else {
            throw invalid("metadata 'format' is \(file.metadata["format"].map { "'\($0)'" } ?? "missing"), expected '\(Self.formatName)'")
        }
        guard let shapesText = file.metadata["shapes"],
              let shapes = try? JSONSerialization.jsonObject(with: Data(shapesText.utf8)) as? [String: [Int]] else {
            throw invalid("metadata 'shapes' must be a JSON object of integer lists")
        }
        func integers(_ name: String, count: Int) throws -> [Int] {
            guard let info = file.info(name) else { throw invalid("missing tensor '\(name)'") }
            guard info.shape.count == 1 else { throw invalid("'\(name)' must be 1-D, has shape \(info.shape)") }
            let start = info.byteRange.lowerBound
            let values: [Int]
            switch info.dtype {
            case .int32: values = (0..<info.shape[0]).map { Int(Int32(littleEndian: data.load(at: start + 4 * $0))) }
            case .int64: values = (0..<info.shape[0]).map { Int(Int64(littleEndian: data.load(at: start + 8 * $0))) }
            default: throw invalid("'\(name)' must be I32 or I64, is \(info.dtype.rawValue)")
            }
            guard values.allSatisfy({ (0..<count).contains($0) }) else { throw invalid("'\(name)' has an index outside 0..<\(count)") }
            return values
        }
        func floats(_ name: String, count: Int) throws -> [Float] {
            guard let info = file.info(name), info.dtype == .float32, info.shape == [count] else {
                throw invalid("'\(name)' must be F32 of shape [\(count)]")
            }
            return (0..<count).map { Float(bitPattern: UInt32(littleEndian: data.load(at: info.byteRange.lowerBound + 4 * $0))) }
        }
        var entries: [String: Entry] = [:]
        for (path, shape) in shapes {
            let size = shape.reduce(1, *)
            let indices = try integers(path + ".indices", count: size)
            let deltas = try floats(path + ".values", count: indices.count)
            var absoluteIndices: [Int] = [], absoluteValues: [Float] = []
            if file.info(path + ".absolute_indices") != nil {
                absoluteIndices = try integers(path + ".absolute_indices", count: size)
                absoluteValues = try floats(path + ".absolute_values", count: absoluteIndices.count)
            }
            entries[path] = Entry(shape: shape, indices: indices, deltas: deltas,
                                  absoluteIndices: absoluteIndices, absoluteValues: absoluteValues)
        }
        let known = Set(shapes.keys.flatMap { [$0 + ".indices", $0 + ".values", $0 + ".absolute_indices", $0 + ".absolute_values"] })
        if let stray = file.names.first(where: { !known.contains($0) }) {
            throw invalid("tensor '\(stray)' belongs to no path in metadata 'shapes'")
        }
        self.init(entries: entries, metadata: file.metadata.filter { !["format", "format_version", "shapes"].contains($0.key) })
    }
}

extension Data {
    /// A little-endian value at a byte offset of any alignment.
    fileprivate func load<Value: FixedWidthInteger>(at offset: Int) -> Value {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Value.self) }
    }
}

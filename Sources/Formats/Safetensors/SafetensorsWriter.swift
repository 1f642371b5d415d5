import Foundation
import TensorCore

/// Writes tensors to a safetensors file that Python's `safetensors` (and `SafetensorsFile`)
/// reads.
///
/// Tensors are written in their storage dtype (F32, F16 or BF16) unless `dtype` names another
/// for them; header keys are sorted; the header is padded with spaces to a multiple of 8
/// bytes; the data section holds wider dtypes first, then names in order, so every tensor is
/// aligned to its element size. The file appears atomically: the bytes go to a temporary file
/// in the same folder, which is flushed to disk (`fsync`) and then renamed over `url`.
///
/// ```swift
/// try SafetensorsWriter.write(["classifier.weight": weight], metadata: ["format": "pt"], to: url)
/// // Store every weight matrix as bfloat16, the rest unchanged:
/// try SafetensorsWriter.write(state, to: url) { name in name.hasSuffix(".weight") ? .bfloat16 : nil }
/// ```
public enum SafetensorsWriter {
    /// Writes `tensors` and `metadata` to `url`. `dtype` picks the stored type per tensor name
    /// (nil keeps the tensor's own); throws `SafetensorsError.unwritable` for an empty or
    /// reserved (`__metadata__`) name or an I/O failure, leaving any existing file untouched.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL,
                             dtype: (_ name: String) -> DType? = { _ in nil }) throws {
        let file = url.path
        for name in tensors.keys where name.isEmpty || name == "__metadata__" {
            throw SafetensorsError.unwritable(file: file, reason: "'\(name)' cannot name a tensor")
        }
        let planned = tensors.map { name, tensor in
            PlannedTensor(name: name, tensor: tensor, type: dtype(name) ?? tensor.dtype)
        }
        // Wider elements first keeps every tensor aligned to its element size.
        var dataOrder = planned.sorted { first, second in
            first.type.byteSize != second.type.byteSize ? first.type.byteSize > second.type.byteSize
                : first.name < second.name
        }
        var end = 0
        for index in dataOrder.indices {
            let length = dataOrder[index].tensor.count * dataOrder[index].type.byteSize
            dataOrder[index].byteRange = end..<(end + length)
            end += length
        }
        let header = headerBytes(dataOrder.sorted { $0.name < $1.name }, metadata: metadata)

        try AtomicFile.write(to: url) { output in
            var length = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: &length) { try output.append($0) }
            try header.withUnsafeBytes { try output.append($0) }
            for entry in dataOrder {
                let source = storedTensor(entry.tensor, as: entry.type)
                let start = source.storage.bytes + source.offset * source.dtype.byteSize
                try output.append(UnsafeRawBufferPointer(start: start, count: source.count * source.dtype.byteSize))
            }
        }
    }

    private struct PlannedTensor {
        let name: String
        let tensor: Tensor
        let type: DType
        var byteRange = 0..<0
    }

    /// The tensor as contiguous storage of `type`, reusing its storage where it already is.
    private static func storedTensor(_ tensor: Tensor, as type: DType) -> Tensor {
        if tensor.dtype == type && tensor.isContiguous { return tensor }
        return Tensor.withoutGradient { tensor.contiguous().converted(to: type) }
    }

    /// The JSON header, padded with spaces to a multiple of 8 bytes.
    private static func headerBytes(_ entries: [PlannedTensor], metadata: [String: String]) -> [UInt8] {
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        for entry in entries {
            let shape = entry.tensor.shape.map(String.init).joined(separator: ",")
            fields.append("\(jsonString(entry.name)):{\"dtype\":\"\(SafetensorsDType(entry.type).rawValue)\","
                + "\"shape\":[\(shape)],\"data_offsets\":[\(entry.byteRange.lowerBound),\(entry.byteRange.upperBound)]}")
        }
        var bytes = Array("{\(fields.joined(separator: ","))}".utf8)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - bytes.count % 8) % 8))
        return bytes
    }

    /// `text` as a JSON string literal.
    private static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

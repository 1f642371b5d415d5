import Foundation

/// The parsed and validated header of a safetensors file:
///
/// ```
/// [8 bytes: header length N, little-endian u64][N bytes: JSON header, UTF-8][data section]
/// header = {"__metadata__": {"format": "pt"},
///           "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
/// ```
///
/// `data_offsets` count bytes from the start of the data section. Every check that can fail
/// on file content throws a `SafetensorsError`; nothing here traps. Gaps between tensors are
/// tolerated (the reader never looks at them); overlaps are not.
struct SafetensorsHeader {
    /// Tensor descriptions by name, with byte ranges made absolute (from the start of the file).
    var entries: [String: SafetensorsFile.TensorInfo]
    var metadata: [String: String]

    init(bytes: UnsafeRawPointer, count fileLength: Int, file: String) throws {
        guard fileLength >= 8 else { throw SafetensorsError.fileTooShort(file: file, byteCount: fileLength) }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(fileLength - 8) else {
            throw SafetensorsError.headerTooLarge(file: file, headerLength: headerLength, fileLength: fileLength)
        }
        let headerBytes = UnsafeRawBufferPointer(start: bytes + 8, count: Int(headerLength))
        guard isValidUTF8(headerBytes) else {
            throw SafetensorsError.malformedHeader(file: file, reason: "not valid UTF-8")
        }
        let raw = try decodeRawHeader(Data(headerBytes), file: file)
        let dataStart = 8 + Int(headerLength)
        let dataLength = fileLength - dataStart
        metadata = raw.metadata
        entries = [:]
        for (name, entry) in raw.entries {
            entries[name] = try validatedInfo(entry, name: name, dataStart: dataStart, dataLength: dataLength, file: file)
        }
        try checkNoOverlap(file: file)
    }

    private func checkNoOverlap(file: String) throws {
        let occupied = entries.filter { !$0.value.byteRange.isEmpty }
            .sorted { ($0.value.byteRange.lowerBound, $0.key) < ($1.value.byteRange.lowerBound, $1.key) }
        var furthest: (name: String, end: Int)?
        for (name, info) in occupied {
            if let previous = furthest, previous.end > info.byteRange.lowerBound {
                throw SafetensorsError.overlappingTensors(file: file, first: previous.name, second: name)
            }
            if info.byteRange.upperBound > furthest?.end ?? Int.min { furthest = (name, info.byteRange.upperBound) }
        }
    }
}

private func validatedInfo(_ entry: RawEntry, name: String, dataStart: Int, dataLength: Int,
                           file: String) throws -> SafetensorsFile.TensorInfo {
    guard let dtype = SafetensorsDType(rawValue: entry.dtype) else {
        throw SafetensorsError.unknownDType(file: file, tensor: name, dtype: entry.dtype)
    }
    var elementCount = 1
    for dimension in entry.shape {
        let (product, overflow) = elementCount.multipliedReportingOverflow(by: dimension)
        guard dimension >= 0, !overflow else {
            throw SafetensorsError.invalidShape(file: file, tensor: name, shape: entry.shape)
        }
        elementCount = product
    }
    guard entry.dataOffsets.count == 2 else {
        throw SafetensorsError.invalidEntry(
            file: file, tensor: name, reason: "'data_offsets' should hold 2 numbers, not \(entry.dataOffsets.count)")
    }
    let begin = entry.dataOffsets[0], end = entry.dataOffsets[1]
    guard begin >= 0, begin <= end, end <= dataLength else {
        throw SafetensorsError.invalidOffsets(file: file, tensor: name, begin: begin, end: end, dataLength: dataLength)
    }
    let (expected, overflow) = elementCount.multipliedReportingOverflow(by: dtype.byteSize)
    guard !overflow else { throw SafetensorsError.invalidShape(file: file, tensor: name, shape: entry.shape) }
    guard expected == end - begin else {
        throw SafetensorsError.byteLengthMismatch(file: file, tensor: name, expected: expected, actual: end - begin)
    }
    return SafetensorsFile.TensorInfo(dtype: dtype, shape: entry.shape, byteRange: (dataStart + begin)..<(dataStart + end))
}

private func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue: continue
        case .emptyInput: return true
        case .error: return false
        }
    }
}

// MARK: - JSON decoding

/// A JSON integer that fits in `Int`. Foundation reports a fraction or an out-of-range number
/// as "not valid JSON" without a coding path; this reports it as a type mismatch at its key.
private struct WholeNumber: Decodable {
    let value: Int

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do {
            value = try container.decode(Int.self)
        } catch let error as DecodingError {
            throw error
        } catch {
            throw DecodingError.typeMismatch(Int.self, DecodingError.Context(
                codingPath: decoder.codingPath, debugDescription: "not a whole number that fits in 64 bits"))
        }
    }
}

private struct RawEntry: Decodable {
    let dtype: String
    let shapeNumbers: [WholeNumber]
    let offsetNumbers: [WholeNumber]
    var shape: [Int] { shapeNumbers.map(\.value) }
    var dataOffsets: [Int] { offsetNumbers.map(\.value) }

    enum CodingKeys: String, CodingKey {
        case dtype
        case shapeNumbers = "shape"
        case offsetNumbers = "data_offsets"
    }
}

private struct RawHeader: Decodable {
    static let metadataKey = "__metadata__"
    var entries: [String: RawEntry] = [:]
    var metadata: [String: String] = [:]

    struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == Self.metadataKey {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                entries[key.stringValue] = try container.decode(RawEntry.self, forKey: key)
            }
        }
    }
}

/// Decodes the header JSON, turning decoding failures into errors that name the tensor and key.
private func decodeRawHeader(_ data: Data, file: String) throws -> RawHeader {
    do {
        return try JSONDecoder().decode(RawHeader.self, from: data)
    } catch let error as DecodingError {
        throw headerError(error, file: file)
    }
}

private func headerError(_ error: DecodingError, file: String) -> SafetensorsError {
    let path: [any CodingKey]
    let problem: String
    switch error {
    case let .keyNotFound(key, context):
        path = context.codingPath
        problem = "missing '\(key.stringValue)'"
    case let .typeMismatch(type, context):
        path = context.codingPath
        problem = "should be \(jsonTypeName(type))"
    case let .valueNotFound(type, context):
        path = context.codingPath
        problem = "is null, should be \(jsonTypeName(type))"
    case let .dataCorrupted(context):
        path = context.codingPath
        problem = context.underlyingError.map { "\($0)" } ?? context.debugDescription
    @unknown default:
        return .malformedHeader(file: file, reason: "\(error)")
    }
    guard let first = path.first else {
        let reason = if case .typeMismatch = error { "not a JSON object" } else { "not valid JSON: \(problem)" }
        return .malformedHeader(file: file, reason: reason)
    }
    let inner = path.dropFirst().map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    let subject = inner.isEmpty ? "entry" : "'\(inner)'"
    if first.stringValue == RawHeader.metadataKey {
        return .invalidMetadata(file: file, reason: "\(subject) \(problem)")
    }
    return .invalidEntry(file: file, tensor: first.stringValue, reason: "\(subject) \(problem)")
}

private func jsonTypeName(_ type: Any.Type) -> String {
    switch type {
    case is Int.Type: "a whole number"
    case is String.Type: "a string"
    case is [Any].Type: "an array"
    case is [String: Any].Type: "an object"
    default: "\(type)"
    }
}

/// A tensor table entry as read from the file, before its range is checked against the data.
struct RawTensorInfo {
    let name: String
    /// Fastest-first, as GGUF stores them.
    let dimensions: [UInt64]
    let type: GGUFTensorType
    let offset: UInt64

    /// The entry with its row-major shape and absolute byte range, after checking that the
    /// shape is sane, the offset aligned and the bytes inside the data section.
    func validated(alignment: Int, dataStart: Int, dataLength: Int, file: String) throws -> GGUFFile.TensorInfo {
        func shapeError(_ reason: String) -> GGUFError {
            .invalidShape(file: file, tensor: name, dimensions: dimensions, reason: reason)
        }
        var count = 1
        for dimension in dimensions {
            guard let size = Int(exactly: dimension) else { throw shapeError("a dimension does not fit in 64-bit Int") }
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw shapeError("the element count overflows") }
            count = product
        }
        let first = dimensions.first.map { Int($0) } ?? 1
        guard first % type.blockSize == 0 else {
            throw shapeError("\(type.name) needs the first dimension to be a multiple of \(type.blockSize)")
        }
        let (byteCount, overflow) = (count / type.blockSize).multipliedReportingOverflow(by: type.blockByteCount)
        guard !overflow else { throw shapeError("the byte count overflows") }
        guard offset % UInt64(alignment) == 0 else {
            throw GGUFError.misalignedTensor(file: file, tensor: name, offset: offset, alignment: alignment)
        }
        guard offset <= UInt64(dataLength), byteCount <= dataLength - Int(offset) else {
            throw GGUFError.tensorOutOfRange(file: file, tensor: name, offset: offset, byteCount: byteCount, dataLength: dataLength)
        }
        let start = dataStart + Int(offset)
        return GGUFFile.TensorInfo(type: type, shape: dimensions.reversed().map { Int($0) }, byteRange: start..<(start + byteCount))
    }
}

extension GGUFCursor {
    /// ggml tensors have at most 4 dimensions; a few more are tolerated, not thousands.
    static let maximumDimensions = 8

    /// Reads one tensor table entry: name, dimension count, dimensions, type id, offset.
    mutating func readTensorInfo(index: Int) throws -> RawTensorInfo {
        let name = try readString("the name of tensor \(index)")
        let dimensionCount = try read(UInt32.self, "the dimension count of '\(name)'")
        guard dimensionCount <= UInt32(Self.maximumDimensions) else {
            throw GGUFError.invalidShape(file: file, tensor: name, dimensions: [],
                                         reason: "\(dimensionCount) dimensions (at most \(Self.maximumDimensions))")
        }
        var dimensions: [UInt64] = []
        for _ in 0..<dimensionCount {
            dimensions.append(try read(UInt64.self, "the dimensions of '\(name)'"))
        }
        let rawType = try read(UInt32.self, "the type of '\(name)'")
        guard let type = GGUFTensorType(rawValue: rawType) else {
            throw GGUFError.unknownTensorType(file: file, tensor: name, type: rawType)
        }
        let offset = try read(UInt64.self, "the offset of '\(name)'")
        return RawTensorInfo(name: name, dimensions: dimensions, type: type, offset: offset)
    }
}

/// JPEG decoding: baseline and extended sequential (SOF0/SOF1) and progressive (SOF2)
/// Huffman-coded 8-bit images, grayscale or YCbCr (any integer chroma subsampling, 4:4:4,
/// 4:2:2, 4:2:0 ...), restart intervals. Arithmetic coding, lossless, hierarchical, 12-bit
/// and CMYK files are rejected with `ImageDecodingError.unsupported`.
///
/// Reconstruction follows libjpeg's defaults (integer "islow" IDCT, fancy upsampling,
/// fixed-point color conversion), so pixels match PIL's decode exactly for 4:4:4, 4:2:2
/// and 4:2:0 files.
///
/// ```swift
/// let photo = try JPEGDecoder.decode(bytes, file: "flower.jpg")   // Image, 3 channels
/// ```
public enum JPEGDecoder {
    public static func decode(_ bytes: [UInt8], file: String = "<memory>") throws(ImageDecodingError) -> Image {
        do {
            return try bytes.withUnsafeBufferPointer { buffer in
                var decoder = JPEGFrameDecoder(bytes: buffer)
                return try decoder.decode()
            }
        } catch let error as JPEGSegmentError {
            throw .malformed(file: file, detail: error.detail)
        } catch let error as JPEGFrameDecoder.Failure {
            switch error {
            case let .unsupported(feature): throw .unsupported(file: file, feature: feature)
            case let .truncated(detail): throw .truncated(file: file, detail: detail)
            case .notJPEG: throw .badSignature(file: file, expected: "JPEG")
            }
        } catch {
            throw .malformed(file: file, detail: "\(error)")
        }
    }
}

/// The state of one frame while its segments are read.
struct JPEGFrameDecoder {
    enum Failure: Error { case unsupported(String), truncated(String), notJPEG }

    struct Component {
        let id: Int, horizontal: Int, vertical: Int, quantizationTable: Int
        var blocksPerLine = 0, blocksPerColumn = 0
        /// Blocks that cover the component's own samples (a non-interleaved scan's extent).
        var usedBlocksPerLine = 0, usedBlocksPerColumn = 0
        var coefficients: [Int32] = []
        var dcPredictor = 0
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var position = 2
    var width = 0, height = 0
    var components: [Component] = []
    var isProgressive = false
    var quantization = [[Int]](repeating: [], count: 4)
    var dcTables = [JPEGHuffmanTable?](repeating: nil, count: 4)
    var acTables = [JPEGHuffmanTable?](repeating: nil, count: 4)
    var restartInterval = 0
    var adobeTransform: Int?
    var maxHorizontal = 1, maxVertical = 1

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func decode() throws -> Image {
        guard bytes.count >= 2, bytes[0] == 0xFF, bytes[1] == 0xD8 else { throw Failure.notJPEG }
        var sawScan = false
        while true {
            guard position + 1 < bytes.count else {
                if sawScan { break }   // a missing EOI after complete scans is tolerated, as libjpeg does
                throw Failure.truncated("no image data")
            }
            guard bytes[position] == 0xFF else { throw JPEGSegmentError("expected a marker at byte \(position)") }
            let marker = bytes[position + 1]
            position += 2
            if marker == 0xFF { position -= 1; continue }   // fill byte
            if marker == 0xD9 { break }                      // EOI
            if (0xD0...0xD7).contains(marker) || marker == 0x01 { continue }
            let segment = try readSegment()
            switch marker {
            case 0xC0, 0xC1, 0xC2: try readFrame(segment, progressive: marker == 0xC2)
            case 0xC3, 0xC5...0xC7, 0xC9...0xCB, 0xCD...0xCF:
                throw Failure.unsupported("JPEG process SOF\(marker - 0xC0) (only baseline, extended and progressive Huffman)")
            case 0xC4: try readHuffmanTables(segment)
            case 0xDB: try readQuantizationTables(segment)
            case 0xDD:
                guard segment.count >= 2 else { throw JPEGSegmentError("DRI segment of \(segment.count) bytes") }
                restartInterval = Int(segment[0]) << 8 | Int(segment[1])
            case 0xEE where segment.count >= 12 && segment.starts(with: Array("Adobe".utf8)):
                adobeTransform = Int(segment[11])
            case 0xDA:
                try readScan(segment)
                sawScan = true
            default: break   // APPn, COM and others carry nothing we need
            }
        }
        guard sawScan else { throw Failure.truncated("no scan before the end of the file") }
        return try reconstruct()
    }

    private mutating func readSegment() throws -> ArraySlice<UInt8> {
        guard position + 2 <= bytes.count else { throw Failure.truncated("segment length at byte \(position)") }
        let length = Int(bytes[position]) << 8 | Int(bytes[position + 1])
        guard length >= 2 else { throw JPEGSegmentError("segment length \(length)") }
        guard position + length <= bytes.count else { throw Failure.truncated("segment at byte \(position) of \(length) bytes") }
        defer { position += length }
        return ArraySlice(bytes[position + 2..<position + length])
    }

    private mutating func readFrame(_ segment: ArraySlice<UInt8>, progressive: Bool) throws {
        let s = Array(segment)
        guard components.isEmpty else { throw JPEGSegmentError("a second frame header") }
        guard s.count >= 6 else { throw JPEGSegmentError("frame header of \(s.count) bytes") }
        guard s[0] == 8 else { throw Failure.unsupported("\(s[0])-bit samples") }
        height = Int(s[1]) << 8 | Int(s[2])
        width = Int(s[3]) << 8 | Int(s[4])
        let count = Int(s[5])
        guard width > 0, height > 0 else { throw Failure.unsupported("image height 0 (defined by a DNL marker)") }
        guard count == 1 || count == 3 else { throw Failure.unsupported("\(count) color components") }
        guard s.count >= 6 + 3 * count else { throw JPEGSegmentError("frame header too short for \(count) components") }
        isProgressive = progressive
        for index in 0..<count {
            let base = 6 + 3 * index
            let (h, v, table) = (Int(s[base + 1] >> 4), Int(s[base + 1] & 15), Int(s[base + 2]))
            guard (1...4).contains(h), (1...4).contains(v), table < 4 else {
                throw JPEGSegmentError("component sampling \(h)x\(v) or table \(table)")
            }
            components.append(Component(id: Int(s[base]), horizontal: h, vertical: v, quantizationTable: table))
        }
        maxHorizontal = components.map(\.horizontal).max()!
        maxVertical = components.map(\.vertical).max()!
        let mcuColumns = (width + 8 * maxHorizontal - 1) / (8 * maxHorizontal)
        let mcuRows = (height + 8 * maxVertical - 1) / (8 * maxVertical)
        // Every block costs at least one bit, so a header cannot demand more than the file holds.
        let blocks = components.reduce(0) { $0 + mcuColumns * $1.horizontal * mcuRows * $1.vertical }
        guard blocks <= 8 * bytes.count + 64 else {
            throw Failure.truncated("\(width)x\(height) needs \(blocks) blocks, the file has \(bytes.count) bytes")
        }
        for index in components.indices {
            let h = components[index].horizontal, v = components[index].vertical
            guard maxHorizontal % h == 0, maxVertical % v == 0 else {
                throw Failure.unsupported("non-integer chroma subsampling \(h)x\(v) of \(maxHorizontal)x\(maxVertical)")
            }
            components[index].blocksPerLine = mcuColumns * h
            components[index].blocksPerColumn = mcuRows * v
            components[index].usedBlocksPerLine = ((width * h + maxHorizontal - 1) / maxHorizontal + 7) / 8
            components[index].usedBlocksPerColumn = ((height * v + maxVertical - 1) / maxVertical + 7) / 8
            components[index].coefficients = [Int32](repeating: 0, count: mcuColumns * h * mcuRows * v * 64)
        }
    }

    private mutating func readHuffmanTables(_ segment: ArraySlice<UInt8>) throws {
        var s = Array(segment)[...]
        while !s.isEmpty {
            guard s.count >= 17 else { throw JPEGSegmentError("Huffman table header of \(s.count) bytes") }
            let kind = Int(s.first! >> 4), slot = Int(s.first! & 15)
            let counts = s.dropFirst().prefix(16).map(Int.init)
            let total = counts.reduce(0, +)
            guard kind <= 1, slot < 4, s.count >= 17 + total else { throw JPEGSegmentError("Huffman table class \(kind), slot \(slot)") }
            let table = try JPEGHuffmanTable(counts: counts, symbols: Array(s.dropFirst(17).prefix(total)))
            if kind == 0 { dcTables[slot] = table } else { acTables[slot] = table }
            s = s.dropFirst(17 + total)
        }
    }

    private mutating func readQuantizationTables(_ segment: ArraySlice<UInt8>) throws {
        var s = Array(segment)[...]
        while !s.isEmpty {
            let precision = Int(s.first! >> 4), slot = Int(s.first! & 15)
            let size = precision == 0 ? 64 : 128
            guard precision <= 1, slot < 4, s.count >= 1 + size else { throw JPEGSegmentError("quantization table \(slot)") }
            let values = Array(s.dropFirst().prefix(size))
            // Stored in zig-zag order; kept in natural order.
            var table = [Int](repeating: 0, count: 64)
            for k in 0..<64 {
                table[jpegNaturalOrder[k]] = precision == 0 ? Int(values[k]) : Int(values[2 * k]) << 8 | Int(values[2 * k + 1])
            }
            quantization[slot] = table
            s = s.dropFirst(1 + size)
        }
    }
}

/// PNG decoding: every color type (gray, RGB, palette, gray+alpha, RGBA) at every bit depth
/// the format allows (1, 2, 4, 8, 16), all five row filters, Adam7 interlacing, chunk CRCs.
/// Alpha is dropped, 16-bit samples keep their high byte and gray samples below 8 bits are
/// scaled to 0...255, as PIL's `convert("L"/"RGB")` does.
///
/// ```swift
/// let image = try PNGDecoder.decode(bytes, file: "digit.png")   // Image, 1 or 3 channels
/// ```
public enum PNGDecoder {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    private struct Header {
        var width = 0, height = 0, depth = 0, colorType = 0, isInterlaced = false
        var samplesPerPixel: Int { [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colorType]! }
        var bitsPerPixel: Int { samplesPerPixel * depth }
        /// Bytes to the corresponding byte of the previous pixel (at least 1).
        var filterStride: Int { max(1, bitsPerPixel / 8) }
        func rowBytes(_ pixels: Int) -> Int { (pixels * bitsPerPixel + 7) / 8 }
    }

    public static func decode(_ bytes: [UInt8], file: String = "<memory>") throws(ImageDecodingError) -> Image {
        guard bytes.starts(with: signature) else { throw .badSignature(file: file, expected: "PNG") }
        var header: Header?
        var palette: [UInt8] = []
        var compressed: [UInt8] = []
        var position = signature.count
        var sawEnd = false
        while !sawEnd {
            guard position + 12 <= bytes.count else { throw .truncated(file: file, detail: "chunk header at byte \(position)") }
            let length = Int(bigEndian32(bytes, position))
            let typeBytes = bytes[position + 4..<position + 8]
            let type = String(decoding: typeBytes, as: UTF8.self)
            guard length <= bytes.count - position - 12 else { throw .truncated(file: file, detail: "chunk \(type)") }
            let data = bytes[position + 8..<position + 8 + length]
            let stored = bigEndian32(bytes, position + 8 + length)
            guard Checksum.crc32(data, continuing: Checksum.crc32(typeBytes)) == stored else {
                throw .badCRC(file: file, chunk: type)
            }
            position += 12 + length
            switch type {
            case "IHDR": header = try parseHeader(Array(data), file: file)
            case "PLTE": palette = Array(data)
            case "IDAT": compressed += data
            case "IEND": sawEnd = true
            default:
                // Ancillary chunks (lower-case first letter) may be skipped; critical ones may not.
                guard typeBytes.first! & 0x20 != 0 else { throw .unsupported(file: file, feature: "critical chunk \(type)") }
            }
            if header == nil { throw .malformed(file: file, detail: "first chunk is \(type), not IHDR") }
        }
        guard let header else { throw .malformed(file: file, detail: "no IHDR chunk") }
        if header.colorType == 3 && palette.isEmpty { throw .malformed(file: file, detail: "palette image without PLTE") }
        let expected = passes(header).reduce(0) { $0 + ($1.columns > 0 ? $1.rows * (1 + header.rowBytes($1.columns)) : 0) }
        let raw: [UInt8]
        do {
            raw = try Inflate.zlib(compressed, sizeHint: min(expected, 64 * compressed.count + 1024))
        } catch {
            throw .compressedData(file: file, error)
        }
        guard raw.count >= expected else {
            throw .truncated(file: file, detail: "image data holds \(raw.count) bytes, \(header.width)x\(header.height) needs \(expected)")
        }
        return try pixels(raw, header, palette: palette, file: file)
    }

    private static func bigEndian32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[at + $1]) }
    }

    private static func parseHeader(_ data: [UInt8], file: String) throws(ImageDecodingError) -> Header {
        guard data.count == 13 else { throw .malformed(file: file, detail: "IHDR of \(data.count) bytes") }
        var header = Header()
        header.width = Int(bigEndian32(data, 0))
        header.height = Int(bigEndian32(data, 4))
        header.depth = Int(data[8])
        header.colorType = Int(data[9])
        header.isInterlaced = data[12] == 1
        let allowed: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
        guard allowed[header.colorType]?.contains(header.depth) == true else {
            throw .unsupported(file: file, feature: "color type \(header.colorType) at bit depth \(header.depth)")
        }
        guard header.width > 0, header.height > 0, header.width <= 1 << 24, header.height <= 1 << 24 else {
            throw .malformed(file: file, detail: "size \(header.width)x\(header.height)")
        }
        guard data[10] == 0, data[11] == 0, data[12] <= 1 else {
            throw .unsupported(file: file, feature: "compression \(data[10]), filter \(data[11]), interlace \(data[12])")
        }
        return header
    }

    /// The sub-images stored in order: one for a plain image, seven Adam7 passes otherwise.
    private static func passes(_ header: Header) -> [(x: Int, y: Int, dx: Int, dy: Int, columns: Int, rows: Int)] {
        let layout = header.isInterlaced
            ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            : [(0, 0, 1, 1)]
        return layout.map { x, y, dx, dy in
            (x, y, dx, dy, (header.width - x + dx - 1) / dx, (header.height - y + dy - 1) / dy)
        }
    }

    private static func pixels(_ raw: [UInt8], _ header: Header, palette: [UInt8], file: String) throws(ImageDecodingError) -> Image {
        let channels = header.colorType == 0 || header.colorType == 4 ? 1 : 3
        var output = [UInt8](repeating: 0, count: header.width * header.height * channels)
        var offset = 0
        for pass in passes(header) where pass.columns > 0 && pass.rows > 0 {
            let rowBytes = header.rowBytes(pass.columns)
            var previous = [UInt8](repeating: 0, count: rowBytes)
            var row = [UInt8](repeating: 0, count: rowBytes)
            for passRow in 0..<pass.rows {
                let filter = raw[offset]
                for index in 0..<rowBytes { row[index] = raw[offset + 1 + index] }
                offset += 1 + rowBytes
                guard unfilter(&row, previous: previous, filter: filter, stride: header.filterStride) else {
                    throw .malformed(file: file, detail: "filter type \(filter)")
                }
                for column in 0..<pass.columns {
                    let target = ((pass.y + passRow * pass.dy) * header.width + pass.x + column * pass.dx) * channels
                    try writePixel(row, column: column, header, palette: palette, into: &output, at: target, file: file)
                }
                swap(&row, &previous)
            }
        }
        return Image(width: header.width, height: header.height, channels: channels, pixels: output)
    }

    /// Reverses a PNG row filter in place; false for an unknown filter type.
    private static func unfilter(_ row: inout [UInt8], previous: [UInt8], filter: UInt8, stride: Int) -> Bool {
        switch filter {
        case 0: break
        case 1: for i in stride..<max(stride, row.count) { row[i] &+= row[i - stride] }
        case 2: for i in 0..<row.count { row[i] &+= previous[i] }
        case 3:
            for i in 0..<row.count {
                let left = i >= stride ? Int(row[i - stride]) : 0
                row[i] &+= UInt8((left + Int(previous[i])) / 2)
            }
        case 4:
            for i in 0..<row.count {
                let a = i >= stride ? Int(row[i - stride]) : 0, b = Int(previous[i]), c = i >= stride ? Int(previous[i - stride]) : 0
                let p = a + b - c
                let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
                row[i] &+= UInt8(pa <= pb && pa <= pc ? a : (pb <= pc ? b : c))
            }
        default: return false
        }
        return true
    }

    /// Writes pixel `column` of an unfiltered row as gray or RGB bytes.
    private static func writePixel(_ row: [UInt8], column: Int, _ header: Header, palette: [UInt8],
                                   into output: inout [UInt8], at target: Int, file: String) throws(ImageDecodingError) {
        let depth = header.depth
        func sample(_ index: Int) -> Int {
            switch depth {
            case 8: return Int(row[index])
            case 16: return Int(row[2 * index])   // high byte
            default:
                let bit = index * depth
                return Int(row[bit / 8] >> UInt8(8 - depth - bit % 8)) & ((1 << depth) - 1)
            }
        }
        let first = column * header.samplesPerPixel
        switch header.colorType {
        case 0, 4:
            let value = sample(first)
            output[target] = UInt8(depth < 8 ? value * 255 / ((1 << depth) - 1) : value)
        case 3:
            let index = sample(first)
            guard 3 * index + 2 < palette.count else {
                throw .malformed(file: file, detail: "palette index \(index) outside a palette of \(palette.count / 3) colors")
            }
            for channel in 0..<3 { output[target + channel] = palette[3 * index + channel] }
        default:
            for channel in 0..<3 { output[target + channel] = UInt8(sample(first + channel)) }
        }
    }
}

/// Reads JPEG entropy-coded data most-significant bit first, removing stuffed zero bytes
/// (`FF 00`). At a marker or the end of the data it supplies zero bits and counts them, so
/// the decoder can tell a truncated scan (`isOverrun`) from one that merely peeked ahead.
struct JPEGBitReader {
    let bytes: UnsafeBufferPointer<UInt8>
    private(set) var position: Int
    private var buffer: UInt64 = 0
    private var available = 0
    private var paddingBits = 0

    init(bytes: UnsafeBufferPointer<UInt8>, position: Int) {
        self.bytes = bytes
        self.position = position
    }

    /// Whether bits beyond the scan's data were consumed.
    var isOverrun: Bool { paddingBits > available }

    @inline(__always) private mutating func refill() {
        while available <= 56 {
            var byte: UInt8 = 0
            if position < bytes.count && paddingBits == 0 {
                byte = bytes[position]
                if byte == 0xFF {
                    let next = position + 1 < bytes.count ? bytes[position + 1] : 0xD9
                    if next == 0 {
                        position += 2
                    } else {
                        byte = 0   // a marker: stop here and pad
                        paddingBits += 8
                    }
                } else {
                    position += 1
                }
            } else {
                paddingBits += 8
            }
            buffer |= UInt64(byte) << UInt64(56 - available)
            available += 8
        }
    }

    @inline(__always) mutating func peek16() -> Int {
        if available < 16 { refill() }
        return Int(truncatingIfNeeded: buffer >> 48)
    }

    @inline(__always) mutating func consume(_ count: Int) {
        buffer <<= UInt64(count)
        available -= count
    }

    @inline(__always) mutating func bits(_ count: Int) -> Int {
        if count == 0 { return 0 }
        if available < count { refill() }
        let value = Int(truncatingIfNeeded: buffer >> UInt64(64 - count))
        consume(count)
        return value
    }

    /// A `count`-bit magnitude category value, sign-extended as JPEG's EXTEND.
    @inline(__always) mutating func receiveExtended(_ count: Int) -> Int {
        guard count > 0 else { return 0 }
        let value = bits(count)
        return value < 1 << (count - 1) ? value - (1 << count) + 1 : value
    }

    /// Skips to the byte after the next restart marker (`FF D0`…`FF D7`) and clears the bit buffer.
    mutating func restart() -> Bool {
        buffer = 0
        available = 0
        paddingBits = 0
        while position + 1 < bytes.count {
            if bytes[position] == 0xFF && (0xD0...0xD7).contains(bytes[position + 1]) {
                position += 2
                return true
            }
            position += 1
        }
        return false
    }

    /// The position of the first byte not yet consumed, for finding the next marker.
    var markerSearchStart: Int { position }
}

/// A JPEG Huffman table as a direct 16-bit lookup: entry = `symbol << 5 | code length`.
struct JPEGHuffmanTable {
    private var entries: [UInt16]

    /// `counts[l]` codes of length `l + 1` (16 counts) for `symbols` in order.
    init(counts: [Int], symbols: [UInt8]) throws(JPEGSegmentError) {
        guard counts.count == 16, counts.reduce(0, +) == symbols.count, symbols.count <= 256 else {
            throw JPEGSegmentError("Huffman table with \(symbols.count) symbols for counts \(counts)")
        }
        entries = [UInt16](repeating: 0, count: 1 << 16)
        var code = 0, symbolIndex = 0
        for length in 1...16 {
            for _ in 0..<counts[length - 1] {
                guard code < 1 << length else { throw JPEGSegmentError("over-subscribed Huffman table") }
                let first = code << (16 - length), span = 1 << (16 - length)
                let entry = UInt16(Int(symbols[symbolIndex]) << 5 | length)
                for index in first..<first + span { entries[index] = entry }
                code += 1
                symbolIndex += 1
            }
            code <<= 1
        }
    }

    @inline(__always) func decode(_ reader: inout JPEGBitReader) throws(JPEGSegmentError) -> Int {
        let entry = entries.withUnsafeBufferPointer { $0[reader.peek16()] }
        let length = Int(entry & 31)
        guard length > 0 else { throw JPEGSegmentError("invalid Huffman code") }
        reader.consume(length)
        return Int(entry >> 5)
    }
}

/// A problem inside one JPEG segment; the decoder adds the file name.
struct JPEGSegmentError: Error {
    let detail: String
    init(_ detail: String) { self.detail = detail }
}

/// Zig-zag position → natural (row-major) index in an 8×8 block.
let jpegNaturalOrder: [Int] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
    28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
    54, 47, 55, 62, 63,
]

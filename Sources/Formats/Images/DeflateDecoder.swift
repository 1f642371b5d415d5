/// A canonical Huffman code as a direct lookup table over the next `bits` input bits
/// (least significant bit first): each entry is `symbol << 4 | codeLength`, 0 where no code
/// starts (an incomplete code).
struct HuffmanTable {
    private(set) var entries: [UInt16]
    let bits: Int

    /// Builds the table from per-symbol code lengths (0 = unused).
    init(lengths: [Int]) throws(InflateError) {
        let longest = lengths.max() ?? 0
        guard longest <= 15 else { throw .malformed("Huffman code length \(longest) over 15") }
        bits = max(longest, 1)
        entries = [UInt16](repeating: 0, count: 1 << bits)
        var lengthCounts = [Int](repeating: 0, count: 16)
        for length in lengths where length > 0 { lengthCounts[length] += 1 }
        // Kraft sum: more codes than a length allows is an over-subscribed code.
        var remaining = 1
        for length in 1...15 {
            remaining = remaining * 2 - lengthCounts[length]
            guard remaining >= 0 else { throw .malformed("over-subscribed Huffman code") }
        }
        // The first canonical code of each length.
        var nextCode = [Int](repeating: 0, count: 16)
        var code = 0
        for length in 1..<16 {
            nextCode[length] = code
            code = (code + lengthCounts[length]) << 1
        }
        let tableBits = bits
        entries.withUnsafeMutableBufferPointer { table in
            for (symbol, length) in lengths.enumerated() where length > 0 {
                let canonical = nextCode[length]
                nextCode[length] += 1
                var reversed = 0
                for bit in 0..<length where canonical & (1 << bit) != 0 { reversed |= 1 << (length - 1 - bit) }
                let entry = UInt16(symbol << 4 | length)
                var index = reversed
                while index < 1 << tableBits {
                    table[index] = entry
                    index += 1 << length
                }
            }
        }
    }

    @inline(__always) func decode(_ reader: inout BitReader) throws(InflateError) -> Int {
        let entry = entries.withUnsafeBufferPointer { $0[reader.peek(bits)] }
        let length = Int(entry & 15)
        guard length > 0 else { throw .malformed("invalid Huffman code") }
        reader.consume(length)
        return Int(entry >> 4)
    }
}

/// Decodes DEFLATE blocks (RFC 1951) until the final one.
struct DeflateDecoder {
    var reader: BitReader
    var output: OutputBuffer

    init(reader: BitReader, capacity: Int) {
        self.reader = reader
        output = OutputBuffer(capacity: capacity)
    }

    private static let lengthBases = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
                                      67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtraBits = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
                                          4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBases = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
                                        1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    private static let distanceExtraBits = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8,
                                            9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    /// The order in which code-length code lengths are stored.
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    private static let fixedTables: (HuffmanTable, HuffmanTable) = {
        let literals = (0..<288).map { $0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8 }
        return (try! HuffmanTable(lengths: literals), try! HuffmanTable(lengths: [Int](repeating: 5, count: 30)))
    }()

    mutating func run() throws(InflateError) {
        var isFinal = false
        while !isFinal {
            isFinal = reader.bits(1) == 1
            switch reader.bits(2) {
            case 0: try storedBlock()
            case 1: try huffmanBlock(Self.fixedTables.0, Self.fixedTables.1)
            case 2:
                let (literals, distances) = try dynamicTables()
                try huffmanBlock(literals, distances)
            default: throw .malformed("reserved block type 3")
            }
            if reader.isOverrun { throw .truncated }
        }
    }

    private mutating func storedBlock() throws(InflateError) {
        reader.alignToByte()
        let length = reader.bits(16), complement = reader.bits(16)
        if reader.isOverrun { throw .truncated }
        guard length == ~complement & 0xFFFF else { throw .malformed("stored block length \(length) and its complement disagree") }
        // Whole bytes still in the bit buffer come first.
        var remaining = length
        while remaining > 0 && reader.available >= 8 {
            output.append(UInt8(reader.bits(8)))
            remaining -= 1
        }
        let start = reader.alignedPosition
        guard start + remaining <= reader.bytes.count else { throw .truncated }
        output.append(UnsafeBufferPointer(rebasing: reader.bytes[start..<start + remaining]))
        reader = BitReader(bytes: reader.bytes, position: start + remaining)
    }

    private mutating func dynamicTables() throws(InflateError) -> (HuffmanTable, HuffmanTable) {
        let literalCount = reader.bits(5) + 257, distanceCount = reader.bits(5) + 1, codeLengthCount = reader.bits(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else {
            throw .malformed("\(literalCount) literal/length codes, \(distanceCount) distance codes")
        }
        var codeLengthLengths = [Int](repeating: 0, count: 19)
        for index in 0..<codeLengthCount { codeLengthLengths[Self.codeLengthOrder[index]] = reader.bits(3) }
        let codeLengths = try HuffmanTable(lengths: codeLengthLengths)
        var lengths: [Int] = []
        lengths.reserveCapacity(literalCount + distanceCount)
        while lengths.count < literalCount + distanceCount {
            if reader.isOverrun { throw .truncated }
            let symbol = try codeLengths.decode(&reader)
            switch symbol {
            case 0...15: lengths.append(symbol)
            case 16:
                guard let previous = lengths.last else { throw .malformed("repeat code with no previous length") }
                lengths += repeatElement(previous, count: 3 + reader.bits(2))
            case 17: lengths += repeatElement(0, count: 3 + reader.bits(3))
            default: lengths += repeatElement(0, count: 11 + reader.bits(7))
            }
        }
        guard lengths.count == literalCount + distanceCount else { throw .malformed("code lengths overrun their count") }
        guard lengths[256] > 0 else { throw .malformed("no end-of-block code") }
        return (try HuffmanTable(lengths: Array(lengths[..<literalCount])),
                try HuffmanTable(lengths: Array(lengths[literalCount...])))
    }

    private mutating func huffmanBlock(_ literals: HuffmanTable, _ distances: HuffmanTable) throws(InflateError) {
        while true {
            if reader.isOverrun { throw .truncated }
            let symbol = try literals.decode(&reader)
            if symbol < 256 {
                output.append(UInt8(symbol))
                continue
            }
            if symbol == 256 { return }
            let lengthIndex = symbol - 257
            guard lengthIndex < 29 else { throw .malformed("length symbol \(symbol)") }
            let length = Self.lengthBases[lengthIndex] + reader.bits(Self.lengthExtraBits[lengthIndex])
            let distanceSymbol = try distances.decode(&reader)
            guard distanceSymbol < 30 else { throw .malformed("distance symbol \(distanceSymbol)") }
            let distance = Self.distanceBases[distanceSymbol] + reader.bits(Self.distanceExtraBits[distanceSymbol])
            guard distance <= output.count else { throw .malformed("distance \(distance) reaches before the start") }
            output.copy(distance: distance, length: length)
        }
    }
}

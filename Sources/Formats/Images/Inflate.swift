/// Why compressed data cannot be inflated.
public enum InflateError: Error, Equatable, CustomStringConvertible {
    /// The data ends before the final block (or the trailer) is complete.
    case truncated
    /// A header, block or code that DEFLATE (RFC 1951), zlib (RFC 1950) or gzip (RFC 1952) forbids.
    case malformed(String)
    /// The stored checksum (Adler-32, CRC-32 or length) differs from the inflated data's.
    case checksumMismatch(kind: String, stored: UInt32, computed: UInt32)

    public var description: String {
        switch self {
        case .truncated: "compressed data is truncated"
        case let .malformed(detail): "malformed compressed data: \(detail)"
        case let .checksumMismatch(kind, stored, computed):
            "\(kind) mismatch: stored \(String(stored, radix: 16)), computed \(String(computed, radix: 16))"
        }
    }
}

/// DEFLATE decompression with zlib and gzip wrappers: stored, fixed-Huffman and
/// dynamic-Huffman blocks, checksums verified.
///
/// ```swift
/// let pixels = try Inflate.zlib(idatBytes)                 // PNG image data
/// let csv = try Inflate.gzip(Array(try Data(contentsOf: url)))
/// ```
public enum Inflate {
    /// Inflates a zlib stream (2-byte header, DEFLATE data, Adler-32 of the output).
    public static func zlib(_ data: [UInt8], sizeHint: Int = 0) throws(InflateError) -> [UInt8] {
        guard data.count >= 2 else { throw .truncated }
        let (cmf, flags) = (data[0], data[1])
        guard cmf & 0x0F == 8, cmf >> 4 <= 7 else { throw .malformed("zlib method \(cmf & 0x0F), window \(cmf >> 4)") }
        guard (UInt16(cmf) << 8 | UInt16(flags)) % 31 == 0 else { throw .malformed("zlib header check bits") }
        guard flags & 0x20 == 0 else { throw .malformed("zlib preset dictionary") }
        let (output, end) = try inflate(data, from: 2, sizeHint: sizeHint)
        guard end + 4 <= data.count else { throw .truncated }
        let stored = data[end..<end + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let computed = output.withUnsafeBufferPointer { Checksum.adler32($0) }
        guard stored == computed else { throw .checksumMismatch(kind: "Adler-32", stored: stored, computed: computed) }
        return output
    }

    /// Inflates a gzip file (one or more members, each with header, DEFLATE data, CRC-32 and size).
    public static func gzip(_ data: [UInt8], sizeHint: Int = 0) throws(InflateError) -> [UInt8] {
        var result: [UInt8] = []
        var start = 0
        repeat {
            let member = try gzipMember(data, from: start, sizeHint: sizeHint)
            result += member.output
            start = member.end
        } while start + 2 <= data.count && data[start] == 0x1F && data[start + 1] == 0x8B
        return result
    }

    /// Whether `data` starts with the gzip signature.
    public static func isGzip(_ data: [UInt8]) -> Bool { data.count >= 2 && data[0] == 0x1F && data[1] == 0x8B }

    private static func gzipMember(_ data: [UInt8], from start: Int, sizeHint: Int) throws(InflateError) -> (output: [UInt8], end: Int) {
        guard data.count >= start + 10 else { throw .truncated }
        guard data[start] == 0x1F, data[start + 1] == 0x8B else { throw .malformed("no gzip signature") }
        guard data[start + 2] == 8 else { throw .malformed("gzip method \(data[start + 2])") }
        let flags = data[start + 3]
        var position = start + 10
        if flags & 0x04 != 0 {   // FEXTRA
            guard position + 2 <= data.count else { throw .truncated }
            position += 2 + Int(data[position]) | Int(data[position + 1]) << 8
        }
        for flag: UInt8 in [0x08, 0x10] where flags & flag != 0 {   // FNAME, FCOMMENT: zero-terminated
            while position < data.count && data[position] != 0 { position += 1 }
            position += 1
        }
        if flags & 0x02 != 0 { position += 2 }   // FHCRC
        guard position <= data.count else { throw .truncated }
        let (output, end) = try inflate(data, from: position, sizeHint: sizeHint)
        guard end + 8 <= data.count else { throw .truncated }
        func word(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[at + $1]) << (8 * UInt32($1)) } }
        let computed = Checksum.crc32(output)
        guard word(end) == computed else { throw .checksumMismatch(kind: "gzip CRC-32", stored: word(end), computed: computed) }
        guard word(end + 4) == UInt32(truncatingIfNeeded: output.count) else {
            throw .checksumMismatch(kind: "gzip size", stored: word(end + 4), computed: UInt32(truncatingIfNeeded: output.count))
        }
        return (output, end + 8)
    }

    /// Inflates raw DEFLATE data starting at byte `start`; returns the output and the index of
    /// the first byte after the final block.
    public static func inflate(_ data: [UInt8], from start: Int = 0, sizeHint: Int = 0) throws(InflateError) -> (output: [UInt8], end: Int) {
        do {
            return try data.withUnsafeBufferPointer { bytes in
                var decoder = DeflateDecoder(reader: BitReader(bytes: bytes, position: start), capacity: max(sizeHint, 4 * bytes.count))
                defer { decoder.output.release() }
                try decoder.run()
                return (decoder.output.array(), decoder.reader.alignedPosition)
            }
        } catch let error as InflateError {
            throw error
        } catch {
            throw .malformed("\(error)")
        }
    }
}

/// Reads DEFLATE's least-significant-bit-first bit stream. Past the end it supplies zeros and
/// counts them, so decoding loops check `isOverrun` instead of every read.
struct BitReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int
    private(set) var buffer: UInt64 = 0
    private(set) var available = 0

    init(bytes: UnsafeBufferPointer<UInt8>, position: Int) {
        self.bytes = bytes
        self.position = position
    }

    /// Whether more bits were consumed than the data holds.
    var isOverrun: Bool { position - available / 8 > bytes.count }

    /// The index of the byte after the last one partly consumed.
    var alignedPosition: Int { position - available / 8 }

    @inline(__always) mutating func refill() {
        while available <= 56 {
            let byte = position < bytes.count ? bytes[position] : 0
            buffer |= UInt64(byte) << UInt64(available)
            position += 1
            available += 8
        }
    }

    @inline(__always) mutating func peek(_ count: Int) -> Int {
        if available < count { refill() }
        return Int(truncatingIfNeeded: buffer & ((1 << UInt64(count)) - 1))
    }

    @inline(__always) mutating func consume(_ count: Int) {
        buffer >>= UInt64(count)
        available -= count
    }

    @inline(__always) mutating func bits(_ count: Int) -> Int {
        if count == 0 { return 0 }
        let value = peek(count)
        consume(count)
        return value
    }

    /// Drops the bits up to the next byte boundary.
    mutating func alignToByte() { consume(available % 8) }
}

/// A growable byte buffer written by the decoder.
struct OutputBuffer {
    private(set) var pointer: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        pointer = .allocate(capacity: self.capacity)
    }

    @inline(__always) mutating func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        let newCapacity = max(capacity * 2, count + extra)
        let newPointer = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newPointer.update(from: pointer, count: count)
        pointer.deallocate()
        pointer = newPointer
        capacity = newCapacity
    }

    @inline(__always) mutating func append(_ byte: UInt8) {
        reserve(1)
        pointer[count] = byte
        count += 1
    }

    /// Copies `length` bytes starting `distance` back (overlapping copies repeat the pattern).
    @inline(__always) mutating func copy(distance: Int, length: Int) {
        reserve(length)
        var source = count - distance
        for _ in 0..<length {
            pointer[count] = pointer[source]
            count += 1
            source += 1
        }
    }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        reserve(bytes.count)
        (pointer + count).update(from: bytes.baseAddress!, count: bytes.count)
        count += bytes.count
    }

    /// The bytes written so far.
    func array() -> [UInt8] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// Frees the memory; the buffer must not be used afterwards.
    func release() { pointer.deallocate() }
}

import Foundation

/// An IDX file (the MNIST format): a magic number `00 00 08 D` (unsigned bytes, D axes), D
/// big-endian 32-bit sizes, then the values row-major. `.gz` files are inflated first.
///
/// ```swift
/// let labels = try IDXFile(contentsOf: url)   // e.g. train-labels-idx1-ubyte.gz: shape [60000]
/// ```
public struct IDXFile: Sendable {
    public let shape: [Int]
    public let values: [UInt8]

    public init(contentsOf url: URL) throws(ImageDatasetError) {
        try self.init(bytes: try readPossiblyCompressed(url), file: url.path)
    }

    /// Parses uncompressed IDX bytes; `file` names the source in errors.
    public init(bytes: [UInt8], file: String = "<memory>") throws(ImageDatasetError) {
        guard bytes.count >= 4 else { throw .truncated(file: file, expectedBytes: 4, foundBytes: bytes.count) }
        let magic = bytes[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard bytes[0] == 0, bytes[1] == 0, bytes[3] >= 1 else { throw .badMagic(file: file, found: magic) }
        guard bytes[2] == 0x08 else { throw .unsupportedType(file: file, code: bytes[2]) }
        let axes = Int(bytes[3])
        let headerSize = 4 + 4 * axes
        guard bytes.count >= headerSize else { throw .truncated(file: file, expectedBytes: headerSize, foundBytes: bytes.count) }
        var shape: [Int] = []
        var total = 1
        for axis in 0..<axes {
            let size = bytes[4 + 4 * axis..<8 + 4 * axis].reduce(0) { $0 << 8 | Int($1) }
            shape.append(size)
            total = total.multipliedReportingOverflow(by: size).overflow ? Int.max : total * size
        }
        guard total <= bytes.count - headerSize else {
            throw .truncated(file: file, expectedBytes: total, foundBytes: bytes.count - headerSize)
        }
        self.shape = shape
        values = Array(bytes[headerSize..<headerSize + total])
    }
}

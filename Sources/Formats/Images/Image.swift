import Foundation

/// An 8-bit image, gray (1 channel) or RGB (3 channels), row-major with interleaved channels
/// (`pixels[(y · width + x) · channels + c]`).
///
/// ```swift
/// let image = try Image.decode(contentsOf: url)   // PNG or JPEG
/// let rgb = image.rgb()                            // gray images repeat their channel
/// print(image.width, image.height, rgb[x: 0, y: 0, channel: 2])
/// ```
public struct Image: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// 1 (gray) or 3 (RGB).
    public let channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(channels == 1 || channels == 3, "Image: channels \(channels) must be 1 (gray) or 3 (RGB)")
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * channels,
                     "Image: \(pixels.count) pixels do not fill \(width)x\(height)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    public subscript(x x: Int, y y: Int, channel channel: Int) -> UInt8 {
        pixels[(y * width + x) * channels + channel]
    }

    /// The image with three channels: RGB images unchanged, gray ones repeated.
    public func rgb() -> Image {
        if channels == 3 { return self }
        var expanded = [UInt8](repeating: 0, count: pixels.count * 3)
        for (index, value) in pixels.enumerated() {
            expanded[3 * index] = value
            expanded[3 * index + 1] = value
            expanded[3 * index + 2] = value
        }
        return Image(width: width, height: height, channels: 3, pixels: expanded)
    }

    /// The `width`×`height` region whose top-left corner is (`x`, `y`); it must lie inside.
    public func cropped(x: Int, y: Int, width: Int, height: Int) -> Image {
        precondition(x >= 0 && y >= 0 && width >= 0 && height >= 0 && x + width <= self.width && y + height <= self.height,
                     "cropped: region (\(x), \(y)) \(width)x\(height) is outside the \(self.width)x\(self.height) image")
        var result = [UInt8]()
        result.reserveCapacity(width * height * channels)
        for row in y..<y + height {
            let start = (row * self.width + x) * channels
            result += pixels[start..<start + width * channels]
        }
        return Image(width: width, height: height, channels: channels, pixels: result)
    }

    /// Decodes a PNG or JPEG file, chosen by its signature.
    public static func decode(contentsOf url: URL) throws -> Image {
        let bytes = [UInt8](try Data(contentsOf: url))
        return try decode(bytes, file: url.path)
    }

    /// Decodes PNG or JPEG bytes; `file` names the source in errors.
    public static func decode(_ bytes: [UInt8], file: String = "<memory>") throws(ImageDecodingError) -> Image {
        if bytes.starts(with: PNGDecoder.signature) { return try PNGDecoder.decode(bytes, file: file) }
        if bytes.starts(with: [0xFF, 0xD8]) { return try JPEGDecoder.decode(bytes, file: file) }
        throw .badSignature(file: file, expected: "PNG or JPEG")
    }
}

/// Why image bytes cannot be decoded. Every case names the file.
public enum ImageDecodingError: Error, Equatable, CustomStringConvertible {
    case badSignature(file: String, expected: String)
    case truncated(file: String, detail: String)
    case badCRC(file: String, chunk: String)
    case unsupported(file: String, feature: String)
    case malformed(file: String, detail: String)
    case compressedData(file: String, InflateError)

    public var description: String {
        switch self {
        case let .badSignature(file, expected): "\(file): not a \(expected) file"
        case let .truncated(file, detail): "\(file): truncated (\(detail))"
        case let .badCRC(file, chunk): "\(file): CRC mismatch in chunk \(chunk)"
        case let .unsupported(file, feature): "\(file): unsupported \(feature)"
        case let .malformed(file, detail): "\(file): malformed (\(detail))"
        case let .compressedData(file, error): "\(file): \(error)"
        }
    }
}

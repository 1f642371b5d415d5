import Foundation
import TensorCore

/// Labelled images in memory: the IDX (MNIST, Fashion-MNIST) and CSV (one image per row)
/// formats load into this.
///
/// ```swift
/// let train = try ImageDataset.idx(images: folder.appendingPathComponent("train-images-idx3-ubyte.gz"),
///                                  labels: folder.appendingPathComponent("train-labels-idx1-ubyte.gz"))
/// let (inputs, labels) = train.batch(0..<32, preprocessing: .efficientNetLite(size: 96))   // [32, 3, 96, 96]
/// ```
public struct ImageDataset: Sendable {
    public var images: [Image]
    public var labels: [Int]

    public init(images: [Image], labels: [Int]) {
        precondition(images.count == labels.count, "ImageDataset: \(images.count) images but \(labels.count) labels")
        self.images = images
        self.labels = labels
    }

    public var count: Int { images.count }

    /// The images at `indices` preprocessed into [N, 3, H, W] with their labels.
    public func batch<Indices: Sequence>(_ indices: Indices, preprocessing: ImagePreprocessing) -> (inputs: Tensor, labels: [Int])
    where Indices.Element == Int {
        let selected = Array(indices)
        return (preprocessing.tensor(selected.map { images[$0] }), selected.map { labels[$0] })
    }

    /// The first `count` examples (or all when fewer).
    public func prefix(_ count: Int) -> ImageDataset {
        ImageDataset(images: Array(images.prefix(count)), labels: Array(labels.prefix(count)))
    }

    /// Loads an IDX image file ([N, H, W] unsigned bytes) and its IDX label file ([N]).
    public static func idx(images imagesURL: URL, labels labelsURL: URL) throws -> ImageDataset {
        let images = try IDXFile(contentsOf: imagesURL), labels = try IDXFile(contentsOf: labelsURL)
        guard images.shape.count == 3 else {
            throw ImageDatasetError.wrongShape(file: imagesURL.path, expected: "[N, H, W]", found: images.shape)
        }
        guard labels.shape.count == 1, labels.shape[0] == images.shape[0] else {
            throw ImageDatasetError.wrongShape(file: labelsURL.path, expected: "[\(images.shape[0])]", found: labels.shape)
        }
        let (height, width) = (images.shape[1], images.shape[2])
        let plane = height * width
        let pictures = (0..<images.shape[0]).map { index in
            Image(width: width, height: height, channels: 1, pixels: Array(images.values[index * plane..<(index + 1) * plane]))
        }
        return ImageDataset(images: pictures, labels: labels.values.map(Int.init))
    }
}

/// Why an image data set file cannot be read. Every case names the file.
public enum ImageDatasetError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case badMagic(file: String, found: UInt32)
    case unsupportedType(file: String, code: UInt8)
    case truncated(file: String, expectedBytes: Int, foundBytes: Int)
    case wrongShape(file: String, expected: String, found: [Int])
    case badRow(file: String, line: Int, reason: String)
    case compressedData(file: String, InflateError)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): "\(file): cannot read (\(reason))"
        case let .badMagic(file, found):
            "\(file): not an IDX file (magic 0x\(String(found, radix: 16)); expected 0x000008NN, unsigned bytes)"
        case let .unsupportedType(file, code): "\(file): IDX element type 0x\(String(code, radix: 16)) (only unsigned bytes, 0x08)"
        case let .truncated(file, expected, found): "\(file): truncated: the header needs \(expected) data bytes, found \(found)"
        case let .wrongShape(file, expected, found): "\(file): shape \(found), expected \(expected)"
        case let .badRow(file, line, reason): "\(file), line \(line): \(reason)"
        case let .compressedData(file, error): "\(file): \(error)"
        }
    }
}

/// Reads a file's bytes, inflating it when it is gzip-compressed.
func readPossiblyCompressed(_ url: URL) throws(ImageDatasetError) -> [UInt8] {
    let bytes: [UInt8]
    do {
        bytes = [UInt8](try Data(contentsOf: url))
    } catch {
        throw .unreadable(file: url.path, reason: error.localizedDescription)
    }
    guard Inflate.isGzip(bytes) else { return bytes }
    do {
        return try Inflate.gzip(bytes)
    } catch {
        throw .compressedData(file: url.path, error)
    }
}

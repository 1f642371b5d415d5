import TensorCore

/// Turns decoded images into a model's input batch: resize the shorter side, centre-crop,
/// expand gray to RGB, normalise each channel as (pixel - mean) / standardDeviation with
/// pixels in 0...255, and lay out as [N, 3, H, W] float32.
///
/// ```swift
/// let batch = ImagePreprocessing.efficientNetLite.tensor([try Image.decode(contentsOf: url)])   // [1, 3, 224, 224]
/// let small = ImagePreprocessing(resizeShorterSide: nil, cropSize: nil, outputSize: 96)        // plain resize
/// ```
public struct ImagePreprocessing: Sendable {
    /// Resize so the shorter side has this length first (torchvision `Resize(int)`); nil skips it.
    public var resizeShorterSide: Int?
    /// Centre crop to this square size (torchvision `CenterCrop`); nil skips it.
    public var cropSize: Int?
    /// Resize to this square size last (for small images such as 28×28 digits); nil skips it.
    public var outputSize: Int?
    public var mean: [Float]
    public var standardDeviation: [Float]

    public init(resizeShorterSide: Int? = 256, cropSize: Int? = 224, outputSize: Int? = nil,
                mean: [Float] = [127, 127, 127], standardDeviation: [Float] = [128, 128, 128]) {
        precondition(mean.count == 3 && standardDeviation.count == 3,
                     "ImagePreprocessing: mean \(mean) and standardDeviation \(standardDeviation) need 3 channels")
        self.resizeShorterSide = resizeShorterSide
        self.cropSize = cropSize
        self.outputSize = outputSize
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// EfficientNet-Lite's evaluation transform: shorter side 256, centre 224, (x - 127) / 128.
    public static let efficientNetLite = ImagePreprocessing()

    /// The same normalisation at `size`×`size` by one resize, for small images.
    public static func efficientNetLite(size: Int) -> ImagePreprocessing {
        ImagePreprocessing(resizeShorterSide: nil, cropSize: nil, outputSize: size)
    }

    /// One image after resizing and cropping, as 3-channel 8-bit pixels.
    public func prepared(_ image: Image) -> Image {
        var result = image
        if let resizeShorterSide { result = result.resized(shorterSide: resizeShorterSide) }
        if let cropSize { result = result.centerCropped(width: cropSize, height: cropSize) }
        if let outputSize { result = result.resized(width: outputSize, height: outputSize) }
        return result.rgb()
    }

    /// The normalised batch: [N, 3, H, W]. All images must come out the same size.
    public func tensor(_ images: [Image]) -> Tensor {
        let prepared = images.map(prepared)
        guard let first = prepared.first else { return Tensor.zeros([0, 3, 0, 0]) }
        let (height, width) = (first.height, first.width)
        precondition(prepared.allSatisfy { $0.width == width && $0.height == height },
                     "ImagePreprocessing: images come out in different sizes \(prepared.map { "\($0.width)x\($0.height)" })")
        let plane = height * width
        let output = Tensor.zeros([prepared.count, 3, height, width])
        let values = output.storage.floats
        let scales = standardDeviation.map { 1 / $0 }
        for (index, image) in prepared.enumerated() {
            for position in 0..<plane {
                for channel in 0..<3 {
                    values[(index * 3 + channel) * plane + position] =
                        (Float(image.pixels[position * 3 + channel]) - mean[channel]) * scales[channel]
                }
            }
        }
        return output
    }
}

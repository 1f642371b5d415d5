import Foundation

extension Image {
    /// Resizes with a bilinear (triangle) filter exactly as PIL's `Image.resize(size, BILINEAR)`
    /// computes it: the filter widens by the scale factor when shrinking (antialiasing), taps
    /// are 22-bit fixed-point, and the horizontal pass is rounded to bytes before the vertical
    /// one. torchvision's `Resize` on PIL images calls this.
    ///
    /// ```swift
    /// let thumbnail = photo.resized(width: 383, height: 256)
    /// ```
    public func resized(width newWidth: Int, height newHeight: Int) -> Image {
        precondition(newWidth > 0 && newHeight > 0, "resized: target \(newWidth)x\(newHeight) must be positive")
        precondition(width > 0 && height > 0, "resized: the \(width)x\(height) image is empty")
        var current = self
        if newWidth != width {
            current = current.resampled(axisIsHorizontal: true, newSize: newWidth)
        }
        if newHeight != height {
            current = current.resampled(axisIsHorizontal: false, newSize: newHeight)
        }
        return current
    }

    /// Resizes so the shorter side becomes `shorterSide`, the longer one scaled and truncated,
    /// as torchvision's `Resize(int)`.
    public func resized(shorterSide: Int) -> Image {
        if width <= height {
            return resized(width: shorterSide, height: Int(Double(shorterSide) * Double(height) / Double(width)))
        }
        return resized(width: Int(Double(shorterSide) * Double(width) / Double(height)), height: shorterSide)
    }

    /// The central `width`×`height` region, offsets rounded half to even as torchvision's `CenterCrop`.
    public func centerCropped(width cropWidth: Int, height cropHeight: Int) -> Image {
        precondition(cropWidth <= width && cropHeight <= height,
                     "centerCropped: \(cropWidth)x\(cropHeight) is larger than the \(width)x\(height) image")
        let top = Int((Double(height - cropHeight) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(width - cropWidth) / 2).rounded(.toNearestOrEven))
        return cropped(x: left, y: top, width: cropWidth, height: cropHeight)
    }

    private static let precisionBits = 22

    /// Per output index: the first input index and the fixed-point weights of its taps.
    private static func taps(inputSize: Int, outputSize: Int) -> [(first: Int, weights: [Int])] {
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = filterScale   // the triangle filter's support is 1
        return (0..<outputSize).map { output in
            let center = (Double(output) + 0.5) * scale
            let first = max(Int(center - support + 0.5), 0)
            let end = min(Int(center + support + 0.5), inputSize)
            var weights = (first..<end).map { input in
                max(1 - abs((Double(input) - center + 0.5) / filterScale), 0)
            }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            let fixed = weights.map { weight in
                let scaled = weight * Double(1 << precisionBits)
                return Int(scaled < 0 ? scaled - 0.5 : scaled + 0.5)
            }
            return (first, fixed)
        }
    }

    private func resampled(axisIsHorizontal: Bool, newSize: Int) -> Image {
        let outputWidth = axisIsHorizontal ? newSize : width, outputHeight = axisIsHorizontal ? height : newSize
        let table = Image.taps(inputSize: axisIsHorizontal ? width : height, outputSize: newSize)
        var output = [UInt8](repeating: 0, count: outputWidth * outputHeight * channels)
        let half = 1 << (Image.precisionBits - 1)
        // Step between neighbouring taps in `pixels`, and the base offset of an output sample.
        let tapStep = axisIsHorizontal ? channels : width * channels
        pixels.withUnsafeBufferPointer { source in
            for y in 0..<outputHeight {
                for x in 0..<outputWidth {
                    let (first, weights) = table[axisIsHorizontal ? x : y]
                    let base = axisIsHorizontal ? (y * width + first) * channels : (first * width + x) * channels
                    for channel in 0..<channels {
                        var sum = half
                        for (tap, weight) in weights.enumerated() {
                            sum += Int(source[base + tap * tapStep + channel]) * weight
                        }
                        output[(y * outputWidth + x) * channels + channel] = UInt8(min(max(sum >> Image.precisionBits, 0), 255))
                    }
                }
            }
        }
        return Image(width: outputWidth, height: outputHeight, channels: channels, pixels: output)
    }
}

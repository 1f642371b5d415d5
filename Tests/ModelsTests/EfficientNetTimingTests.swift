import Foundation
import Testing
import Formats
import TensorCore
import TestSupport
@testable import Models

/// Forward time of EfficientNet-Lite0 per image, and the Fashion-MNIST load time. Runs only
/// with `EFFICIENTNET_TIMING=1`, in release: `swift test -c release -Xswiftc -enable-testing
/// --filter EfficientNetTimingTests`.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["EFFICIENTNET_TIMING"] != nil))
struct EfficientNetTimingTests {
    func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    @Test(arguments: [224, 112, 96, 64])
    func forwardTimePerImage(size: Int) throws {
        guard let model = try loadEfficientNetLite0() else { return }
        let batch = 8
        let input = Tensor.randomNormal([batch, 3, size, size], seed: 0)
        _ = Tensor.withoutGradient { model(input) }   // warm-up
        let repeats = size >= 200 ? 2 : 4
        let elapsed = seconds { for _ in 0..<repeats { _ = Tensor.withoutGradient { model(input) } } }
        let perImage = elapsed / Double(repeats * batch)
        print("EfficientNet-Lite0 forward at \(size) px, batch \(batch): \(String(format: "%.1f", perImage * 1000)) ms per image")
    }

    @Test func fashionMNISTLoadTime() throws {
        guard let images = try assetURL("fashion-mnist/train-images-idx3-ubyte.gz"),
              let labels = try assetURL("fashion-mnist/train-labels-idx1-ubyte.gz") else { return }
        var dataset: ImageDataset?
        let load = try seconds { dataset = try ImageDataset.idx(images: images, labels: labels) }
        var inputs: Tensor?
        let prepare = seconds { inputs = dataset!.batch(0..<256, preprocessing: .efficientNetLite(size: 96)).inputs }
        print("Fashion-MNIST train: \(dataset!.count) images loaded in \(String(format: "%.2f", load)) s; "
              + "256 resized to \(inputs!.shape) in \(String(format: "%.3f", prepare)) s")
    }
}

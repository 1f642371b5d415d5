import Foundation
import Testing
import Formats
import TensorCore
import TestSupport
@testable import Models

/// Our decode + preprocessing path against the exact input PyTorch used
/// (scripts/fixtures/efficientnet.py: PIL/libjpeg decode, PIL bilinear resize, centre crop).
@Suite struct EfficientNetImageTests {
    let fixture = try! SafetensorsFile(url: fixtureURL("efficientnet_lite0.safetensors"))

    func ourInput() throws -> Tensor? {
        guard let china = try assetURL("sklearn/china.jpg"), let flower = try assetURL("sklearn/flower.jpg") else { return nil }
        let images = [try Image.decode(contentsOf: china), try Image.decode(contentsOf: flower)]
        return ImagePreprocessing.efficientNetLite.tensor(images)
    }

    /// Our JPEG decoder reproduces libjpeg's integer IDCT, upsampling and color conversion, and
    /// our resize PIL's fixed-point filter, so the input is identical, not merely close: the
    /// fixture is committed, so no libjpeg build difference can enter. (Were the decoder an
    /// approximation, IDCT rounding would move pixels by about one level, 1/128 here.)
    @Test func decodeAndPreprocessMatchPyTorchsInput() throws {
        guard let input = try ourInput() else { return }
        let expected = try fixture.tensor("input").converted(to: .float32)
        #expect(input.shape == [2, 3, 224, 224])
        let difference = maxAbsoluteDifference(input, expected)
        #expect(difference == 0, "max difference \(difference * 128) pixel levels")
    }

    @Test func flowerIsADaisyFromOurOwnDecode() throws {
        guard let input = try ourInput(), let model = try loadEfficientNetLite0() else { return }
        let logits = Tensor.withoutGradient { model(input) }
        #expect(logits.argmax(axis: 1).toArray() == [698, 985])   // palace, daisy
        #expect(maxAbsoluteDifference(logits, try fixture.tensor("logits")) < 1e-3)
    }
}

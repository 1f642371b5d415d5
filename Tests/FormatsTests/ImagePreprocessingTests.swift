import Foundation
import Testing
import TensorCore
import TestSupport
@testable import Formats

@Suite struct ImagePreprocessingTests {
    let source = ImageFixtures.entries["resize-source"]!.image

    @Test func bilinearShrinkMatchesPILExactly() {
        let resized = source.resized(width: 7, height: 5)
        #expect(resized == ImageFixtures.entries["resize-shrink"]!.image)
    }

    @Test func bilinearEnlargeMatchesPILExactly() {
        let resized = source.cropped(x: 0, y: 0, width: 5, height: 4).resized(width: 12, height: 9)
        #expect(resized == ImageFixtures.entries["resize-enlarge"]!.image)
    }

    @Test func shorterSideAndCenterCropFollowTorchvision() {
        let image = Image(width: 640, height: 427, channels: 1, pixels: [UInt8](repeating: 7, count: 640 * 427))
        let resized = image.resized(shorterSide: 256)
        #expect(resized.width == 383 && resized.height == 256)
        // (383 - 224) / 2 = 79.5 rounds half to even: 80.
        let marked = Image(width: 383, height: 256, channels: 1, pixels: (0..<383 * 256).map { UInt8($0 % 383 == 80 ? 1 : 0) })
        let crop = marked.centerCropped(width: 224, height: 224)
        #expect(crop[x: 0, y: 0, channel: 0] == 1)
    }

    @Test func tensorIsNormalisedNCHW() {
        let gray = Image(width: 2, height: 1, channels: 1, pixels: [127, 255])
        let tensor = ImagePreprocessing(resizeShorterSide: nil, cropSize: nil).tensor([gray, gray])
        #expect(tensor.shape == [2, 3, 1, 2])
        #expect(tensor.toArray() == [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1].map { Float($0) * 128 / 128 })
    }
}

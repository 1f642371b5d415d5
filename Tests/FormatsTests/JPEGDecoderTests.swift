import Foundation
import Testing
import TestSupport
@testable import Formats

@Suite struct JPEGDecoderTests {
    @Test(arguments: ["rgb444.jpg", "rgb422.jpg", "rgb420.jpg", "rgb420_restart.jpg", "gray.jpg", "progressive.jpg"])
    func decodesLikeLibjpeg(name: String) throws {
        let image = try JPEGDecoder.decode(ImageFixtures.bytes(name), file: name)
        let expected = ImageFixtures.entries[name]!.image
        let (maximum, mean) = ImageFixtures.difference(image, expected)
        #expect(maximum == 0, "\(name): max difference \(maximum), mean \(mean)")
    }

    @Test(arguments: ["china.jpg", "flower.jpg"])
    func realPhotosDecodeLikeLibjpeg(name: String) throws {
        guard let url = try assetURL("sklearn/" + name) else { return }
        let image = try Image.decode(contentsOf: url)
        #expect(image.width == 640 && image.height == 427 && image.channels == 3)
        let crop = image.cropped(x: 300, y: 200, width: 32, height: 32)
        let (maximum, mean) = ImageFixtures.difference(crop, ImageFixtures.entries["crop:" + name]!.image)
        #expect(maximum == 0, "\(name): max difference \(maximum), mean \(mean)")
    }

    @Test func unsupportedProcessesAreNamed() {
        var bytes = ImageFixtures.bytes("rgb444.jpg")
        let frame = (0..<bytes.count - 1).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 }!
        bytes[frame + 1] = 0xC9   // arithmetic coding
        #expect(throws: ImageDecodingError.self) { try JPEGDecoder.decode(bytes, file: "arith.jpg") }
        do { _ = try JPEGDecoder.decode(bytes, file: "arith.jpg") } catch {
            #expect("\(error)".contains("arith.jpg: unsupported JPEG process SOF9"), "\(error)")
        }
    }

    @Test func truncatedScansThrow() {
        let bytes = ImageFixtures.bytes("rgb420.jpg")
        #expect(throws: ImageDecodingError.self) { try JPEGDecoder.decode(Array(bytes.prefix(bytes.count / 2)), file: "half.jpg") }
    }
}

import Foundation
import Testing
import TestSupport
@testable import Formats

@Suite struct PNGDecoderTests {
    @Test(arguments: ["rgb8.png", "gray8.png", "rgba8.png", "graya8.png", "palette8.png", "palette4.png", "gray1.png",
                      "gray16.png", "rgb16.png", "rgb8_filters.png", "rgb8_interlaced.png", "gray2_interlaced.png"])
    func decodesLikePIL(name: String) throws {
        let image = try PNGDecoder.decode(ImageFixtures.bytes(name), file: name)
        let expected = ImageFixtures.entries[name]!.image
        #expect(image == expected, "\(name): \(image.width)x\(image.height)x\(image.channels)")
    }

    @Test func imageDecodeDispatchesOnTheSignature() throws {
        let image = try Image.decode(contentsOf: fixtureURL("images/rgb8.png"))
        #expect(image.width == 13 && image.height == 7 && image.channels == 3)
        #expect(throws: ImageDecodingError.badSignature(file: "x", expected: "PNG or JPEG")) {
            try Image.decode([1, 2, 3], file: "x")
        }
    }

    @Test func aCorruptedChunkReportsItsCRC() {
        var bytes = ImageFixtures.bytes("rgb8.png")
        bytes[20] ^= 0x40   // inside IHDR's data
        #expect(throws: ImageDecodingError.badCRC(file: "bad.png", chunk: "IHDR")) {
            try PNGDecoder.decode(bytes, file: "bad.png")
        }
    }

    @Test func aTruncatedFileSaysSo() {
        let bytes = ImageFixtures.bytes("rgb8_filters.png")
        #expect(throws: ImageDecodingError.self) { try PNGDecoder.decode(Array(bytes.prefix(60)), file: "cut.png") }
        do {
            _ = try PNGDecoder.decode(Array(bytes.prefix(60)), file: "cut.png")
        } catch {
            #expect("\(error)".contains("cut.png") && "\(error)".contains("truncated"), "\(error)")
        }
    }

    @Test func grayImagesExpandToThreeChannels() throws {
        let gray = try PNGDecoder.decode(ImageFixtures.bytes("gray8.png"))
        let rgb = gray.rgb()
        #expect(rgb.channels == 3 && rgb[x: 4, y: 3, channel: 2] == gray[x: 4, y: 3, channel: 0])
    }
}

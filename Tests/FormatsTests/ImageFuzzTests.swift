import Foundation
import Testing
import TensorCore
import TestSupport
@testable import Formats

/// Malformed input must throw a typed error, never crash: every fixture truncated at many
/// lengths and with seeded random byte corruptions.
@Suite struct ImageFuzzTests {
    static let files = ["rgb8.png", "gray1.png", "palette4.png", "rgb16.png", "rgb8_interlaced.png", "gray2_interlaced.png",
                        "rgb444.jpg", "rgb420.jpg", "rgb420_restart.jpg", "gray.jpg", "progressive.jpg"]

    @Test(arguments: files)
    func truncatedAndCorruptedFilesThrowOrDecode(name: String) {
        let original = ImageFixtures.bytes(name)
        var generator = RandomGenerator(seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xFFFF))
        var variants: [[UInt8]] = stride(from: 0, to: original.count, by: max(1, original.count / 40)).map { Array(original.prefix($0)) }
        for _ in 0..<300 {
            var bytes = original
            for _ in 0..<1 + Int(generator.next() % 4) {
                let index = Int(generator.next() % UInt64(bytes.count))
                bytes[index] = generator.next() % 3 == 0 ? 0xFF : UInt8(truncatingIfNeeded: generator.next())
            }
            variants.append(bytes)
        }
        var failures = 0
        for bytes in variants {
            do {
                let image = try Image.decode(bytes, file: name)
                #expect(image.pixels.count == image.width * image.height * image.channels)
            } catch {
                failures += 1
                #expect("\(error)".hasPrefix(name), "\(error)")
            }
        }
        #expect(failures > 0)
    }

    @Test func corruptedCompressedStreamsThrowOrInflate() {
        let stream = InflateTests.streams["zlib_dynamic"]!
        var generator = RandomGenerator(seed: 11)
        for _ in 0..<300 {
            var bytes = stream
            bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
            _ = try? Inflate.zlib(bytes)
            _ = try? Inflate.inflate(bytes)
        }
        for _ in 0..<200 {
            let random = (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            _ = try? Inflate.inflate(random)
            _ = try? Image.decode([0xFF, 0xD8] + random)
            _ = try? Image.decode(PNGDecoder.signature + random)
            _ = try? IDXFile(bytes: random)
        }
    }
}

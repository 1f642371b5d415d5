import Foundation
import Formats
import TestSupport

/// Pixels PIL decoded for the files in Fixtures/images (scripts/fixtures/images.py).
struct ImageFixtures {
    struct Entry: Decodable {
        let width: Int, height: Int, channels: Int, pixels: [UInt8]
        var image: Image { Image(width: width, height: height, channels: channels, pixels: pixels) }
    }

    static let entries: [String: Entry] = {
        let data = try! Data(contentsOf: fixtureURL("images.json"))
        return try! JSONDecoder().decode([String: Entry].self, from: data)
    }()

    static func bytes(_ name: String) -> [UInt8] {
        [UInt8](try! Data(contentsOf: fixtureURL("images/" + name)))
    }

    /// The largest per-sample difference and the mean absolute difference.
    static func difference(_ a: Image, _ b: Image) -> (maximum: Int, mean: Double) {
        precondition(a.width == b.width && a.height == b.height && a.channels == b.channels,
                     "difference: \(a.width)x\(a.height)x\(a.channels) vs \(b.width)x\(b.height)x\(b.channels)")
        var maximum = 0, total = 0
        for (x, y) in zip(a.pixels, b.pixels) {
            let d = abs(Int(x) - Int(y))
            maximum = max(maximum, d)
            total += d
        }
        return (maximum, Double(total) / Double(max(a.pixels.count, 1)))
    }
}

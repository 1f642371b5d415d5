import Foundation
import Testing
import TestSupport
@testable import Formats

@Suite struct IDXReaderTests {
    func idx(shape: [Int], values: [UInt8], type: UInt8 = 0x08) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, type, UInt8(shape.count)]
        for size in shape { bytes += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: size >> $0) } }
        return bytes + values
    }

    @Test func parsesShapeAndValues() throws {
        let file = try IDXFile(bytes: idx(shape: [2, 2, 3], values: Array(0..<12)))
        #expect(file.shape == [2, 2, 3] && file.values == Array(0..<12))
    }

    @Test func errorsNameTheFileAndTheProblem() {
        #expect(throws: ImageDatasetError.badMagic(file: "f", found: 0x0102_0803)) { try IDXFile(bytes: [1, 2, 8, 3], file: "f") }
        #expect(throws: ImageDatasetError.unsupportedType(file: "f", code: 0x0D)) {
            try IDXFile(bytes: idx(shape: [1], values: [0, 0, 0, 0], type: 0x0D), file: "f")
        }
        #expect(throws: ImageDatasetError.truncated(file: "f", expectedBytes: 12, foundBytes: 11)) {
            try IDXFile(bytes: idx(shape: [2, 2, 3], values: Array(0..<11)), file: "f")
        }
    }

    @Test func fashionMNISTTestSetLoadsAsLabelledImages() throws {
        guard let images = try assetURL("fashion-mnist/t10k-images-idx3-ubyte.gz"),
              let labels = try assetURL("fashion-mnist/t10k-labels-idx1-ubyte.gz") else { return }
        let dataset = try ImageDataset.idx(images: images, labels: labels)
        #expect(dataset.count == 10_000)
        #expect(dataset.images[0].width == 28 && dataset.images[0].height == 28 && dataset.images[0].channels == 1)
        #expect(Set(dataset.labels) == Set(0..<10))
        #expect(Array(dataset.labels.prefix(5)) == [9, 2, 1, 1, 6])   // ankle boot, pullover, trouser, trouser, shirt
        let (inputs, batchLabels) = dataset.batch(0..<4, preprocessing: .efficientNetLite(size: 96))
        #expect(inputs.shape == [4, 3, 96, 96] && batchLabels == [9, 2, 1, 1])
        let values = inputs.toArray()
        #expect(values.min()! >= -127.0 / 128 && values.max()! <= 1)
    }

    @Test func csvRowsBecomeSquareGrayImages() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("idx-csv-\(UUID()).csv")
        try "a,b,c,d,label\n0,255,128,64,3\n1,2,3,4,0\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let dataset = try ImageDataset.csv(url)
        #expect(dataset.labels == [3, 0] && dataset.images[0].pixels == [0, 255, 128, 64] && dataset.images[0].width == 2)
        try "0,1,2,x\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: ImageDatasetError.self) { try ImageDataset.csv(url) }
    }

    @Test func sklearnDigitsLoadFromGzippedCSV() throws {
        guard let url = try assetURL("sklearn/digits.csv.gz") else { return }
        let digits = try ImageDataset.csv(url, labelColumn: .last, maximumValue: 16)
        #expect(digits.count == 1797 && digits.images[0].width == 8)
        #expect(Set(digits.labels) == Set(0..<10))
    }
}

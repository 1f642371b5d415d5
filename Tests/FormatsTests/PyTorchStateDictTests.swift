import Foundation
import Testing
import TensorCore
import TestSupport
@testable import Formats

@Suite struct PyTorchStateDictTests {
    struct Expected: Decodable {
        struct Entry: Decodable {
            let dtype: String
            let shape: [Int]
            let stride: [Int]
            let storageOffset: Int
            let values: [Double]
            enum CodingKeys: String, CodingKey { case dtype, shape, stride, storageOffset = "storage_offset", values }
        }
        let order: [String]
        let tensors: [String: Entry]
    }

    static let stateDictURL = fixtureURL("pytorch_state_dict.pt")

    /// torch.save wrote every dtype, views and a Parameter (scripts/fixtures/pytorch_files.py);
    /// both layouts must give PyTorch's dtypes, shapes, strides, offsets and values.
    @Test(arguments: ["pytorch_state_dict.pt", "pytorch_legacy.pt"])
    func readsEveryDTypeAndViewWrittenByTorch(fixture: String) throws {
        let expected = try decodeJSONFile(Expected.self, from: fixtureURL("pytorch_state_dict.json"))
        let weights = try PyTorchStateDict(url: fixtureURL(fixture))
        #expect(weights.layout == (fixture == "pytorch_legacy.pt" ? .legacy : .zip))
        #expect(weights.names == expected.order)
        #expect(weights.path == [])
        for (name, entry) in expected.tensors {
            let info = try #require(weights.info(name))
            #expect(info.type.rawValue == entry.dtype, "\(name)")
            #expect(info.shape == entry.shape && info.strides == entry.stride && info.storageOffset == entry.storageOffset, "\(name)")
            let tensor = try weights.tensor(name)
            #expect(tensor.shape == entry.shape && tensor.strides == entry.stride, "\(name)")
            #expect(tensor.dtype == info.type.storageType ?? .float32, "\(name)")
            #expect(tensor.toArray() == entry.values.map { Float($0) }, "\(name)")
        }
        #expect(!weights.info("transposed")!.strides.elementsEqual([5, 1]))
    }

    @Test func floatTensorsBorrowTheMappingAndShareStorage() throws {
        var weights: PyTorchStateDict? = try PyTorchStateDict(url: Self.stateDictURL)
        let whole = try #require(try weights?.tensor("shared.whole"))
        let row = try #require(try weights?.tensor("shared.row"))
        #expect(!whole.storage.isOwned && whole.storage.bytes == row.storage.bytes)
        #expect(Int(bitPattern: whole.storage.bytes) % 64 == 0)
        #expect(row.offset == 8 && row.toArray() == [8, 9, 10, 11])
        weights = nil
        #expect(whole.toArray() == (0..<12).map(Float.init))
    }

    @Test func findsTheStateDictInsideACheckpoint() throws {
        let weights = try PyTorchStateDict(url: fixtureURL("pytorch_checkpoint.pt"))
        #expect(weights.path == ["model"])
        #expect(weights.names == ["float32", "int64", "transposed"])
        let expected = try decodeJSONFile(Expected.self, from: fixtureURL("pytorch_state_dict.json"))
        #expect(try weights.tensor("int64").toArray() == expected.tensors["int64"]!.values.map { Float($0) })
        #expect(throws: PyTorchError.missingTensor(file: weights.url.path, tensor: "nope")) { try weights.tensor("nope") }
    }

    struct EfficientNetReference: Decodable {
        struct Checked: Decodable {
            let sum: Double
            let absSum: Double
            let first: [Double]
            let stride: [Int]
            enum CodingKeys: String, CodingKey { case sum, absSum = "abs_sum", first, stride }
        }
        let order: [String]
        let shapes: [String: [Int]]
        let checked: [String: Checked]
    }

    /// The real EfficientNet-Lite0 weights (a legacy-layout .pth): 296 keys with PyTorch's
    /// shapes, and checksums of a few tensors, strided stem included.
    @Test func loadsRealEfficientNetLite0() throws {
        guard let url = try assetURL("efficientnet-lite0/efficientnet-lite0-57934424.pth") else { return }
        let reference = try decodeJSONFile(EfficientNetReference.self, from: fixtureURL("pytorch_efficientnet_lite0.json"))
        let start = Date()
        let weights = try PyTorchStateDict(url: url)
        let tensors = try weights.tensors()
        print("EfficientNet-Lite0 .pth: \(tensors.count) tensors in \(Int(Date().timeIntervalSince(start) * 1000)) ms (\(weights.layout))")
        #expect(weights.names == reference.order && weights.names.count == 296)
        for (name, shape) in reference.shapes {
            #expect(tensors[name]?.shape == shape, "\(name)")
        }
        for (name, checked) in reference.checked {
            let tensor = try #require(tensors[name])
            #expect(tensor.strides == checked.stride, "\(name)")
            let values = tensor.contiguous().toArray()
            #expect(Array(values.prefix(16)) == checked.first.map { Float($0) }, "\(name)")
            let sum = values.reduce(0.0) { $0 + Double($1) }, absSum = values.reduce(0.0) { $0 + Double(abs($1)) }
            #expect(abs(sum - checked.sum) <= 1e-9 * max(1, checked.absSum) && abs(absSum - checked.absSum) <= 1e-9 * checked.absSum, "\(name)")
        }
    }
}

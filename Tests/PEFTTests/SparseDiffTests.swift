import Formats
import Foundation
import NN
import PEFT
import TensorCore
import Testing

@Suite struct SparseDiffTests {
    func temporaryURL(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("sparse-diff-\(UUID().uuidString)-\(name)")
    }

    /// Train selectively, save the diff, load it, apply it to a fresh base: every parameter
    /// equals the trained one bit for bit.
    @Test func saveLoadApplyReproducesTheTrainedWeightsExactly() throws {
        let model = ScoringModel()
        let mask = SparseMask(topFraction: 0.3, of: analyse(model).scores(.taylor).filter { $0.key.hasPrefix("fc") })
        let selective = SelectiveFineTuning(model: model, mask: mask)
        let optimizer = AdamW(learningRate: 0.1, weightDecay: 0.01)
        for step in 0..<8 {
            let (x, targets) = scoringBatches[step % 2]
            crossEntropy(logits: model(x), targets: targets).backward()
            selective.step(with: optimizer)
            model.zeroGradients()
        }
        let url = temporaryURL("diff.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let diff = selective.sparseDiff(metadata: ["base_model": "ScoringModel(seed: 1)"])
        try diff.write(to: url)
        let loaded = try SparseDiff(contentsOf: url)
        #expect(loaded == diff)
        #expect(loaded.metadata["base_model"] == "ScoringModel(seed: 1)")
        #expect(loaded.changedCount == mask.selectedCount)

        let fresh = ScoringModel()
        try loaded.apply(to: fresh)
        for (path, tensor) in model.namedParameters() {
            #expect(parameter(fresh, path).toArray().map(\.bitPattern) == tensor.toArray().map(\.bitPattern), "\(path)")
        }
    }

    @Test func elementsNoDeltaReachesAreStoredAbsolutely() throws {
        let entry = SparseDiff.Entry(shape: [3], indices: [0, 1, 2], base: [1, 0.5, 3], trained: [1e-8, 0.75, -2])
        #expect(entry.absoluteIndices == [0] && entry.absoluteValues == [1e-8])
        let diff = SparseDiff(entries: ["w": entry])
        let url = temporaryURL("absolute.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try diff.write(to: url)
        let loaded = try SparseDiff(contentsOf: url)
        #expect(loaded == diff)
        let holder = Module()
        holder.register(parameter: "w", Tensor([1, 0.5, 3], shape: [3]))
        try loaded.apply(to: holder)
        #expect(holder.parameter("w").toArray() == [1e-8, 0.75, -2])
    }

    @Test func filesUseInt32IndicesAndFloat32Deltas() throws {
        let diff = SparseDiff(entries: ["layer.weight": SparseDiff.Entry(shape: [2, 3], indices: [1, 5], deltas: [0.5, -0.25])])
        let url = temporaryURL("layout.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try diff.write(to: url)
        let file = try SafetensorsFileProbe(url: url)
        #expect(file.dtypes == ["layer.weight.indices": "I32", "layer.weight.values": "F32"])
        #expect(file.metadata["format"] == "swiftpeft.sparse_diff" && file.metadata["shapes"] == "{\"layer.weight\":[2,3]}")
    }

    @Test func mismatchedModelsAndForeignFilesGiveClearErrors() throws {
        let diff = SparseDiff(entries: ["fc1.weight": SparseDiff.Entry(shape: [3, 3], indices: [0], deltas: [1])])
        #expect(throws: SparseDiffError.shapeMismatch(path: "fc1.weight", expected: [5, 4], found: [3, 3])) {
            try diff.apply(to: ScoringModel())
        }
        let missing = SparseDiff(entries: ["nowhere.weight": SparseDiff.Entry(shape: [1], indices: [0], deltas: [1])])
        #expect(throws: SparseDiffError.missingParameter(path: "nowhere.weight")) { try missing.apply(to: ScoringModel()) }

        let url = temporaryURL("foreign.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafetensorsWriter.write(["x": Tensor([1], shape: [1])], to: url)
        #expect(throws: SparseDiffError.self) { try SparseDiff(contentsOf: url) }
    }
}

/// The dtypes and metadata of a safetensors file, read with `SafetensorsFile`.
struct SafetensorsFileProbe {
    let dtypes: [String: String]
    let metadata: [String: String]

    init(url: URL) throws {
        let file = try SafetensorsFile(url: url)
        dtypes = Dictionary(uniqueKeysWithValues: file.names.map { ($0, file.info($0)!.dtype.rawValue) })
        metadata = file.metadata
    }
}

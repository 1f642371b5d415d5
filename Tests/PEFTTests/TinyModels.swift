import Foundation
import Formats
import NN
import PEFT
import TensorCore

/// fc1 (6->8), relu, fc2 (8->8), relu, classifier (8->3), as scripts/fixtures/peft_lora.py.
final class TinyMLP: Module, UnaryLayer {
    init(seed: UInt64 = 0) {
        var generator = RandomGenerator(seed: seed)
        super.init()
        register("fc1", Linear(inputDimensions: 6, outputDimensions: 8, generator: &generator))
        register("fc2", Linear(inputDimensions: 8, outputDimensions: 8, generator: &generator))
        register("classifier", Linear(inputDimensions: 8, outputDimensions: 3, generator: &generator))
    }

    func callAsFunction(_ x: Tensor) -> Tensor {   // [B, 6] -> [B, 3]
        layer("classifier")(layer("fc2")(layer("fc1")(x).relu()).relu())
    }
}

/// conv1 (2->4, 3x3, pad 1), relu, conv2 (4->5, 3x3, stride 2, pad 1).
final class TinyConv: Module, UnaryLayer {
    init(seed: UInt64 = 0) {
        var generator = RandomGenerator(seed: seed)
        super.init()
        register("conv1", Conv2d(inputChannels: 2, outputChannels: 4, kernelSize: (3, 3), padding: (1, 1), generator: &generator))
        register("conv2", Conv2d(inputChannels: 4, outputChannels: 5, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1), generator: &generator))
    }

    func callAsFunction(_ x: Tensor) -> Tensor {   // [N, 2, H, W] -> [N, 5, H/2, W/2]
        layer("conv2")(layer("conv1")(x).relu())
    }
}

/// A tiny model with an embedding, for LoRA on embeddings: ids -> embed (10x4) -> proj (4->3).
final class TinyEmbedder: Module {
    init(seed: UInt64 = 0) {
        var generator = RandomGenerator(seed: seed)
        super.init()
        register("embed", Embedding(count: 10, dimensions: 4, generator: &generator))
        register("proj", Linear(inputDimensions: 4, outputDimensions: 3, generator: &generator))
    }

    func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor {
        let table = child("embed")!
        let vectors = (table as? LoRAEmbedding)?(ids, shape: shape) ?? child("embed", as: Embedding.self)(ids, shape: shape)
        return layer("proj")(vectors)
    }
}

/// A Python fixture: `<name>.safetensors` and the adapter folder `<name>/`.
struct PeftFixture {
    let name: String
    let file: SafetensorsFile
    let folder: URL

    init(_ name: String, testFile: String = #filePath) throws {
        self.name = name
        folder = URL(fileURLWithPath: testFile).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
        file = try SafetensorsFile(url: folder.appendingPathExtension("safetensors"))
    }

    func tensor(_ key: String) throws -> Tensor { try file.tensor(key) }

    /// The base model's weights stored as `base.<key>`.
    func baseStateDict() throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for name in file.names where name.hasPrefix("base.") { result[String(name.dropFirst(5))] = try file.tensor(name) }
        return result
    }

    /// Expected gradients by saved adapter key.
    func gradients() throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for name in file.names where name.hasPrefix("grad.") { result[String(name.dropFirst(5))] = try file.tensor(name) }
        return result
    }
}

/// max |a − e| / max |e|: the error relative to the tensor's scale.
func relativeError(_ actual: Tensor, _ expected: Tensor) -> Float {
    let scale = expected.toArray().reduce(Float(0)) { max($0, abs($1)) }
    return maxAbsoluteDifferenceOf(actual, expected) / max(scale, 1e-12)
}

func maxAbsoluteDifferenceOf(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "shapes \(a.shape) and \(b.shape) differ")
    return zip(a.toArray(), b.toArray()).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Where Swift-written adapters go for scripts/check_swift_adapters.py.
let swiftAdapterExportFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".cache/swift-adapters")

import Foundation
import Formats
import NN
import TensorCore

// Shapes: B batch, T tokens, C hidden, L labels.

/// The BERT encoder (`embeddings`, `encoder.layer.N`, `pooler`) with Hugging Face's parameter
/// paths, so `model.safetensors` of a `BertModel` loads one to one.
///
/// ```swift
/// let model = try BertModel.load(from: folder)          // e.g. all-MiniLM-L6-v2
/// let hidden = model(batch).lastHiddenState              // [B, T, C]
/// ```
public final class BertModel: Module, VirtualTokenHost {
    public let configuration: BertConfiguration

    public init(configuration: BertConfiguration, pooler: Bool = true) {
        self.configuration = configuration
        super.init()
        register("embeddings", BertEmbeddings(configuration))
        let layers = Module()
        for index in 0..<configuration.hiddenLayerCount { layers.register(String(index), BertLayer(configuration)) }
        let encoder = Module()
        encoder.register("layer", layers)
        register("encoder", encoder)
        if pooler {
            let pooler = Module()
            pooler.register("dense", Linear(inputDimensions: configuration.hiddenSize, outputDimensions: configuration.hiddenSize))
            register("pooler", pooler)
        }
    }

    public var promptGeometry: PromptGeometry {
        PromptGeometry(tokenDimensions: configuration.hiddenSize, layerCount: configuration.hiddenLayerCount,
                       attentionHeadCount: configuration.attentionHeadCount)
    }

    public var wordEmbeddingTable: Tensor? {
        let table = module(at: "embeddings.word_embeddings")
        return table?.optionalParameter("weight") ?? table?.child("base_layer")?.optionalParameter("weight")
    }

    /// With prompt tuning attached (`prompt_encoder`), the n virtual tokens come first in
    /// `lastHiddenState` and the pooled output reads the first of them, as in PEFT.
    public struct Output {
        public let lastHiddenState: Tensor   // [B, n + T, C] (n = 0 without prompt tuning)
        public let pooled: Tensor?           // [B, C]: tanh(dense(first token))
    }

    public func callAsFunction(_ batch: TokenBatch) -> Output {
        let source = virtualTokenSource
        let virtualCount = source?.virtualTokenCount ?? 0
        let prompt = source?.promptEmbeddings(batchSize: batch.batchSize)   // [B, n, C] or nil
        // Padding mask as an additive bias on the attention scores: [B, 1, 1, n + T], virtual
        // tokens always visible.
        let keyLength = virtualCount + batch.length
        let maskValues = (0..<batch.batchSize).flatMap { row -> [Float] in
            [Float](repeating: 0, count: virtualCount)
                + batch.attentionMask[row * batch.length..<(row + 1) * batch.length].map { $0 == 0 ? -1e9 : 0 }
        }
        let mask = Tensor(maskValues, shape: [batch.batchSize, 1, 1, keyLength])
        var hidden = child("embeddings", as: BertEmbeddings.self)(batch, prompt: prompt, positionOffset: prompt == nil ? virtualCount : 0)
        let layers = child("encoder")!.child("layer")!
        for (index, name) in layers.childNames.enumerated() {
            let prefix = source?.attentionPrefix(layerIndex: index, batchSize: batch.batchSize)
            hidden = layers.child(name, as: BertLayer.self)(hidden, mask: mask, prefix: prefix)
        }
        let pooled = child("pooler").map { pooler in
            pooler.layer("dense")(hidden.sliced(axis: 1, 0..<1).squeezed(1)).tanh()
        }
        return Output(lastHiddenState: hidden, pooled: pooled)
    }

    /// Loads `config.json` and `model.safetensors` from a Hugging Face folder. Keys of a
    /// task model (`bert.` prefix) are accepted too; buffers such as
    /// `embeddings.position_ids` are ignored.
    public static func load(from folder: URL) throws -> BertModel {
        let configuration = try BertConfiguration.load(from: folder)
        let model = withoutParameterInitialization { BertModel(configuration: configuration) }
        try model.loadWeights(from: folder)
        return model
    }

    /// Loads this encoder's weights from `model.safetensors` in `folder`.
    public func loadWeights(from folder: URL) throws {
        let file = try SafetensorsFile(url: folder.appendingPathComponent("model.safetensors"))
        var weights: [String: Tensor] = [:]
        for name in file.names where !name.hasSuffix("position_ids") {
            let key = name.hasPrefix("bert.") ? String(name.dropFirst(5)) : name
            if key.hasPrefix("classifier.") || key.hasPrefix("cls.") { continue }
            weights[key] = try file.tensor(name)
        }
        if child("pooler") == nil { weights = weights.filter { !$0.key.hasPrefix("pooler.") } }
        try load(stateDict: weights)
    }
}

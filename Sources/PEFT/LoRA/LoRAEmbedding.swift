import NN
import TensorCore

/// LoRA on an embedding table: y = W[ids] + s · (Aᵀ[ids]) Bᵀ with A [r, V] (`lora_embedding_A`)
/// and B [C, r] (`lora_embedding_B`), kept as plain parameters as PEFT does. No dropout applies
/// (PEFT's embedding LoRA has none in its forward pass).
///
/// ```swift
/// let vectors = loraEmbedding(ids, shape: [B, T])   // -> [B, T, C]
/// ```
public final class LoRAEmbedding: LoRALayer {
    init(base: Embedding) {
        super.init(base: base)
    }

    var base: Embedding { baseLayer as! Embedding }

    override func addAdapter(_ name: String, settings: LoRASettings, path: String, generator: inout RandomGenerator) throws {
        if settings.useDoRA { throw AdapterError.unsupportedOption(key: "use_dora", value: "true on embedding '\(path)'") }
        if settings.initialization == .pissa { throw AdapterError.unsupportedOption(key: "init_lora_weights", value: "pissa on embedding '\(path)'") }
        try super.addAdapter(name, settings: settings, path: path, generator: &generator)
        let (a, b) = LoRAInitializer.embeddingFactors(count: base.count, dimensions: base.dimensions, settings: settings, generator: &generator)
        registerParameter("lora_embedding_A", adapter: name, a)
        registerParameter("lora_embedding_B", adapter: name, b)
    }

    private func registerParameter(_ component: String, adapter: String, _ tensor: Tensor) {
        if child(component) == nil { register(component, Module()) }
        child(component)!.register(parameter: adapter, tensor)
    }

    private func table(_ component: String, _ adapter: String) -> Tensor { child(component)!.parameter(adapter) }

    override func factors(_ adapter: String) -> (a: Tensor, b: Tensor) {
        (table("lora_embedding_A", adapter), table("lora_embedding_B", adapter))
    }

    override func setFactors(_ adapter: String, a: Tensor, b: Tensor) {
        registerParameter("lora_embedding_A", adapter: adapter, a)
        registerParameter("lora_embedding_B", adapter: adapter, b)
    }

    /// (B A)ᵀ · s: [V, C], the layout of the embedding table.
    public override func deltaWeight(adapter: String) -> Tensor {
        (matmul(table("lora_embedding_B", adapter), table("lora_embedding_A", adapter)) * scaling(of: adapter)).transposed().contiguous()
    }

    /// ids: `shape` elements in row-major order -> [shape..., C]
    public func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor {
        var result = base(ids, shape: shape)
        for adapter in adaptersToApply {
            let rows = embedding(table("lora_embedding_A", adapter).transposed(), indices: ids, shape: shape)   // [..., r]
            result = result + matmul(rows, table("lora_embedding_B", adapter).transposed()) * scaling(of: adapter)
        }
        return result
    }

    /// ids as a float tensor of any shape -> [ids.shape..., C]
    public override func callAsFunction(_ input: Tensor) -> Tensor {
        callAsFunction(input.toArray().map { Int($0) }, shape: input.shape)
    }
}

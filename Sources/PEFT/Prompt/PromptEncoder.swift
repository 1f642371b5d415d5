import NN
import TensorCore

// Shapes: B batch, n virtual tokens, C token dimensions, L layers, H heads, D = C / H.

/// What one prompt-learning adapter feeds the model.
enum VirtualTokenKind: Equatable, Sendable {
    /// Prompt tuning: a table [n, C] of input embeddings.
    case prompt
    /// Prefix tuning: a table [n, L · 2 · C] of per-layer keys and values.
    case prefix(PromptGeometry)
}

/// One adapter's table, as PEFT's `PromptEmbedding` / `PrefixEncoder`: `embedding.weight`, and
/// with prefix projection `transform.0` (Linear C -> hidden), tanh, `transform.2` (hidden -> L·2·C).
final class PromptTable: Module {
    let kind: VirtualTokenKind

    init(kind: VirtualTokenKind, table: Tensor, transform: Sequential? = nil) {
        self.kind = kind
        super.init()
        let embedding = Module()
        embedding.register(parameter: "weight", table)
        register("embedding", embedding)
        if let transform { register("transform", transform) }
    }

    var virtualTokenCount: Int { child("embedding")!.parameter("weight").shape[0] }

    /// The table the model reads: [n, C] or [n, L·2·C] (through the projection when there is one).
    var output: Tensor {
        let table = child("embedding")!.parameter("weight")
        guard let transform = child("transform") as? Sequential else { return table }
        return transform(table)
    }
}

/// PEFT's `prompt_encoder`: one `PromptTable` per adapter (`prompt_encoder.<adapter>.embedding.weight`),
/// attached to the model that reads it (a `VirtualTokenHost` such as `BertModel`).
///
/// Saved as PEFT saves it: a single tensor `prompt_embeddings`, the table the model reads (with
/// prefix projection, the projected table, which PEFT's inference-mode loading uses as is).
public final class PromptEncoder: Module, AttachedAdapter, VirtualTokenSource {
    public static let componentName = "prompt_encoder"

    public private(set) var adapterNames: [String] = []
    public var activeAdapters: [String] = []
    public var isAdapterDisabled = false

    override init() { super.init() }

    func table(_ adapter: String) -> PromptTable { child(adapter, as: PromptTable.self) }

    func addAdapter(_ name: String, table: PromptTable) throws {
        if adapterNames.contains(name) { throw AdapterError.duplicateAdapter(name: name) }
        register(name, table)
        adapterNames.append(name)
        if activeAdapters.isEmpty { activeAdapters = [name] }
    }

    public func deleteAdapter(_ name: String) {
        adapterNames.removeAll { $0 == name }
        activeAdapters.removeAll { $0 == name }
        removeChild(name)
    }

    private var activeTable: PromptTable? {
        guard !isAdapterDisabled, let name = activeAdapters.first(where: adapterNames.contains) else { return nil }
        return table(name)
    }

    // MARK: VirtualTokenSource

    public var virtualTokenCount: Int { activeTable?.virtualTokenCount ?? 0 }

    public func promptEmbeddings(batchSize: Int) -> Tensor? {
        guard let table = activeTable, table.kind == .prompt else { return nil }
        let output = table.output   // [n, C]
        return output.unsqueezed(0).expanded(to: [batchSize] + output.shape)   // [B, n, C]
    }

    public func attentionPrefix(layerIndex: Int, batchSize: Int) -> (key: Tensor, value: Tensor)? {
        guard let table = activeTable, case let .prefix(geometry) = table.kind else { return nil }
        let (n, h) = (table.virtualTokenCount, geometry.attentionHeadCount)
        let d = geometry.tokenDimensions / h
        precondition(layerIndex < geometry.layerCount, "PromptEncoder: layer \(layerIndex) of a prefix for \(geometry.layerCount) layers")
        // PEFT views the row of a virtual token as [L · 2, H, D]: layer l's key at 2l, value at 2l + 1.
        let rows = table.output.reshaped([n, 2 * geometry.layerCount, h, d])
        func part(_ index: Int) -> Tensor {   // [B, H, n, D]
            rows.sliced(axis: 1, index..<(index + 1)).squeezed(1).permuted([1, 0, 2]).unsqueezed(0).expanded(to: [batchSize, h, n, d])
        }
        return (part(2 * layerIndex), part(2 * layerIndex + 1))
    }

    // MARK: Saving and loading

    func savedTensors(adapter: String) -> [String: Tensor] {
        ["prompt_embeddings": Tensor.withoutGradient { table(adapter).output.contiguous() }]
    }

    func savedShapes(adapter: String) -> [String: [Int]] {
        let output = table(adapter)
        let width = output.child("transform").map { ($0.child("2") as! Linear).outputDimensions }
            ?? output.child("embedding")!.parameter("weight").shape[1]
        return ["prompt_embeddings": [output.virtualTokenCount, width]]
    }

    /// Loads `prompt_embeddings`; a projected table replaces the projection (PEFT's inference form).
    func load(_ tensors: [String: Tensor], adapter: String) {
        let loaded = tensors["prompt_embeddings"]!
        register(adapter, PromptTable(kind: table(adapter).kind, table: loaded))
    }
}

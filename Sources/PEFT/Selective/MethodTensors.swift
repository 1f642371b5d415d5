import Formats

/// What a training method trains in `BertForSequenceClassification`, module by module, as the
/// memory estimate needs it: which base parameters train, and which tensors the method adds
/// where (`BertActivationModel` replays them the way the method's layers run them).
///
/// Module paths are the model's, e.g. `bert.encoder.layer.0.attention.self.query`,
/// `bert.encoder.layer.0.output.LayerNorm`, `bert.pooler.dense`.
struct MethodTensors {
    /// Where an IA3 vector multiplies: the module's output (keys, values) or its input (the
    /// feed-forward modules).
    enum Scaling { case output, input }

    /// Which residual blocks a bottleneck adapter closes.
    enum Block { case attention, feedForward }

    /// Every base parameter trains (full fine-tuning, selective's dense gradients).
    var trainsBase = false
    /// LoRA rank and dropout of a module.
    var lora: (String) -> (rank: Int, dropout: Double)? = { _ in nil }
    var scaling: (String) -> Scaling? = { _ in nil }
    /// A linear module whose bias carries a trained delta (BitFit).
    var hasBiasDelta: (String) -> Bool = { _ in false }
    /// A LayerNorm whose weight and bias carry trained deltas.
    var normDeltas: (String) -> (weight: Bool, bias: Bool) = { _ in (false, false) }
    var bottleneckBlocks: [Block] = []
    /// Hidden size of the bottleneck adapters.
    var bottleneckSize = 0
    /// Pfeiffer's adapters read the block's normalised output (`original_ln_before`).
    var bottleneckNormalizesFirst = false
    /// Elements of the tensors the method adds (the head excluded).
    private(set) var elements = 0

    init(method: TrainingMethod, configuration: BertConfiguration,
         parameters: [(path: String, count: Int, matrix: (out: Int, in: Int)?)]) {
        let matrices = parameters.compactMap { entry -> (module: String, out: Int, in: Int)? in
            guard let matrix = entry.matrix, entry.path.hasSuffix(".weight"), !entry.path.hasPrefix("classifier.") else { return nil }
            return (String(entry.path.dropLast(7)), matrix.out, matrix.in)
        }
        let c = configuration.hiddenSize
        let layerNorms = ["bert.embeddings.LayerNorm"] + (0..<configuration.hiddenLayerCount).flatMap {
            ["bert.encoder.layer.\($0).attention.output.LayerNorm", "bert.encoder.layer.\($0).output.LayerNorm"]
        }
        switch method {
        case .full, .selective:
            trainsBase = true
        case .head:
            break
        case let .lora(rank, targets, dropout):
            let chosen = Set(matrices.map(\.module).filter { module in targets.contains { Self.matches(module, $0) } })
            lora = { chosen.contains($0) ? (rank, dropout) : nil }
            elements = matrices.filter { chosen.contains($0.module) }.reduce(0) { $0 + rank * ($1.in + $1.out) }
        case let .plannedLoRA(ranks, dropout):
            lora = { module in ranks[module].map { ($0, dropout) } }
            elements = matrices.reduce(0) { $0 + (ranks[$1.module] ?? 0) * ($1.in + $1.out) }
        case .ia3:
            // PEFT's BERT defaults: target_modules key, value, output.dense (a suffix match, so
            // attention.output.dense too); feedforward_modules output.dense.
            scaling = { module in
                Self.matches(module, "output.dense") ? .input : (Self.matches(module, "key") || Self.matches(module, "value")) ? .output : nil
            }
            elements = matrices.reduce(0) { total, matrix in
                switch scaling(matrix.module) {
                case .input: total + matrix.in
                case .output: total + matrix.out
                case nil: total
                }
            }
        case let .bottleneck(reductionFactor, afterAttention):
            bottleneckBlocks = afterAttention ? [.attention, .feedForward] : [.feedForward]
            bottleneckSize = Swift.max(1, Int(Double(c) / reductionFactor))
            bottleneckNormalizesFirst = !afterAttention
            let perAdapter = 2 * c * bottleneckSize + bottleneckSize + c
            elements = bottleneckBlocks.count * configuration.hiddenLayerCount * perAdapter
        case .bitFit:
            let biased = Set(matrices.map(\.module).filter { $0.hasPrefix("bert.") })
            hasBiasDelta = { biased.contains($0) }
            normDeltas = { _ in (false, true) }
            elements = matrices.filter { biased.contains($0.module) }.reduce(0) { $0 + $1.out } + layerNorms.count * c
        case .norm:
            normDeltas = { _ in (true, true) }
            elements = layerNorms.count * 2 * c
        }
    }

    /// Whether a base parameter trains: everything under full fine-tuning, the head always.
    func isTrainable(_ path: String) -> Bool { trainsBase || path.hasPrefix("classifier.") }

    /// PEFT's target test for a plain name: the whole path or its trailing components.
    static func matches(_ module: String, _ name: String) -> Bool {
        !module.hasPrefix("classifier") && (module == name || module.hasSuffix("." + name))
    }
}

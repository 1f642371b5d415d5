import Formats

/// Counts the bytes a training forward pass leaves alive for the backward pass, by replaying
/// the engine's rules on shapes alone:
///
/// - an op is recorded when any input requires a gradient (`Tensor.record`), and its node
///   holds every input until backward reaches it, whether the derivative reads it or not;
/// - views (`reshaped` of a contiguous tensor, `permuted`, `sliced`) share their input's storage;
///   `reshaped` of a non-contiguous view copies (`contiguous`);
/// - some derivatives keep more: elementwise maps (`gelu`, `tanh`, scaling) their output,
///   layer norm two floats of statistics per row, dropout a one-byte keep flag per element,
///   attention its output and one log-sum-exp per query row, cross-entropy its logits.
///
/// A tensor's bytes count once however many nodes hold it; parameters are not activations.
///
/// The trace also counts the memory traffic of the ops that are not matrix products (what a
/// step spends beyond its multiply-adds): each reads its inputs (a broadcast or gathered input
/// at most as many elements as it writes) and writes its output; a recorded op's backward
/// reads the output's gradient and what it saved and writes its inputs' gradients, counted as
/// twice its forward traffic.
struct ActivationTrace {
    struct Value {
        let id: Int
        let elements: Int
        let requiresGradient: Bool
    }

    private var elementCounts: [Int] = []
    private var isParameter: [Bool] = []
    private var retained: Set<Int> = []
    /// Bytes kept by derivatives beyond their inputs (statistics, keep flags ...).
    private(set) var extraBytes = 0
    /// Float32 elements read and written by ops that are not matrix products, forward and
    /// backward.
    private(set) var elementwiseElements = 0

    /// Bytes held for the backward pass: retained float32 tensors plus the extras.
    var bytes: Int { retained.filter { !isParameter[$0] }.reduce(0) { $0 + 4 * elementCounts[$1] } + extraBytes }

    mutating func input(elements: Int) -> Value { make(elements, requiresGradient: false, parameter: false) }

    mutating func parameter(elements: Int, trainable: Bool) -> Value { make(elements, requiresGradient: trainable, parameter: true) }

    /// An op with a new float32 output of `elements`; `isProduct` for matrix products, whose
    /// time the flop count covers.
    mutating func op(_ inputs: [Value], output elements: Int, savedBytes: Int = 0, savesOutput: Bool = false,
                     isProduct: Bool = false) -> Value {
        let recorded = inputs.contains { $0.requiresGradient }
        let output = make(elements, requiresGradient: recorded, parameter: false)
        if !isProduct {
            let moved = elements + inputs.reduce(0) { $0 + Swift.min($1.elements, elements) }
            elementwiseElements += recorded ? 3 * moved : moved
        }
        if recorded {
            for input in inputs { retained.insert(input.id) }
            extraBytes += savedBytes
            if savesOutput { retained.insert(output.id) }
        }
        return output
    }

    /// Elementwise work inside an op that its inputs and output do not show (attention's
    /// score matrices), forward and backward together.
    mutating func work(elements: Int) { elementwiseElements += elements }

    /// A view of `value` (same storage), recorded like any op.
    mutating func view(_ value: Value) -> Value {
        if value.requiresGradient { retained.insert(value.id) }
        return value
    }

    private mutating func make(_ elements: Int, requiresGradient: Bool, parameter: Bool) -> Value {
        elementCounts.append(elements)
        isParameter.append(parameter)
        return Value(id: elementCounts.count - 1, elements: elements, requiresGradient: requiresGradient)
    }
}

/// BERT's training forward pass (`BertForSequenceClassification`) replayed on an
/// `ActivationTrace`, op for op as Sources/Models/BERT runs it.
struct BertActivationModel {
    let configuration: BertConfiguration
    let labelCount: Int
    /// What the method trains and adds, by module path.
    let adapters: MethodTensors
    let isDropoutActive: Bool

    /// What one training step on a [B, T] batch leaves for backward and moves elementwise.
    struct Step {
        /// Bytes saved for backward by the forward pass.
        var savedBytes: Int
        /// Float32 elements read and written by forward and backward ops that are not matrix
        /// products.
        var elementwiseElements: Int
    }

    /// The forward pass on a [B, T] batch, replayed.
    func step(batchSize b: Int, tokens t: Int) -> Step {
        var trace = ActivationTrace()
        let (c, i) = (configuration.hiddenSize, configuration.intermediateSize)
        let n = b * t
        let hiddenDropout = isDropoutActive && configuration.hiddenDropoutProbability > 0

        func parameter(_ path: String, _ elements: Int) -> ActivationTrace.Value {
            trace.parameter(elements: elements, trainable: adapters.isTrainable(path))
        }
        func trained(_ elements: Int) -> ActivationTrace.Value { trace.parameter(elements: elements, trainable: true) }
        func dropout(_ x: ActivationTrace.Value, active: Bool) -> ActivationTrace.Value {
            active ? trace.op([x], output: x.elements, savedBytes: x.elements) : x
        }
        /// x · Wᵀ + b: one op (`linear`), holding x and W.
        func plainLinear(_ x: ActivationTrace.Value, weight: ActivationTrace.Value, bias: ActivationTrace.Value,
                         rows: Int, output: Int) -> ActivationTrace.Value {
            trace.op([trace.view(x), trace.view(weight), bias], output: rows * output, isProduct: true)
        }
        func linear(_ x: ActivationTrace.Value, _ path: String, rows: Int, input: Int, output: Int) -> ActivationTrace.Value {
            let scaling = adapters.scaling(path)
            // IA3 on a feed-forward module: base(x · l).
            let source = scaling == .input ? trace.op([x, trained(input)], output: rows * input) : x
            var result = plainLinear(source, weight: parameter(path + ".weight", input * output),
                                     bias: parameter(path + ".bias", output), rows: rows, output: output)
            if adapters.hasBiasDelta(path) { result = trace.op([result, trained(output)], output: rows * output) }
            if let (rank, probability) = adapters.lora(path) {
                let source = dropout(x, active: isDropoutActive && probability > 0)
                let down = trace.op([source, trace.view(trained(rank * input))], output: rows * rank, isProduct: true)
                let up = trace.op([down, trace.view(trained(output * rank))], output: rows * output, isProduct: true)
                let scaled = trace.op([up], output: rows * output, savesOutput: true)
                result = trace.op([result, scaled], output: rows * output)
            }
            // IA3 on keys and values: base(x) · l.
            if scaling == .output { result = trace.op([result, trained(output)], output: rows * output) }
            return result
        }
        func layerNorm(_ x: ActivationTrace.Value, _ path: String, rows: Int) -> ActivationTrace.Value {
            let deltas = adapters.normDeltas(path)
            var weight = parameter(path + ".weight", c), bias = parameter(path + ".bias", c)
            if deltas.weight { weight = trace.op([weight, trained(c)], output: c) }
            if deltas.bias { bias = trace.op([bias, trained(c)], output: c) }
            return trace.op([x, weight, bias], output: rows * c, savedBytes: 8 * rows)
        }
        /// The residual block's end: norm(h + x), or with a bottleneck adapter (AdapterHub's
        /// residual_before_ln): up(act(down(h'))) + h, then norm(· + x), where h' is h
        /// (Houlsby) or norm(h + x) (Pfeiffer).
        func closeResidual(_ h: ActivationTrace.Value, residual x: ActivationTrace.Value, norm: String,
                           block: MethodTensors.Block) -> ActivationTrace.Value {
            guard adapters.bottleneckBlocks.contains(block) else { return layerNorm(trace.op([h, x], output: n * c), norm, rows: n) }
            let m = adapters.bottleneckSize
            let input = adapters.bottleneckNormalizesFirst ? layerNorm(trace.op([h, x], output: n * c), norm, rows: n) : h
            let down = plainLinear(input, weight: trained(m * c), bias: trained(m), rows: n, output: m)
            let activated = trace.op([down], output: n * m, savesOutput: true)
            let up = plainLinear(activated, weight: trained(c * m), bias: trained(c), rows: n, output: c)
            return layerNorm(trace.op([trace.op([up, h], output: n * c), x], output: n * c), norm, rows: n)
        }

        // Embeddings: word + position + token type, LayerNorm, dropout.
        let e = "bert.embeddings."
        let words = trace.op([parameter(e + "word_embeddings.weight", configuration.vocabularySize * c)], output: n * c)
        let positions = trace.op([parameter(e + "position_embeddings.weight", configuration.maximumPositionCount * c)], output: t * c)
        let types = trace.op([parameter(e + "token_type_embeddings.weight", configuration.typeVocabularySize * c)], output: n * c)
        let summed = trace.op([trace.op([words, positions], output: n * c), types], output: n * c)
        var hidden = dropout(layerNorm(summed, e + "LayerNorm", rows: n), active: hiddenDropout)
        let mask = trace.input(elements: b * t)

        for index in 0..<configuration.hiddenLayerCount {
            let l = "bert.encoder.layer.\(index)."
            let heads = ["query", "key", "value"].map {
                trace.view(trace.view(linear(hidden, l + "attention.self." + $0, rows: n, input: c, output: c)))
            }
            // Attention: its products are in the flop count; its [B, H, T, T] scores are scaled,
            // masked and exponentiated forward, recomputed and differentiated backward: about
            // six passes over them.
            let context = trace.op(heads + [mask], output: n * c, savedBytes: 4 * b * configuration.attentionHeadCount * t,
                                   savesOutput: true, isProduct: true)
            trace.work(elements: 6 * b * configuration.attentionHeadCount * t * t)
            let merged = trace.op([trace.view(context)], output: n * c)   // permute + reshape copies
            let attentionOutput = dropout(linear(trace.view(merged), l + "attention.output.dense", rows: n, input: c, output: c),
                                          active: hiddenDropout)
            let attended = closeResidual(attentionOutput, residual: hidden, norm: l + "attention.output.LayerNorm", block: .attention)
            let intermediate = linear(attended, l + "intermediate.dense", rows: n, input: c, output: i)
            let activated = trace.op([intermediate], output: n * i, savesOutput: true)
            let output = dropout(linear(activated, l + "output.dense", rows: n, input: i, output: c), active: hiddenDropout)
            hidden = closeResidual(output, residual: attended, norm: l + "output.LayerNorm", block: .feedForward)
        }

        // Pooler on the first token, classifier dropout, classifier, cross-entropy.
        let first = trace.op([trace.view(hidden)], output: b * c)
        let pooled = trace.op([linear(first, "bert.pooler.dense", rows: b, input: c, output: c)], output: b * c, savesOutput: true)
        let classifierDropout = isDropoutActive && (configuration.classifierDropoutProbability ?? configuration.hiddenDropoutProbability) > 0
        let logits = linear(dropout(pooled, active: classifierDropout), "classifier", rows: b, input: c, output: labelCount)
        _ = trace.op([logits], output: 1, savedBytes: 4 * b)
        return Step(savedBytes: trace.bytes, elementwiseElements: trace.elementwiseElements)
    }
}

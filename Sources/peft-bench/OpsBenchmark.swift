import ArgumentParser
import TensorCore

/// `peft-bench ops`: softmax, layer norm, GELU and attention at transformer sizes, forward and
/// forward + backward, on all threads.
struct OpsBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops", abstract: "Time softmax, layer norm, GELU and attention at transformer sizes.")

    @OptionGroup var options: BenchmarkOptions

    struct Record: Codable {
        let op, shape: String
        let forwardMilliseconds, forwardBackwardMilliseconds: Double
        /// Effective bandwidth of the forward pass over input + output bytes.
        let forwardGigabytesPerSecond: Double
    }

    struct Report: Codable {
        let threads: Int
        let ops: [Record]
    }

    func run() throws {
        let threads = options.threads ?? Parallel.threadCount
        var records: [Record] = []
        // B = 16 sequences of T = 128 tokens: MiniLM's training batch in `peft-bench train`.
        let (b, t, c, h) = (16, 128, 384, 12)
        let hidden = Tensor.randomNormal([b, t, c], seed: 1)
        let scores = Tensor.randomNormal([b, h, t, t], seed: 2)
        let intermediate = Tensor.randomNormal([b, t, 4 * c], seed: 3)
        let gamma = Tensor.ones([c]), beta = Tensor.zeros([c])
        let q = Tensor.randomNormal([b, h, t, c / h], seed: 4)
        let k = Tensor.randomNormal([b, h, t, c / h], seed: 5)
        let v = Tensor.randomNormal([b, h, t, c / h], seed: 6)
        let padding = Tensor((0..<(b * t)).map { $0 % t < t - 16 ? 0 : -1e9 }, shape: [b, 1, 1, t])

        let cases: [(String, [Tensor], ([Tensor]) -> Tensor)] = [
            ("softmax", [scores], { $0[0].softmax(axis: -1) }),
            ("layer_norm", [hidden, gamma, beta], { layerNorm($0[0], weight: $0[1], bias: $0[2], epsilon: 1e-12) }),
            ("gelu", [intermediate], { $0[0].gelu() }),
            ("gelu_tanh", [intermediate], { $0[0].gelu(approximate: true) }),
            ("attention", [q, k, v], { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: padding) }),
            ("attention_causal", [q, k, v], { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], isCausal: true) }),
        ]
        var table = TextTable(columns: ["op", "shape", "forward ms", "fwd+bwd ms", "fwd GB/s"])
        Parallel.defaultThreadCount = threads
        for (name, inputs, body) in cases {
            let forward = Timing.medianSeconds(repetitions: options.repetitions) {
                _ = Tensor.withoutGradient { body(inputs) }
            }
            let leaves = inputs.map { $0.detached().requiringGradient() }
            let both = Timing.medianSeconds(repetitions: options.repetitions) {
                let output = body(leaves)
                output.backward(Tensor.ones(output.shape))
                for leaf in leaves { leaf.grad = nil }
            }
            let output = Tensor.withoutGradient { body(inputs) }
            let bytes = Double((inputs.map(\.count).reduce(0, +) + output.count) * 4)
            let shape = inputs[0].shape.map(String.init).joined(separator: "x")
            let record = Record(op: name, shape: shape, forwardMilliseconds: forward * 1e3,
                                forwardBackwardMilliseconds: both * 1e3, forwardGigabytesPerSecond: bytes / forward / 1e9)
            records.append(record)
            table.append([name, shape, BenchmarkReport.format(record.forwardMilliseconds, digits: 2),
                          BenchmarkReport.format(record.forwardBackwardMilliseconds, digits: 2),
                          BenchmarkReport.format(record.forwardGigabytesPerSecond)])
        }
        print("threads: \(threads)")
        print(table.rendered())
        if let path = options.json { try BenchmarkReport.writeJSON(Report(threads: threads, ops: records), to: path) }
    }
}

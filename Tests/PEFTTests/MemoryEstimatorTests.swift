import Formats
import Foundation
import Models
import NN
import PEFT
import TensorCore
import Testing

@Suite struct MemoryEstimatorTests {
    let configuration = BertConfiguration(vocabularySize: 50, hiddenSize: 16, hiddenLayerCount: 2, attentionHeadCount: 4,
                                          intermediateSize: 32, maximumPositionCount: 24)
    let b = 3, t = 5, labels = 2

    func estimate(_ method: TrainingMethod, batchSize: Int? = nil) -> TrainingEstimate {
        MemoryEstimator(configuration: configuration, labelCount: labels)
            .estimate(method: method, batchSize: batchSize ?? b, tokens: t, gemmGigaflops: 10, elementwiseGigabytesPerSecond: 10,
                      optimizerElementsPerSecond: 1e8)
    }

    /// Full fine-tuning keeps, per layer, 13 [N, C] and 2 [N, I] float tensors (q/k/v outputs,
    /// attention output and its contiguous copy, output projections, dropout, residual sums,
    /// norms; `linear` keeps no separate product), two dropout keep masks of a byte per element,
    /// layer-norm statistics and the attention log-sum-exps; plus the embeddings' six [N, C]
    /// tensors and the pooler/head's few.
    @Test func fullFineTuningActivationsMatchTheEnginesRules() {
        let (n, c, i, h, l) = (b * t, 16, 32, 4, 2)
        let embeddings = 4 * (6 * n * c + t * c) + 8 * n + n * c
        let layer = 4 * (13 * n * c + 2 * n * i) + 4 * b * h * t + 2 * n * c + 16 * n
        let head = 4 * (4 * b * c + b * labels) + b * c + 4 * b
        let attentionMask = 4 * b * t   // [B, 1, 1, T], held by every layer's attention
        #expect(estimate(.full).activationBytes == embeddings + l * layer + head + attentionMask)
    }

    /// Training the head alone records only the classifier: its input and logits.
    @Test func headOnlyTrainingSavesOnlyTheHeadsInputs() {
        #expect(estimate(.head).activationBytes == 4 * (b * 16 + b * labels) + 4 * b)
    }

    /// Parameter counts agree with the real model and with PEFT's LoRA injection.
    @Test func parameterCountsMatchTheModelAndPeftModel() throws {
        var generator = RandomGenerator(seed: 0)
        let model = BertForSequenceClassification(configuration: configuration, labelCount: labels, generator: &generator)
        #expect(estimate(.full).parameterCount == model.parameterCounts().total)
        var lora = LoRAConfiguration(rank: 4, alpha: 8, targetModules: .names(["query", "value"]))
        lora.taskType = "SEQ_CLS"
        _ = try PeftModel(model: model, configuration: lora)
        let predicted = estimate(.lora(rank: 4, targetModules: ["query", "value"], dropout: 0))
        #expect(predicted.trainableParameterCount == model.parameterCounts().trainable)
    }

    /// Every adapter method's trainable count (adapter tensors + head) equals what PeftModel
    /// trains with the configuration `peft train` uses.
    @Test(arguments: [
        (TrainingMethod.ia3, IA3Configuration() as any AdapterConfiguration),
        (.bottleneck(reductionFactor: 4, afterAttention: true), BottleneckConfiguration(architecture: .houlsby, reductionFactor: 4)),
        (.bottleneck(reductionFactor: 4, afterAttention: false), BottleneckConfiguration(architecture: .pfeiffer, reductionFactor: 4)),
        (.bitFit, BitFitConfiguration(subset: .biases, targetModules: .pattern(#"bert\..*"#))),
        (.norm, BitFitConfiguration(subset: .normalization, targetModules: .pattern(#"bert\..*"#))),
    ])
    func adapterMethodCountsMatchPeftModel(method: TrainingMethod, adapter: any AdapterConfiguration) throws {
        var generator = RandomGenerator(seed: 0)
        let model = BertForSequenceClassification(configuration: configuration, labelCount: labels, generator: &generator)
        _ = try PeftModel(model: model, configuration: classifying(adapter), generator: &generator)
        #expect(estimate(method).trainableParameterCount == model.parameterCounts().trainable)
        #expect(estimate(method).gradientBytes == 4 * model.parameterCounts().trainable)
    }

    /// Planned LoRA counts the factors of exactly the planned modules at their ranks.
    @Test func plannedLoRACountsTheChosenRanks() throws {
        let ranks = ["bert.encoder.layer.0.attention.self.value": 4, "bert.encoder.layer.1.intermediate.dense": 2]
        let planned = estimate(.plannedLoRA(ranks: ranks, dropout: 0))
        #expect(planned.trainableParameterCount == 4 * (16 + 16) + 2 * (16 + 32) + 16 * labels + labels)
    }

    /// Methods that leave the feed-forward intermediate out of the graph save less than those
    /// that need it: Pfeiffer (one adapter) < Houlsby (two); norm tuning records every
    /// LayerNorm's input, BitFit on top every linear output.
    @Test func activationsFollowWhatEachMethodRecords() {
        let houlsby = estimate(.bottleneck(reductionFactor: 4, afterAttention: true)).activationBytes
        let pfeiffer = estimate(.bottleneck(reductionFactor: 4, afterAttention: false)).activationBytes
        #expect(pfeiffer < houlsby)
        #expect(estimate(.norm).activationBytes < estimate(.bitFit).activationBytes)
        #expect(estimate(.head).activationBytes < estimate(.ia3).activationBytes)
    }

    private func classifying(_ adapter: any AdapterConfiguration) -> any AdapterConfiguration {
        switch adapter {
        case var ia3 as IA3Configuration: ia3.taskType = "SEQ_CLS"; return ia3
        case var bottleneck as BottleneckConfiguration: bottleneck.taskType = "SEQ_CLS"; return bottleneck
        case var bitFit as BitFitConfiguration: bitFit.taskType = "SEQ_CLS"; return bitFit
        default: return adapter
        }
    }

    /// Time is the flops at the GEMM rate, plus the elementwise bytes at the elementwise rate,
    /// plus every trained element at AdamW's rate. Backward moves more than the forward pass
    /// alone, so training everything moves more than training the head, and longer sequences
    /// move more than proportionally (attention's [B, H, T, T] scores).
    @Test func timeAddsElementwiseTrafficAndTheOptimizerToTheProducts() {
        let full = estimate(.full), head = estimate(.head)
        let expected = full.flopsPerStep / 10e9 + full.elementwiseBytesPerStep / 10e9 + Double(full.trainableParameterCount) / 1e8
        #expect(abs(full.secondsPerStep - expected) < 1e-12)
        #expect(full.elementwiseBytesPerStep > head.elementwiseBytesPerStep)
        let lora = TrainingMethod.lora(rank: 8, targetModules: ["query", "value"], dropout: 0)
        let short = MemoryEstimator(configuration: configuration, labelCount: labels)
            .estimate(method: lora, batchSize: b, tokens: 10, gemmGigaflops: 10, elementwiseGigabytesPerSecond: 10,
                      optimizerElementsPerSecond: 1e8)
        let long = MemoryEstimator(configuration: configuration, labelCount: labels)
            .estimate(method: lora, batchSize: b, tokens: 20, gemmGigaflops: 10, elementwiseGigabytesPerSecond: 10,
                      optimizerElementsPerSecond: 1e8)
        #expect(long.elementwiseBytesPerStep > 2 * short.elementwiseBytesPerStep)
    }

    @Test func peaksGrowWithTheBatchAndFullFineTuningCostsMost() {
        let lora = TrainingMethod.lora(rank: 8, targetModules: ["query", "value"], dropout: 0)
        #expect(estimate(lora, batchSize: 8).peakBytes > estimate(lora, batchSize: 2).peakBytes)
        #expect(estimate(.full).peakBytes > estimate(lora).peakBytes)
        #expect(estimate(.full).optimizerBytes == 2 * estimate(.full).gradientBytes)
        let selective = estimate(.selective(density: 0.01))
        #expect(selective.trainableParameterCount < estimate(.full).trainableParameterCount / 10)
        #expect(estimate(.full).secondsPerStep > estimate(.head).secondsPerStep)
    }
}

import Foundation
import Testing
import NN
import TensorCore
import TestSupport
@testable import Models

@Suite struct GenerationTests {
    let logits: [Float] = [1.0, 3.0, 2.5, -1.0, 0.0]

    @Test func greedyPicksTheLargestLogit() {
        var sampler = Sampler.greedy
        #expect(sampler.nextToken(logits: logits) == 1)
    }

    @Test func topKAndTopPKeepTheMostLikelyTokens() {
        let topK = Sampler(temperature: 1, topK: 2).probabilities(logits: logits)
        #expect(topK.map(\.token) == [1, 2])
        #expect(abs(topK.map(\.probability).reduce(0, +) - 1) < 1e-6)
        // softmax(3, 2.5, 1, 0, -1) ≈ 0.52, 0.31, 0.07, ...: p = 0.8 keeps the first two.
        #expect(Sampler(temperature: 1, topP: 0.8).probabilities(logits: logits).map(\.token) == [1, 2])
        #expect(Sampler(temperature: 1, topP: 0.1).probabilities(logits: logits).map(\.token) == [1])
    }

    @Test func temperatureSharpensAndSamplingIsSeeded() {
        let cold = Sampler(temperature: 0.1).probabilities(logits: logits)
        let warm = Sampler(temperature: 2).probabilities(logits: logits)
        #expect(cold[0].probability > 0.99 && warm[0].probability < 0.5)
        var first = Sampler(temperature: 1, seed: 9), second = Sampler(temperature: 1, seed: 9)
        let a = (0..<50).map { _ in first.nextToken(logits: logits) }
        let b = (0..<50).map { _ in second.nextToken(logits: logits) }
        #expect(a == b)
        #expect(Set(a).count > 1)
        // Frequencies follow the probabilities.
        var sampler = Sampler(temperature: 1, topK: 2, seed: 1)
        let draws = (0..<4000).map { _ in sampler.nextToken(logits: logits) }
        let share = Float(draws.filter { $0 == 1 }.count) / 4000
        let expected = Sampler(temperature: 1, topK: 2).probabilities(logits: logits)[0].probability
        #expect(abs(share - expected) < 0.03, "token 1 drawn \(share), probability \(expected)")
    }

    /// Greedy generation with the cache equals recomputing the whole sequence at every step.
    @Test func greedyGenerationMatchesRecomputation() throws {
        let model = try LlamaModel.load(from: fixtureURL("llama-tiny"))
        let prompt = [5, 17, 3]
        var sampler = Sampler.greedy
        var streamed: [Int] = []
        let result = generate(model: model, prompt: prompt, maximumNewTokens: 8, sampler: &sampler) {
            streamed.append($0)
            return true
        }
        var sequence = prompt
        for _ in 0..<8 {
            let logits = Tensor.withoutGradient { model(ids: sequence) }
            sequence.append(argmax(logits.sliced(axis: 1, (sequence.count - 1)..<sequence.count).toArray()))
        }
        #expect(result.tokens == Array(sequence.dropFirst(prompt.count)))
        #expect(streamed == result.tokens && result.stopReason == .maximumTokens)
    }

    @Test func stopTokensAndCancellationEndGeneration() throws {
        let model = try GPT2Model.load(from: fixtureURL("gpt2-tiny"))
        model.setTraining(false)
        var sampler = Sampler.greedy
        let free = generate(model: model, prompt: [1, 2], maximumNewTokens: 6, sampler: &sampler)
        let stop = free.tokens[2]
        let stopped = generate(model: model, prompt: [1, 2], maximumNewTokens: 6, stopTokens: [stop], sampler: &sampler)
        #expect(stopped.tokens == Array(free.tokens.prefix(through: free.tokens.firstIndex(of: stop)!)))
        #expect(stopped.stopReason == .stopToken(stop))
        var seen = 0
        let cancelled = generate(model: model, prompt: [1, 2], maximumNewTokens: 6, sampler: &sampler) { _ in
            seen += 1
            return seen < 2
        }
        #expect(cancelled.tokens.count == 2 && cancelled.stopReason == .cancelled)
    }
}

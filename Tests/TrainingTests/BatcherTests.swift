import Testing
@testable import Training

@Suite struct BatcherTests {
    let examples = (0..<10).map { EncodedExample(ids: [101] + Array(repeating: $0 + 1, count: $0 % 4) + [102], label: $0 % 2) }

    @Test func padsEachBatchToItsLongest() {
        let batch = LabeledBatch([examples[0], examples[3]], paddingID: 0)
        #expect(batch.tokens.length == 5)
        #expect(batch.tokens.ids == [101, 102, 0, 0, 0, 101, 4, 4, 4, 102])
        #expect(batch.tokens.attentionMask == [1, 1, 0, 0, 0, 1, 1, 1, 1, 1])
        #expect(batch.tokenCount == 7)
        #expect(batch.labels == [0, 1])
    }

    @Test func shufflesBySeedAndCoversEveryExampleOncePerEpoch() {
        func epochs(seed: UInt64) -> [[Int]] {
            var batcher = Batcher(examples: examples, batchSize: 3, paddingID: 0, seed: seed)
            var result: [[Int]] = []
            for _ in 0..<2 {
                var labels: [Int] = []
                while let batch = batcher.next() { labels += batch.tokens.ids.filter { $0 != 0 && $0 != 101 && $0 != 102 } }
                result.append(labels)
                batcher.startNextEpoch()
            }
            return result
        }
        #expect(epochs(seed: 1) == epochs(seed: 1))
        #expect(epochs(seed: 1) != epochs(seed: 2))
        #expect(epochs(seed: 1)[0] != epochs(seed: 1)[1])
    }

    @Test func restoredPositionGivesTheSameBatches() {
        var original = Batcher(examples: examples, batchSize: 3, paddingID: 0, seed: 7)
        original.startNextEpoch()
        _ = original.next()
        let saved = original.position
        let expected = (0..<3).compactMap { _ in original.next()?.tokens.ids }
        var resumed = Batcher(examples: examples, batchSize: 3, paddingID: 0, seed: 7)
        resumed.restore(saved)
        #expect((0..<3).compactMap { _ in resumed.next()?.tokens.ids } == expected)
        #expect(resumed.batchesPerEpoch == 4)
    }
}

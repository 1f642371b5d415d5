import Dispatch
import Foundation
import Testing
import TestSupport
@testable import Formats

/// Token ids, offsets and decoded text against Hugging Face `tokenizers` (fixtures written by
/// scripts/fixtures/wordpiece.py from all-MiniLM-L6-v2's tokenizer.json).
@Suite struct WordPieceReferenceTests {
    struct Case: Decodable {
        let text: String
        let pair: String?
        let max_length: Int?
        let default_truncation: Bool
        let ids: [Int]
        let type_ids: [Int]
        let attention_mask: [Int]
        let tokens: [String]
        let offsets: [[Int]]
        let decoded: String
        let decoded_with_special: String
    }

    struct Batch: Decodable {
        let texts: [String]
        let length: Int?
        let ids: [[Int]]
        let type_ids: [[Int]]
        let attention_mask: [[Int]]
    }

    struct Cases: Decodable {
        let cases: [Case]
        let batches: [Batch]
    }

    struct CodePoints: Decodable {
        let block_size: Int
        let hashes: [String]
    }

    struct RottenTomatoes: Decodable {
        let count: Int
        let first_text: String
        let ids: [[Int]]
    }

    let tokenizer: WordPieceTokenizer

    init() throws {
        tokenizer = try WordPieceTokenizer(tokenizerJSON: fixtureURL("minilm_tokenizer.json"))
    }

    @Test func settingsComeFromTokenizerJSON() {
        #expect(tokenizer.vocabularySize == 30522)
        #expect(tokenizer.maximumLength == 128)
        #expect(tokenizer.id(of: "[CLS]") == 101)
        #expect(tokenizer.id(of: "[MASK]") == 103)
        #expect(tokenizer.token(for: 7592) == "hello")
    }

    @Test func hardStringsMatchHuggingFace() throws {
        let fixture = try decodeJSONFile(Cases.self, from: fixtureURL("wordpiece_cases.json"))
        #expect(fixture.cases.count >= 60)
        for reference in fixture.cases {
            var tokenizer = tokenizer
            if !reference.default_truncation { tokenizer.maximumLength = nil }
            let encoding = tokenizer.encode(reference.text, pair: reference.pair, maxLength: reference.max_length)
            let label = "\(reference.text.debugDescription.prefix(60)) | \(reference.pair?.prefix(30) ?? "")"
            #expect(encoding.ids == reference.ids, "ids of \(label)")
            #expect(encoding.tokens == reference.tokens, "tokens of \(label)")
            #expect(encoding.tokenTypeIds == reference.type_ids, "type ids of \(label)")
            #expect(encoding.attentionMask == reference.attention_mask, "mask of \(label)")
            #expect(encoding.offsets.map { [$0.lowerBound, $0.upperBound] } == reference.offsets, "offsets of \(label)")
            #expect(tokenizer.decode(encoding.ids) == reference.decoded, "decoded \(label)")
            #expect(tokenizer.decode(encoding.ids, skipSpecialTokens: false) == reference.decoded_with_special, "decoded \(label)")
        }
    }

    @Test func paddedBatchesMatchHuggingFace() throws {
        let fixture = try decodeJSONFile(Cases.self, from: fixtureURL("wordpiece_cases.json"))
        var tokenizer = tokenizer
        tokenizer.maximumLength = nil
        for reference in fixture.batches {
            let batch = tokenizer.encodeBatch(reference.texts, padding: reference.length.map { .fixed($0) } ?? .longest)
            #expect(batch.shape == [reference.ids.count, reference.ids[0].count])
            #expect(batch.ids == reference.ids.flatMap { $0 })
            #expect(batch.tokenTypeIds == reference.type_ids.flatMap { $0 })
            #expect(batch.attentionMask == reference.attention_mask.flatMap { $0 })
        }
    }

    /// Every Unicode code point, in a probe text that puts it next to a letter, after an accent
    /// it may be reordered with, doubled and alone: ids and offsets hashed per block of 4,096
    /// code points, so a failure names the block (its first code point).
    @Test func everyCodePointMatchesHuggingFace() throws {
        let reference = try decodeJSONFile(CodePoints.self, from: fixtureURL("wordpiece_codepoints.json"))
        var untruncated = tokenizer
        untruncated.maximumLength = nil
        let tokenizer = untruncated
        let blockSize = reference.block_size
        let hashes = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: reference.hashes.count)
        defer { hashes.deallocate() }
        let results = UncheckedBuffer(buffer: hashes)
        DispatchQueue.concurrentPerform(iterations: reference.hashes.count) { block in
            if Self.skips(block * blockSize) { return }
            var lines = ""
            for value in UInt32(block * blockSize)..<UInt32((block + 1) * blockSize) {
                guard let scalar = Unicode.Scalar(value) else { continue }
                let character = String(scalar)
                let encoding = tokenizer.encode("x" + character + "A\u{301}" + character + character + " " + character)
                let offsets = encoding.offsets.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ";")
                lines += "\(String(value, radix: 16)) \(encoding.ids.map(String.init).joined(separator: ",")) \(offsets)\n"
            }
            results.buffer[block] = lines.utf8.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
        }
        for (block, expected) in reference.hashes.enumerated() where !Self.skips(block * blockSize) {
            let actual = String(hashes[block], radix: 16)
            #expect(String(repeating: "0", count: 16 - actual.count) + actual == expected,
                    "code points from U+\(String(block * blockSize, radix: 16, uppercase: true))")
        }
    }

    /// Planes 4-13 hold no assigned character, so they are skipped for time; a debug build (slow)
    /// checks only planes 0 and 1, where all the differences between Unicode versions lie.
    private static func skips(_ codePoint: Int) -> Bool {
        #if DEBUG
        return codePoint >= 0x20000
        #else
        return (0x40000..<0xE0000).contains(codePoint)
        #endif
    }

    /// Every fresh/rotten snippet of the Rotten Tomatoes corpus, from the CSV in .cache/assets,
    /// through the tokenizer loaded from the real model folder, and from its bare vocab.txt.
    @Test func everyRottenTomatoesSnippetMatchesHuggingFace() throws {
        guard let csv = try assetURL("rotten_tomatoes_corpus_full.csv"),
              let folder = try assetURL("all-MiniLM-L6-v2") else { return }
        let reference = try decodeJSONFile(RottenTomatoes.self, from: fixtureURL("wordpiece_rotten_tomatoes.json"))
        let table = try CSVTable(contentsOf: csv)
        let (category, text) = (try table.columnIndex(named: "category"), try table.columnIndex(named: "text"))
        let texts = table.rows.filter { $0[category] == "fresh" || $0[category] == "rotten" }.map { $0[text] }
        try #require(texts.count == reference.count)
        #expect(texts.first == reference.first_text)

        var fromFolder = try WordPieceTokenizer(folder: folder)
        fromFolder.maximumLength = nil
        let fromVocabulary = try WordPieceTokenizer(vocabulary: folder.appendingPathComponent("vocab.txt"))
        for (name, tokenizer) in [("tokenizer.json", fromFolder), ("vocab.txt", fromVocabulary)] {
            var encodings: [[Int]] = []
            let (wall, cpu) = measure { encodings = texts.map { tokenizer.encode($0).ids } }
            let matches = zip(encodings, reference.ids).filter { $0 == $1 }.count
            let firstMismatch = zip(texts, zip(encodings, reference.ids)).first { $1.0 != $1.1 }
            #expect(matches == texts.count, "\(name): first mismatch \(firstMismatch.map { "\($0.0.debugDescription): \($0.1.0) vs \($0.1.1)" } ?? "")")
            print("WordPiece \(name): \(matches)/\(texts.count) Rotten Tomatoes snippets match; one thread: "
                + "\(Int(Double(texts.count) / wall)) texts/s wall, \(Int(Double(texts.count) / cpu)) texts/s of CPU time")
        }
        let (wall, _) = measure { _ = fromFolder.encodeBatch(texts, padding: .longest) }
        print("WordPiece encodeBatch (all cores): \(Int(Double(texts.count) / wall)) texts/s wall")
    }

    /// Wall-clock and this thread's CPU seconds of `body` (CPU time is what a loaded machine does not distort).
    private func measure(_ body: () -> Void) -> (wall: Double, cpu: Double) {
        func cpuSeconds() -> Double {
            var time = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
            return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
        }
        let (start, cpuStart) = (ContinuousClock.now, cpuSeconds())
        body()
        let elapsed = ContinuousClock.now - start
        let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return (wall, cpuSeconds() - cpuStart)
    }
}

/// A buffer that worker threads write at disjoint indices.
private struct UncheckedBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<UInt64>
}

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
            let clock = ContinuousClock()
            var encodings: [[Int]] = []
            let elapsed = clock.measure { encodings = texts.map { tokenizer.encode($0).ids } }
            let matches = zip(encodings, reference.ids).filter { $0 == $1 }.count
            let firstMismatch = zip(texts, zip(encodings, reference.ids)).first { $1.0 != $1.1 }
            #expect(matches == texts.count, "\(name): first mismatch \(firstMismatch.map { "\($0.0.debugDescription): \($0.1.0) vs \($0.1.1)" } ?? "")")
            let seconds = Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
            print("WordPiece \(name): \(matches)/\(texts.count) Rotten Tomatoes snippets match; \(Int(Double(texts.count) / seconds)) texts/s on one thread")
        }
        let clock = ContinuousClock()
        let elapsed = clock.measure { _ = fromFolder.encodeBatch(texts, padding: .longest) }
        let seconds = Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
        print("WordPiece encodeBatch: \(Int(Double(texts.count) / seconds)) texts/s")
    }
}

import Foundation
import Testing
@testable import Formats

/// The tokenizer's parts on a tiny vocabulary, and its loading errors.
@Suite struct WordPieceTests {
    static let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "aff", "##a",
                             "a", "b", "c", "##b", "##c", ",", "!", "hello", "world", "中", "cafe", "the", "'", "s"]

    func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wordpiece-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    func tinyTokenizer(lineEnding: String = "\n") throws -> WordPieceTokenizer {
        let url = try temporaryFolder().appendingPathComponent("vocab.txt")
        try (Self.vocabulary.joined(separator: lineEnding) + lineEnding).write(to: url, atomically: true, encoding: .utf8)
        return try WordPieceTokenizer(vocabulary: url)
    }

    @Test func greedyLongestMatchWithContinuationPrefix() throws {
        let tokenizer = try tinyTokenizer()
        #expect(tokenizer.encode("unaffable").tokens == ["[CLS]", "un", "##aff", "##able", "[SEP]"])
        #expect(tokenizer.encode("abc cab").tokens == ["[CLS]", "a", "##b", "##c", "c", "##a", "##b", "[SEP]"])
        // "d" is in no entry, so the whole word is unknown, not just its tail.
        #expect(tokenizer.encode("abd").tokens == ["[CLS]", "[UNK]", "[SEP]"])
        #expect(tokenizer.encode(String(repeating: "a", count: 101)).tokens == ["[CLS]", "[UNK]", "[SEP]"])
        #expect(tokenizer.encode(String(repeating: "a", count: 100)).count == 102)
    }

    @Test func vocabularyTxtWithCRLFLoads() throws {
        let tokenizer = try tinyTokenizer(lineEnding: "\r\n")
        #expect(tokenizer.vocabularySize == Self.vocabulary.count)
        #expect(tokenizer.id(of: "##aff") == 6)
        #expect(tokenizer.encode("Hello, WORLD!").ids == [2, 17, 15, 18, 16, 3])
    }

    @Test func normalizerCleansSpacesIdeographsAndStripsAccents() {
        let normalizer = BertNormalizer()
        func normalized(_ text: String) -> String {
            var output = NormalizedText()
            let scalars = text.unicodeScalars.map(\.value)
            normalizer.normalize(scalars, range: 0..<scalars.count, into: &output)
            return String(String.UnicodeScalarView(output.scalars.compactMap(Unicode.Scalar.init)))
        }
        #expect(normalized("Café\tÅ\u{0}\u{200B}x\u{FFFD}") == "cafe ax")
        #expect(normalized("a中b") == "a 中 b")
        #expect(normalized("İ") == "i")
        // Without stripping, lowercasing İ gives two scalars, as Rust's char::to_lowercase does.
        var keepingAccents = normalizer
        keepingAccents.stripsAccents = false
        var output = NormalizedText()
        keepingAccents.normalize([0x130], range: 0..<1, into: &output)
        #expect(output.scalars == [0x69, 0x307])
        #expect(output.origins == [0, 0])
    }

    @Test func preTokenizerSplitsWhitespaceAndEveryPunctuation() {
        let scalars = "hi,  you!?«x»".unicodeScalars.map(\.value)
        let words = BertPreTokenizer.words(in: scalars, range: 0..<scalars.count)
        #expect(words == [0..<2, 2..<3, 5..<8, 8..<9, 9..<10, 10..<11, 11..<12, 12..<13])
    }

    @Test func specialTokensAreNeverSplit() throws {
        let tokenizer = try tinyTokenizer()
        #expect(tokenizer.encode("a[MASK]b [SEP]").tokens == ["[CLS]", "a", "[MASK]", "b", "[SEP]", "[SEP]"])
        #expect(tokenizer.decode(tokenizer.encode("a[MASK]b").ids) == "a b")
        #expect(tokenizer.decode(tokenizer.encode("a[MASK]b").ids, skipSpecialTokens: false) == "[CLS] a [MASK] b [SEP]")
    }

    @Test func pairsGetTypeIdsAndLongestFirstTruncation() throws {
        let tokenizer = try tinyTokenizer()
        let encoding = tokenizer.encode("a b c", pair: "a b c a b c", maxLength: 9)
        #expect(encoding.tokens == ["[CLS]", "a", "b", "c", "[SEP]", "a", "b", "c", "[SEP]"])
        #expect(encoding.tokenTypeIds == [0, 0, 0, 0, 0, 1, 1, 1, 1])
        // Budget 6 after 3 special tokens: 3 and 3; an odd budget of 5 gives the longer one 3.
        let odd = tokenizer.encode("a b c", pair: "a b c a b c", maxLength: 8)
        #expect(odd.tokenTypeIds == [0, 0, 0, 0, 1, 1, 1, 1])
        #expect(odd.tokens == ["[CLS]", "a", "b", "[SEP]", "a", "b", "c", "[SEP]"])
        #expect(tokenizer.encode("a b c a b", maxLength: 4).tokens == ["[CLS]", "a", "b", "[SEP]"])
    }

    @Test func longestFirstRule() {
        func lengths(_ first: Int, _ second: Int, budget: Int) -> (Int, Int) {
            func encoding(_ count: Int) -> Encoding {
                Encoding(ids: Array(repeating: 0, count: count), tokenTypeIds: Array(repeating: 0, count: count),
                         attentionMask: Array(repeating: 1, count: count), tokens: Array(repeating: "", count: count),
                         offsets: Array(repeating: 0..<0, count: count))
            }
            var a = encoding(first)
            var b: Encoding? = encoding(second)
            truncateLongestFirst(&a, &b, maxLength: budget, addedTokens: 0)
            return (a.count, b!.count)
        }
        #expect(lengths(3, 10, budget: 8) == (3, 5))
        #expect(lengths(10, 3, budget: 8) == (5, 3))
        #expect(lengths(10, 10, budget: 7) == (3, 4))
        #expect(lengths(12, 10, budget: 7) == (4, 3))
        #expect(lengths(2, 2, budget: 7) == (2, 2))
    }

    @Test func batchesPadWithMasks() throws {
        let tokenizer = try tinyTokenizer()
        let batch = tokenizer.encodeBatch(["a", "a b c"], padding: .longest)
        #expect(batch.shape == [2, 5])
        #expect(batch.ids == [2, 10, 3, 0, 0, 2, 10, 11, 12, 3])
        #expect(batch.attentionMask == [1, 1, 1, 0, 0, 1, 1, 1, 1, 1])
        #expect(batch.row(1).ids == [2, 10, 11, 12, 3])
        let fixed = tokenizer.encodeBatch(["a", "a b c"], padding: .fixed(4))
        #expect(fixed.shape == [2, 4])
        #expect(fixed.ids == [2, 10, 3, 0, 2, 10, 11, 3])
    }

    @Test func offsetsPointIntoTheOriginalText() throws {
        let tokenizer = try tinyTokenizer()
        let encoding = tokenizer.encode("Café, unaffable")
        #expect(encoding.tokens == ["[CLS]", "cafe", ",", "un", "##aff", "##able", "[SEP]"])
        #expect(encoding.offsets == [0..<0, 0..<4, 4..<5, 6..<8, 8..<11, 11..<15, 0..<0])
    }

    @Test func loadingErrorsNameTheFile() throws {
        let folder = try temporaryFolder()
        #expect(throws: TokenizerError.missingVocabulary(folder: folder.path)) { try WordPieceTokenizer(folder: folder) }

        let json = folder.appendingPathComponent("tokenizer.json")
        try #"{"model": {"type": "BPE", "vocab": {"a": 0}}}"#.write(to: json, atomically: true, encoding: .utf8)
        #expect(throws: TokenizerError.unsupported(file: json.path, key: "model.type", value: "BPE")) {
            try WordPieceTokenizer(folder: folder)
        }
        try #"{"model": {"vocab": {"a": 0}}, "pre_tokenizer": {"type": "BertPreTokenizer"}}"#.write(to: json, atomically: true, encoding: .utf8)
        #expect(throws: TokenizerError.missingToken(file: json.path, token: "[UNK]")) { try WordPieceTokenizer(tokenizerJSON: json) }
        try #"{"model": {"vocab": "#.write(to: json, atomically: true, encoding: .utf8)
        #expect {
            try WordPieceTokenizer(tokenizerJSON: json)
        } throws: { error in
            guard case let .malformedFile(file, reason)? = error as? TokenizerError else { return false }
            return file == json.path && reason.hasPrefix("not valid JSON")
        }

        let vocabulary = folder.appendingPathComponent("vocab.txt")
        try "a\nb\n".write(to: vocabulary, atomically: true, encoding: .utf8)
        #expect(throws: TokenizerError.missingToken(file: vocabulary.path, token: "[UNK]")) {
            try WordPieceTokenizer(vocabulary: vocabulary)
        }
        try "".write(to: vocabulary, atomically: true, encoding: .utf8)
        #expect(throws: TokenizerError.emptyVocabulary(file: vocabulary.path)) { try WordPieceTokenizer(vocabulary: vocabulary) }
    }
}

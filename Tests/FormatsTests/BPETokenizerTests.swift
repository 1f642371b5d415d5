import Foundation
import Testing
import TestSupport
@testable import Formats

/// Unit cases for the byte-level BPE tokenizer on hand-made vocabularies.
@Suite struct BPETokenizerTests {
    /// Every single byte's alphabet token, plus `extra` tokens after them.
    func alphabetVocabulary(_ extra: [String]) -> [String: Int] {
        var vocabulary: [String: Int] = [:]
        for byte in 0...255 { vocabulary[ByteLevelAlphabet.string(for: [UInt8(byte)])] = byte }
        for (offset, token) in extra.enumerated() { vocabulary[token] = 256 + offset }
        return vocabulary
    }

    @Test func alphabetIsGPT2BytesToUnicode() {
        #expect(Set(ByteLevelAlphabet.scalars).count == 256)
        #expect(ByteLevelAlphabet.string(for: Array(" \n\t!~é".utf8)) == "ĠĊĉ!~Ã©")
        #expect(ByteLevelAlphabet.scalar(for: 0) == 0x100 && ByteLevelAlphabet.scalar(for: 0xAD) == 0x143)
        for byte in 0...255 { #expect(ByteLevelAlphabet.byte(for: ByteLevelAlphabet.scalar(for: UInt8(byte))) == UInt8(byte)) }
        #expect(ByteLevelAlphabet.byte(for: 0x144) == nil)
    }

    @Test func gpt2PatternKeepsTheLastSpaceOfARunForTheNextWord() {
        #expect(ByteLevelPreTokenizer.gpt2.pieces(of: "a   b  ") == ["a", "  ", " b", "  "])
        #expect(ByteLevelPreTokenizer.gpt2.pieces(of: "x\n\ny") == ["x", "\n", "\n", "y"])
        #expect(ByteLevelPreTokenizer.gpt2.pieces(of: "I'm it's 'S") == ["I", "'m", " it", "'s", " '", "S"])
        #expect(ByteLevelPreTokenizer.gpt2.pieces(of: "(12ab)") == ["(", "12", "ab", ")"])
    }

    @Test func smolLM2SplitsDigitsOneByOne() {
        #expect(ByteLevelPreTokenizer.smolLM2.pieces(of: "In 1603, Hamlet's") == ["In", " ", "1", "6", "0", "3", ",", " Hamlet", "'s"])
    }

    @Test func llama3PatternGroupsThreeDigitsAndIgnoresCaseInContractions() {
        #expect(ByteLevelPreTokenizer.llama3.pieces(of: "12345 I'M \"quoted\"\n\n  x") == ["123", "45", " I", "'M", " \"", "quoted", "\"\n\n", " ", " x"])
    }

    @Test func mergesApplyLowestRankFirst() throws {
        // "ab" outranks "bc": "abc" -> ["ab", "c"], even though "bc" comes first in the word's right half.
        let tokenizer = try ByteLevelBPETokenizer(vocabulary: alphabetVocabulary(["ab", "bc", "abc", "Ġab"]),
                                                  merges: [("a", "b"), ("b", "c"), ("ab", "c"), ("Ġ", "ab")])
        #expect(tokenizer.tokenize("abc") == ["abc"])
        #expect(tokenizer.tokenize("bc ab") == ["bc", "Ġab"])
        #expect(tokenizer.tokenize("xbcab") == ["x", "bc", "ab"])
        #expect(tokenizer.decode(tokenizer.encode("bc ab\n")) == "bc ab\n")
    }

    @Test func ignoreMergesTakesWholeWordsFromTheVocabulary() throws {
        // Without a merge for "xy", only `ignore_merges` reaches the vocabulary entry.
        let vocabulary = alphabetVocabulary(["xy"])
        #expect(try ByteLevelBPETokenizer(vocabulary: vocabulary, merges: []).tokenize("xy") == ["x", "y"])
        #expect(try ByteLevelBPETokenizer(vocabulary: vocabulary, merges: [], ignoresMerges: true).tokenize("xy") == ["xy"])
    }

    @Test func missingBytesFallBackToByteTokensOrTheUnknownToken() throws {
        var vocabulary: [String: Int] = ["a": 0, "<unk>": 1]
        let fused = try ByteLevelBPETokenizer(vocabulary: vocabulary, merges: [], unknownToken: "<unk>", fusesUnknown: true)
        #expect(fused.encode("a!!a") == [0, 1, 0])
        let unfused = try ByteLevelBPETokenizer(vocabulary: vocabulary, merges: [], unknownToken: "<unk>")
        #expect(unfused.encode("a!!a") == [0, 1, 1, 0])
        vocabulary["<0x21>"] = 2
        let bytes = try ByteLevelBPETokenizer(vocabulary: vocabulary, merges: [], byteFallback: true, unknownToken: "<unk>")
        #expect(bytes.encode("a!?") == [0, 2, 1])
    }

    @Test func addedTokensAreNeverSplitAndHonourStripping() throws {
        let vocabulary = alphabetVocabulary([])
        let tokenizer = try ByteLevelBPETokenizer(vocabulary: vocabulary, merges: [], addedTokens: [
            .init(id: 300, content: "<s>"),
            .init(id: 301, content: "<mask>", stripsLeft: true),
            .init(id: 302, content: "<end>", stripsRight: true),
            .init(id: 303, content: "hi", isSpecial: false, isSingleWord: true),
        ], template: .init(prefix: [300]))
        #expect(tokenizer.encode("a<s>b", addSpecialTokens: false) == [vocabulary["a"]!, 300, vocabulary["b"]!])
        #expect(tokenizer.encode("a  <mask>", addSpecialTokens: false) == [vocabulary["a"]!, 301])
        #expect(tokenizer.encode("<end> \n b", addSpecialTokens: false) == [302, vocabulary["b"]!])
        #expect(tokenizer.encode("hi", addSpecialTokens: false) == [303])
        #expect(tokenizer.encode("ahi", addSpecialTokens: false).count == 3)
        #expect(tokenizer.encode("x").first == 300)
        #expect(tokenizer.decode([300, vocabulary["x"]!, 303], skipSpecialTokens: true) == "xhi")
    }

    @Test func decodeReplacesBrokenUTF8() throws {
        let tokenizer = try ByteLevelBPETokenizer(vocabulary: alphabetVocabulary([]), merges: [])
        let ids = tokenizer.encode("é😀")
        #expect(ids.count == 6)
        #expect(tokenizer.decode(Array(ids.prefix(3))) == "é\u{FFFD}")
        #expect(tokenizer.decode(ids + [9999]) == "é😀")
    }

    @Test func unknownMergeTokensAreReported() {
        #expect(throws: ByteLevelBPEError.invalidMerge(source: "merges", rank: 0, merge: "a b")) {
            try ByteLevelBPETokenizer(vocabulary: ["a": 0, "b": 1], merges: [("a", "b")])
        }
    }

    @Test func tokenizerJSONWithUnsupportedPartsIsRejected() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("tokenizer.json")
        func write(_ preTokenizer: String) throws {
            let json = #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": \#(preTokenizer)}"#
            try Data(json.utf8).write(to: url)
        }
        try write(#"{"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated", "invert": false}"#)
        #expect(throws: ByteLevelBPEError.unsupported(source: url.path, key: "pre_tokenizer.pattern", value: #"\w+"#)) {
            try ByteLevelBPETokenizer(tokenizerJSON: url)
        }
        try write(#"{"type": "Metaspace"}"#)
        #expect(throws: ByteLevelBPEError.unsupported(source: url.path, key: "pre_tokenizer.type", value: "Metaspace")) {
            try ByteLevelBPETokenizer(tokenizerJSON: url)
        }
        try write(#"{"type": "ByteLevel", "add_prefix_space": true}"#)
        #expect(try ByteLevelBPETokenizer(tokenizerJSON: url).preTokenizer.steps == [.addPrefixSpace, .split(.gpt2)])
    }

    /// Stands in for `GGUFValue`.
    enum MetadataValue: TokenizerMetadataValue {
        case text(String), texts([String]), number(Int), numbers([Int]), flag(Bool)
        var string: String? { if case let .text(value) = self { value } else { nil } }
        var strings: [String]? { if case let .texts(value) = self { value } else { nil } }
        var integer: Int? { if case let .number(value) = self { value } else { nil } }
        var integers: [Int]? { if case let .numbers(value) = self { value } else { nil } }
        var bool: Bool? { if case let .flag(value) = self { value } else { nil } }
    }

    @Test func ggufMetadataBuildsTheLlamaCppTokenizer() throws {
        let alphabet = (0...255).map { ByteLevelAlphabet.string(for: [UInt8($0)]) }
        let tokens = ["<|endoftext|>", "<|im_start|>"] + alphabet + ["Ġa", "12"]
        let metadata: [String: MetadataValue] = [
            "tokenizer.ggml.model": .text("gpt2"), "tokenizer.ggml.pre": .text("smollm"),
            "tokenizer.ggml.tokens": .texts(tokens),
            "tokenizer.ggml.token_type": .numbers([3, 3] + Array(repeating: 1, count: 258)),
            "tokenizer.ggml.merges": .texts(["Ġ a", "1 2"]),
            "tokenizer.ggml.bos_token_id": .number(1), "tokenizer.ggml.eos_token_id": .number(0),
            "tokenizer.ggml.add_bos_token": .flag(true),
            "tokenizer.chat_template": .text("{{'<|im_start|>' + message['content'] + '<|im_end|>'}}"),
        ]
        let tokenizer = try ByteLevelBPETokenizer(ggufMetadata: metadata)
        // Digits are split one by one ("smollm"), so the "12" merge never applies.
        #expect(tokenizer.tokenize(" a12<|endoftext|>", addSpecialTokens: true) == ["<|im_start|>", "Ġa", "1", "2", "<|endoftext|>"])
        #expect(tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 0)
        #expect(tokenizer.chatTemplate.flatMap(ChatMLTemplate.init(jinja:)) == ChatMLTemplate())
        var unknown = metadata
        unknown["tokenizer.ggml.pre"] = .text("tekken")
        #expect(throws: ByteLevelBPEError.unsupported(source: "GGUF metadata", key: "tokenizer.ggml.pre", value: "tekken")) {
            try ByteLevelBPETokenizer(ggufMetadata: unknown)
        }
    }

    @Test func chatMLRendersSystemDefaultAndGenerationPrompt() {
        let messages = [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello")]
        #expect(ChatMLTemplate().render(messages, addGenerationPrompt: true)
            == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>assistant\n")
        let system = [ChatMessage(role: "system", content: "Be brief.")] + messages
        #expect(ChatMLTemplate.smolLM2.render(system, addGenerationPrompt: false).hasPrefix("<|im_start|>system\nBe brief.<|im_end|>\n"))
        #expect(ChatMLTemplate.smolLM2.render([], addGenerationPrompt: false) == "")
        #expect(ChatMLTemplate(jinja: "{{ bos_token }}{% for m in messages %}[INST] {{ m.content }}{% endfor %}") == nil)
    }
}

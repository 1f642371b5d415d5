import Foundation
import Testing
import TestSupport
@testable import Formats

/// Byte-level BPE against Hugging Face `tokenizers` (fixtures from scripts/fixtures/bpe.py).
@Suite struct BPEReferenceTests {
    struct SmolLM2Fixture: Decodable {
        struct Case: Decodable {
            let text: String
            let ids: [Int]
            let tokens: [String]
            let decoded: String
            let decoded_skipping_special: String
            let decoded_prefix: String
        }
        struct Chat: Decodable {
            let messages: [ChatMessage]
            let add_generation_prompt: Bool
            let rendered: String
            let ids: [Int]
        }
        let chat_template: String
        let cases: [Case]
        let splits: [[String: Split]]
        let chats: [Chat]
    }

    /// A split entry is either the text (a string) or the pieces of one pattern (a list).
    enum Split: Decodable {
        case text(String)
        case pieces([String])
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) { self = .text(text) } else { self = .pieces(try container.decode([String].self)) }
        }
    }

    struct TinyCase: Decodable {
        let text: String
        let ids: [Int]
        let decoded: String
        let decoded_skipping_special: String
    }

    /// Exact scalar equality (Swift's `==` on strings treats canonically equivalent text as equal).
    func same(_ left: String, _ right: String) -> Bool { Array(left.unicodeScalars) == Array(right.unicodeScalars) }

    func smolLM2Fixture() throws -> SmolLM2Fixture {
        try JSONDecoder().decode(SmolLM2Fixture.self, from: Data(contentsOf: fixtureURL("bpe_smollm2.json")))
    }

    /// SmolLM2's tokenizer from the GGUF's own metadata, as `peft generate` loads it (nil on a
    /// developer machine without the asset; an error in CI). The reference ids come from Hugging
    /// Face tokenizers on the same vocabulary (scripts/fixtures/bpe.py).
    func smolLM2() throws -> ByteLevelBPETokenizer? {
        guard let file = try assetURL("SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf") else { return nil }
        return try ByteLevelBPETokenizer(ggufMetadata: try GGUFFile(url: file).metadata)
    }

    /// The same tokenizer from the tokenizer.json that scripts/fixtures/bpe.py extracts, when present.
    @Test func ggufAndTokenizerJSONLoadersAgree() throws {
        guard let fromGGUF = try smolLM2(),
              let folder = try? assetURL("SmolLM2-135M-Instruct/hf-tokenizer") else { return }
        let fromJSON = try ByteLevelBPETokenizer(folder: folder)
        for text in try smolLM2Fixture().cases.prefix(40).map(\.text) {
            #expect(fromGGUF.encode(text) == fromJSON.encode(text), "\(text)")
        }
    }

    @Test func scannersSplitLikeOniguruma() throws {
        let preTokenizers: [String: ByteLevelPreTokenizer] = [
            "gpt2": .gpt2, "smollm2": .smolLM2, "llama3": .llama3,
            "qwen2": ByteLevelPreTokenizer(steps: [.split(.llama3(maximumDigits: 1))]),
        ]
        var compared = 0
        for entry in try smolLM2Fixture().splits {
            guard case let .text(text)? = entry["text"] else { Issue.record("split entry without text"); continue }
            for (name, preTokenizer) in preTokenizers {
                guard case let .pieces(expected)? = entry[name] else { continue }
                let pieces = preTokenizer.pieces(of: text)
                #expect(pieces.count == expected.count && zip(pieces, expected).allSatisfy(same), "\(name) \(text.debugDescription): \(pieces) != \(expected)")
                compared += 1
            }
        }
        #expect(compared > 500)
    }

    @Test(arguments: ["gpt2", "llama3"])
    func tinyTokenizerMatchesTokenizers(variant: String) throws {
        let tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: fixtureURL("bpe_tiny_\(variant)_tokenizer.json"))
        let cases = try JSONDecoder().decode([String: [TinyCase]].self, from: Data(contentsOf: fixtureURL("bpe_tiny.json")))[variant] ?? []
        #expect(cases.count > 100)
        var matched = 0
        for testCase in cases {
            let ids = tokenizer.encode(testCase.text)
            #expect(ids == testCase.ids, "\(variant) \(testCase.text.debugDescription)")
            #expect(same(tokenizer.decode(testCase.ids), testCase.decoded), "decode \(testCase.text.debugDescription)")
            #expect(same(tokenizer.decode(testCase.ids, skipSpecialTokens: true), testCase.decoded_skipping_special),
                    "decode skipping special \(testCase.text.debugDescription)")
            if ids == testCase.ids { matched += 1 }
        }
        #expect(matched == cases.count)
    }

    @Test func smolLM2MatchesTokenizers() throws {
        guard let tokenizer = try smolLM2() else { return }
        let fixture = try smolLM2Fixture()
        #expect(tokenizer.vocabularySize == 49152)
        #expect(tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2)
        var matched = 0
        for testCase in fixture.cases {
            let ids = tokenizer.encode(testCase.text)
            #expect(ids == testCase.ids, "\(testCase.text.debugDescription)")
            #expect(ids.map { tokenizer.token(for: $0) ?? "" } == testCase.tokens)
            #expect(same(tokenizer.decode(testCase.ids), testCase.decoded), "decode \(testCase.text.debugDescription)")
            #expect(same(tokenizer.decode(testCase.ids, skipSpecialTokens: true), testCase.decoded_skipping_special))
            let prefix = Array(testCase.ids.prefix(max(1, testCase.ids.count / 2)))
            #expect(same(tokenizer.decode(prefix), testCase.decoded_prefix), "partial decode \(testCase.text.debugDescription)")
            if ids == testCase.ids { matched += 1 }
        }
        #expect(matched == fixture.cases.count, "\(matched) of \(fixture.cases.count) texts match")
    }

    @Test func chatTemplateMatchesApplyChatTemplate() throws {
        let fixture = try smolLM2Fixture()
        let template = try #require(ChatMLTemplate(jinja: fixture.chat_template))
        #expect(template == .smolLM2)
        for chat in fixture.chats {
            #expect(same(template.render(chat.messages, addGenerationPrompt: chat.add_generation_prompt), chat.rendered))
        }
        guard let tokenizer = try smolLM2() else { return }
        #expect(tokenizer.chatTemplate.flatMap(ChatMLTemplate.init(jinja:)) == .smolLM2)
        for chat in fixture.chats {
            #expect(tokenizer.encode(chat.rendered) == chat.ids)
        }
    }

    /// Encodes a whole play and prints the rate (meaningful in a release build).
    @Test func throughputOnAPlay() throws {
        guard let tokenizer = try smolLM2(), let play = try assetURL("shakespeare/hamlet_gut.txt") else { return }
        let text = try String(contentsOf: play, encoding: .utf8)
        for label in ["cold cache", "warm cache"] {
            let start = Date()
            let ids = tokenizer.encode(text)
            let seconds = Date().timeIntervalSince(start)
            #expect(tokenizer.decode(ids) == text)
            print("BPE \(label): \(ids.count) tokens in \(String(format: "%.3f", seconds)) s = \(Int(Double(ids.count) / seconds)) tokens/s")
        }
    }
}

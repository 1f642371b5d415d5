import Foundation

/// The parts of Hugging Face's `tokenizer.json` a BERT WordPiece tokenizer reads. Unknown keys
/// are ignored; components of another kind are reported by `WordPieceTokenizer` as unsupported.
struct TokenizerFile: Decodable {
    struct AddedToken: Decodable {
        let id: Int
        let content: String
        let special: Bool?
        let normalized: Bool?
    }

    struct Normalizer: Decodable {
        let type: String
        let clean_text: Bool?
        let handle_chinese_chars: Bool?
        let strip_accents: Bool?
        let lowercase: Bool?
    }

    struct Component: Decodable {
        let type: String
    }

    struct PostProcessor: Decodable {
        /// `TemplateProcessing`: `{"SpecialToken": {"id", "type_id"}}` or `{"Sequence": {"id": "A"|"B", "type_id"}}`.
        struct Piece: Decodable {
            struct Special: Decodable { let id: String; let type_id: Int }
            struct Sequence: Decodable { let id: String; let type_id: Int }
            let SpecialToken: Special?
            let Sequence: Sequence?
        }
        struct SpecialToken: Decodable {
            let ids: [Int]
            let tokens: [String]
        }
        /// `BertProcessing` stores `[token, id]` pairs.
        enum TokenAndID: Decodable {
            case value(String, Int)
            init(from decoder: any Swift.Decoder) throws {
                var container = try decoder.unkeyedContainer()
                self = .value(try container.decode(String.self), try container.decode(Int.self))
            }
        }

        let type: String
        let single: [Piece]?
        let pair: [Piece]?
        let special_tokens: [String: SpecialToken]?
        let cls: TokenAndID?
        let sep: TokenAndID?
    }

    struct Truncation: Decodable {
        let max_length: Int
        let strategy: String?
        let direction: String?
    }

    struct Padding: Decodable {
        let direction: String?
        let pad_id: Int?
        let pad_type_id: Int?
        let pad_token: String?
    }

    struct Model: Decodable {
        let type: String?
        let vocab: [String: Int]
        let unk_token: String?
        let continuing_subword_prefix: String?
        let max_input_chars_per_word: Int?
    }

    struct Decoder: Decodable {
        let type: String
        let prefix: String?
        let cleanup: Bool?
    }

    let added_tokens: [AddedToken]?
    let normalizer: Normalizer?
    let pre_tokenizer: Component?
    let post_processor: PostProcessor?
    let truncation: Truncation?
    let padding: Padding?
    let model: Model
    let decoder: Decoder?
}

/// Reads `vocab.txt`: one token a line, its id the line number; trailing whitespace is trimmed
/// and a repeated token keeps its last line, as Hugging Face's `WordPiece.from_file` does.
func readVocabularyFile(_ url: URL) throws -> [String: Int] {
    let data: Data
    do {
        data = try Data(contentsOf: url)
    } catch {
        throw TokenizerError.malformedFile(file: url.path, reason: "cannot read: \(error.localizedDescription)")
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw TokenizerError.malformedFile(file: url.path, reason: "not valid UTF-8")
    }
    // Split on scalars: as Characters, "\r\n" is one grapheme and would not match "\n".
    var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
    if lines.last?.isEmpty == true { lines.removeLast() }
    var vocabulary: [String: Int] = [:]
    vocabulary.reserveCapacity(lines.count)
    for (index, line) in lines.enumerated() {
        var token = line
        while let last = token.last, last.properties.isWhitespace { token.removeLast() }
        vocabulary[String(String.UnicodeScalarView(token))] = index
    }
    guard !vocabulary.isEmpty else { throw TokenizerError.emptyVocabulary(file: url.path) }
    return vocabulary
}

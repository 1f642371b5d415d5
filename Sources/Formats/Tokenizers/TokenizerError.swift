/// Errors loading a tokenizer, each naming the file and what is wrong with it.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The folder holds neither `tokenizer.json` nor `vocab.txt`.
    case missingVocabulary(folder: String)
    /// The file cannot be read or is not valid JSON (the reason says where).
    case malformedFile(file: String, reason: String)
    /// The vocabulary holds no token.
    case emptyVocabulary(file: String)
    /// `model.type` (or another component at `key`) names something this tokenizer does not implement.
    case unsupported(file: String, key: String, value: String)
    /// A token the configuration needs (the unknown token, a special token of the template) is not in the vocabulary.
    case missingToken(file: String, token: String)

    public var description: String {
        switch self {
        case let .missingVocabulary(folder): "\(folder): no tokenizer.json or vocab.txt"
        case let .malformedFile(file, reason): "\(file): \(reason)"
        case let .emptyVocabulary(file): "\(file): the vocabulary is empty"
        case let .unsupported(file, key, value): "\(file): unsupported \(key) '\(value)' (only a BERT WordPiece pipeline is implemented)"
        case let .missingToken(file, token): "\(file): token '\(token)' is not in the vocabulary"
        }
    }
}

/// Errors building or loading a byte-level BPE tokenizer, each naming the source (file or
/// metadata) and what is wrong with it.
public enum ByteLevelBPEError: Error, CustomStringConvertible, Equatable {
    /// The file cannot be read or is not valid JSON.
    case malformed(source: String, reason: String)
    /// A key the tokenizer needs is absent or has the wrong type.
    case missingKey(source: String, key: String, expected: String)
    /// A component (`model.type`, a pre-tokenizer, a regex ...) this tokenizer does not implement.
    case unsupported(source: String, key: String, value: String)
    /// A token the configuration names (unknown token, template token) is not in the vocabulary.
    case missingToken(source: String, token: String)
    /// A merge whose parts or result are not in the vocabulary.
    case invalidMerge(source: String, rank: Int, merge: String)

    public var description: String {
        switch self {
        case let .malformed(source, reason): "\(source): \(reason)"
        case let .missingKey(source, key, expected): "\(source): missing or invalid '\(key)' (expected \(expected))"
        case let .unsupported(source, key, value): "\(source): unsupported \(key) '\(value)'"
        case let .missingToken(source, token): "\(source): token '\(token)' is not in the vocabulary"
        case let .invalidMerge(source, rank, merge): "\(source): merge \(rank) '\(merge)' names a token the vocabulary lacks"
        }
    }
}

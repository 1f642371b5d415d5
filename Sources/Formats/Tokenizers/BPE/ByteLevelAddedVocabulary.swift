/// Tokens matched in the text before pre-tokenization and never split (`<|im_start|>`,
/// `<|endoftext|>` ...), as Hugging Face's `AddedVocabulary` does: leftmost-longest matches,
/// first of the tokens not marked `normalized` on the raw text, then of the others on the
/// normalized rest; `single_word` matches inside a word are dropped; `lstrip`/`rstrip` take the
/// whitespace beside a match into it.
struct ByteLevelAddedVocabulary: Sendable {
    /// A piece of text: either a matched token or a stretch to tokenize normally.
    enum Segment: Equatable {
        case token(id: Int)
        case text([UInt32])
    }

    private struct Entry: Sendable {
        let token: ByteLevelBPETokenizer.AddedToken
        let scalars: [UInt32]
    }

    let tokens: [ByteLevelBPETokenizer.AddedToken]
    let specialIDs: Set<Int>
    /// Token contents by id, and ids by content.
    let contents: [Int: String]
    let ids: [String: Int]
    private let raw: Entries
    private let normalized: Entries

    /// Tokens to match, and the scalars they start with (most positions start none of them).
    private struct Entries: Sendable {
        let entries: [Entry]
        let firstScalars: Set<UInt32>

        init(_ entries: [Entry]) {
            self.entries = entries
            firstScalars = Set(entries.map { $0.scalars[0] })
        }
    }

    /// `normalization` is applied to the contents of `normalized` tokens, as to the text.
    init(_ tokens: [ByteLevelBPETokenizer.AddedToken], normalization: ByteLevelBPETokenizer.Normalization) {
        self.tokens = tokens
        specialIDs = Set(tokens.filter(\.isSpecial).map(\.id))
        contents = Dictionary(tokens.map { ($0.id, $0.content) }) { _, last in last }
        ids = Dictionary(tokens.map { ($0.content, $0.id) }) { _, last in last }
        raw = Entries(tokens.filter { !$0.isNormalized && !$0.content.isEmpty }
            .map { Entry(token: $0, scalars: $0.content.unicodeScalars.map(\.value)) })
        normalized = Entries(tokens.filter { $0.isNormalized && !$0.content.isEmpty }
            .map { Entry(token: $0, scalars: normalization.apply(to: $0.content).unicodeScalars.map(\.value)) })
    }

    /// Splits `text` at the added tokens; the stretches between them come back normalized.
    func split(_ text: String, normalization: ByteLevelBPETokenizer.Normalization) -> [Segment] {
        let scalars = text.unicodeScalars.map(\.value)
        var segments: [Segment] = []
        for segment in Self.split(scalars, entries: raw) {
            guard case let .text(stretch) = segment else {
                segments.append(segment)
                continue
            }
            let normalizedScalars = normalization == .none
                ? stretch : normalization.apply(to: Self.string(stretch)).unicodeScalars.map(\.value)
            segments += Self.split(normalizedScalars, entries: normalized)
        }
        return segments
    }

    private static func string(_ scalars: [UInt32]) -> String {
        var view = String.UnicodeScalarView()
        for value in scalars { view.append(Unicode.Scalar(value)!) }
        return String(view)
    }

    private static func split(_ scalars: [UInt32], entries: Entries) -> [Segment] {
        guard !entries.entries.isEmpty else { return scalars.isEmpty ? [] : [.text(scalars)] }
        var segments: [Segment] = []
        var textStart = 0
        var position = 0
        while position < scalars.count {
            guard entries.firstScalars.contains(scalars[position]),
                  let entry = longestMatch(scalars, at: position, entries: entries.entries)
            else {
                position += 1
                continue
            }
            var start = position
            var stop = position + entry.scalars.count
            position = stop
            if entry.token.isSingleWord {
                let wordBefore = start > 0 && isWordScalar(scalars[start - 1])
                let wordAfter = stop < scalars.count && isWordScalar(scalars[stop])
                if wordBefore || wordAfter { continue }
            }
            if entry.token.stripsLeft {
                while start > textStart && isWhitespace(scalars[start - 1]) { start -= 1 }
            }
            if entry.token.stripsRight {
                while stop < scalars.count && isWhitespace(scalars[stop]) { stop += 1 }
            }
            if textStart < start { segments.append(.text(Array(scalars[textStart..<start]))) }
            segments.append(.token(id: entry.token.id))
            textStart = stop
            position = max(position, stop)
        }
        if textStart < scalars.count { segments.append(.text(Array(scalars[textStart...]))) }
        return segments
    }

    private static func longestMatch(_ scalars: [UInt32], at position: Int, entries: [Entry]) -> Entry? {
        var best: Entry?
        for entry in entries where entry.scalars.count <= scalars.count - position && entry.scalars.count > (best?.scalars.count ?? 0) {
            if entry.scalars[0] == scalars[position] && scalars[position..<position + entry.scalars.count].elementsEqual(entry.scalars) {
                best = entry
            }
        }
        return best
    }

    private static func isWhitespace(_ scalar: UInt32) -> Bool {
        ByteLevelCharacterClass.of(scalar).contains(.whitespace)
    }

    /// Rust regex's `\w`: alphabetic, marks, decimal digits, connector punctuation, joiners.
    private static func isWordScalar(_ value: UInt32) -> Bool {
        guard let scalar = Unicode.Scalar(value) else { return false }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return scalar.properties.isAlphabetic || scalar.properties.isJoinControl
        }
    }
}

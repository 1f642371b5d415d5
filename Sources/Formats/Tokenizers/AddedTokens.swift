/// Tokens matched in the text before normalization and WordPiece, and never split: `[CLS]`,
/// `[SEP]`, `[PAD]`, `[UNK]`, `[MASK]` and any token added to a vocabulary. As in Hugging Face,
/// a match is leftmost-longest, and a token marked `normalized` is matched on the normalized
/// text while the others are matched on the raw text.
struct AddedTokens: Sendable {
    struct Token: Sendable {
        let id: Int
        let content: String
        let scalars: [UInt32]
        let isSpecial: Bool
        let isNormalized: Bool

        init(id: Int, content: String, isSpecial: Bool, isNormalized: Bool) {
            self.id = id
            self.content = content
            scalars = content.unicodeScalars.map(\.value)
            self.isSpecial = isSpecial
            self.isNormalized = isNormalized
        }
    }

    /// A piece of text: either a matched token or a stretch to tokenize normally.
    enum Segment: Equatable {
        case token(id: Int, range: Range<Int>)
        case text(Range<Int>)
    }

    let tokens: [Token]
    /// Ids of the special tokens, which `decode(skipSpecialTokens:)` leaves out.
    let specialIDs: Set<Int>
    private let raw: [Token]
    private let normalized: [Token]
    private let rawFirstScalars: Set<UInt32>
    private let normalizedFirstScalars: Set<UInt32>

    init(_ tokens: [Token]) {
        self.tokens = tokens
        specialIDs = Set(tokens.filter(\.isSpecial).map(\.id))
        raw = tokens.filter { !$0.isNormalized && !$0.scalars.isEmpty }
        normalized = tokens.filter { $0.isNormalized && !$0.scalars.isEmpty }
        rawFirstScalars = Set(raw.map { $0.scalars[0] })
        normalizedFirstScalars = Set(normalized.map { $0.scalars[0] })
    }

    var hasNormalizedTokens: Bool { !normalized.isEmpty }

    /// Splits `scalars[range]` at the tokens matched on the raw text.
    func splitRaw(_ scalars: [UInt32], range: Range<Int>) -> [Segment] {
        Self.split(scalars, range: range, tokens: raw, firstScalars: rawFirstScalars)
    }

    /// Splits normalized `scalars` at the tokens marked `normalized`.
    func splitNormalized(_ scalars: [UInt32]) -> [Segment] {
        Self.split(scalars, range: 0..<scalars.count, tokens: normalized, firstScalars: normalizedFirstScalars)
    }

    private static func split(_ scalars: [UInt32], range: Range<Int>, tokens: [Token], firstScalars: Set<UInt32>) -> [Segment] {
        guard !tokens.isEmpty else { return range.isEmpty ? [] : [.text(range)] }
        var segments: [Segment] = []
        var textStart = range.lowerBound
        var position = range.lowerBound
        while position < range.upperBound {
            guard firstScalars.contains(scalars[position]),
                  let token = longestMatch(scalars, at: position, end: range.upperBound, tokens: tokens)
            else {
                position += 1
                continue
            }
            if textStart < position { segments.append(.text(textStart..<position)) }
            let end = position + token.scalars.count
            segments.append(.token(id: token.id, range: position..<end))
            position = end
            textStart = end
        }
        if textStart < range.upperBound { segments.append(.text(textStart..<range.upperBound)) }
        return segments
    }

    private static func longestMatch(_ scalars: [UInt32], at position: Int, end: Int, tokens: [Token]) -> Token? {
        var best: Token?
        for token in tokens where token.scalars.count <= end - position && token.scalars.count > (best?.scalars.count ?? 0) {
            if scalars[position..<position + token.scalars.count].elementsEqual(token.scalars) { best = token }
        }
        return best
    }
}

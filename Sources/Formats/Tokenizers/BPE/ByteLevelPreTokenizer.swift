/// How a byte-level tokenizer cuts text into words before BPE merges them: Hugging Face's
/// pre-tokenizer pipeline (`Digits`, `Split`, `ByteLevel`) as an ordered list of steps, each
/// applied to every piece the previous step produced.
///
/// ```swift
/// let smolLM2 = ByteLevelPreTokenizer.smolLM2          // digits one by one, then GPT-2's pattern
/// smolLM2.pieces(of: "In 1603, Hamlet's")           // ["In", " ", "1", "6", "0", "3", ",", " Hamlet", "'s"]
/// ```
public struct ByteLevelPreTokenizer: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        /// `Digits`: numeric scalars split off, one by one (`individual_digits`) or in runs.
        case splitDigits(individually: Bool)
        /// `Split` with `Isolated` behaviour, or `ByteLevel` with `use_regex`: every match of the
        /// pattern becomes a piece.
        case split(ByteLevelSplitPattern)
        /// `ByteLevel` with `add_prefix_space`: a space in front of a piece that has none.
        case addPrefixSpace
    }

    public var steps: [Step]

    public init(steps: [Step]) {
        self.steps = steps
    }

    /// GPT-2's `ByteLevel(add_prefix_space: false, use_regex: true)`.
    public static let gpt2 = ByteLevelPreTokenizer(steps: [.split(.gpt2)])
    /// SmolLM2 (and StarCoder): `Digits(individual_digits: true)` then GPT-2's pattern.
    public static let smolLM2 = ByteLevelPreTokenizer(steps: [.splitDigits(individually: true), .split(.gpt2)])
    /// LLaMA-3: `Split` with its pattern, then `ByteLevel(use_regex: false)`.
    public static let llama3 = ByteLevelPreTokenizer(steps: [.split(.llama3(maximumDigits: 3))])

    /// The pieces of `text` as strings (for inspection and tests; encoding works on scalars).
    public func pieces(of text: String) -> [String] {
        var result: [String] = []
        forEachPiece(in: ArraySlice(text.unicodeScalars.map(\.value))) { piece in
            var scalars = String.UnicodeScalarView()
            for value in piece { scalars.append(Unicode.Scalar(value)!) }
            result.append(String(scalars))
        }
        return result
    }

    /// Calls `body` with each piece of `text`, in order; pieces are never empty.
    func forEachPiece(in text: ArraySlice<UInt32>, _ body: (ArraySlice<UInt32>) -> Void) {
        apply(step: 0, to: text, body)
    }

    private func apply(step index: Int, to piece: ArraySlice<UInt32>, _ body: (ArraySlice<UInt32>) -> Void) {
        guard !piece.isEmpty else { return }
        guard index < steps.count else { return body(piece) }
        switch steps[index] {
        case let .splitDigits(individually):
            Self.forEachDigitSplit(in: piece, individually: individually) { apply(step: index + 1, to: piece[$0], body) }
        case let .split(pattern):
            pattern.forEachMatch(in: piece) { apply(step: index + 1, to: piece[$0], body) }
        case .addPrefixSpace:
            if piece.first == 0x20 {
                apply(step: index + 1, to: piece, body)
            } else {
                apply(step: index + 1, to: ArraySlice([0x20] + piece), body)
            }
        }
    }

    /// Runs of numeric and of other scalars, numeric ones cut to single scalars when `individually`.
    private static func forEachDigitSplit(in text: ArraySlice<UInt32>, individually: Bool, _ body: (Range<Int>) -> Void) {
        var start = text.startIndex
        while start < text.endIndex {
            let numeric = ByteLevelCharacterClass.of(text[start]).contains(.numeric)
            var end = start + 1
            if !(numeric && individually) {
                while end < text.endIndex && ByteLevelCharacterClass.of(text[end]).contains(.numeric) == numeric { end += 1 }
            }
            body(start..<end)
            start = end
        }
    }
}

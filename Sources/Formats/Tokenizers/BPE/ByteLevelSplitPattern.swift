/// The regular expressions byte-level tokenizers split text with, implemented as hand-written
/// scanners over Unicode scalars that agree with Oniguruma (which Hugging Face `tokenizers` runs)
/// match for match.
///
/// ```swift
/// ByteLevelSplitPattern(regex: #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#)  // .gpt2
/// ```
public enum ByteLevelSplitPattern: Sendable, Equatable {
    /// GPT-2's `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, which
    /// the `ByteLevel` pre-tokenizer applies when `use_regex` is set.
    case gpt2
    /// LLaMA-3's `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
    /// with digit runs of at most `maximumDigits` (3 for LLaMA-3, 1 for Qwen2's `\p{N}`).
    case llama3(maximumDigits: Int)

    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The pattern a `Split` pre-tokenizer's regex spells, or nil for a regex we have no scanner for.
    public init?(regex: String) {
        switch regex {
        case Self.gpt2Regex: self = .gpt2
        case Self.llama3Regex: self = .llama3(maximumDigits: 3)
        case Self.qwen2Regex: self = .llama3(maximumDigits: 1)
        default: return nil
        }
    }

    /// Calls `body` with the range of each match in `text`; the matches cover all of it.
    func forEachMatch(in text: ArraySlice<UInt32>, _ body: (Range<Int>) -> Void) {
        var position = text.startIndex
        while position < text.endIndex {
            let end: Int
            switch self {
            case .gpt2: end = Self.gpt2Match(text, at: position)
            case let .llama3(maximumDigits): end = Self.llama3Match(text, at: position, maximumDigits: maximumDigits)
            }
            body(position..<end)
            position = end
        }
    }

    private typealias Class = ByteLevelCharacterClass

    /// A scalar that is neither whitespace, a letter nor a number: `[^\s\p{L}\p{N}]`.
    @inline(__always)
    private static func isOther(_ scalar: UInt32) -> Bool {
        Class.of(scalar).isDisjoint(with: [.whitespace, .letter, .number])
    }

    @inline(__always)
    private static func isNewline(_ scalar: UInt32) -> Bool { scalar == 0x0A || scalar == 0x0D }

    /// The end of the run of scalars from `start` that satisfy `predicate`.
    @inline(__always)
    private static func run(_ text: ArraySlice<UInt32>, from start: Int, while predicate: (UInt32) -> Bool) -> Int {
        var end = start
        while end < text.endIndex && predicate(text[end]) { end += 1 }
        return end
    }

    private static func isLetter(_ scalar: UInt32) -> Bool { Class.of(scalar).contains(.letter) }
    private static func isNumber(_ scalar: UInt32) -> Bool { Class.of(scalar).contains(.number) }
    private static func isWhitespace(_ scalar: UInt32) -> Bool { Class.of(scalar).contains(.whitespace) }

    /// The length of `'s|'t|'re|'ve|'m|'ll|'d` at `position` (which holds an apostrophe), or 0.
    private static func contractionLength(_ text: ArraySlice<UInt32>, at position: Int, ignoringCase: Bool) -> Int {
        func letter(_ offset: Int) -> UInt32 {
            guard position + offset < text.endIndex else { return 0 }
            let scalar = text[position + offset]
            return ignoringCase && (0x41...0x5A).contains(scalar) ? scalar + 0x20 : scalar
        }
        switch letter(1) {
        case 0x73, 0x74, 0x6D, 0x64: return 2                  // s t m d
        case 0x72, 0x76: return letter(2) == 0x65 ? 3 : 0      // re ve
        case 0x6C: return letter(2) == 0x6C ? 3 : 0            // ll
        default: return 0
        }
    }

    /// `\s+(?!\S)|\s+` at `position`: a whitespace run, less its last scalar when a
    /// non-whitespace scalar follows and the run is longer than one.
    private static func whitespaceMatch(_ text: ArraySlice<UInt32>, at position: Int) -> Int {
        let end = run(text, from: position, while: isWhitespace)
        return end < text.endIndex && end - position > 1 ? end - 1 : end
    }

    private static func gpt2Match(_ text: ArraySlice<UInt32>, at position: Int) -> Int {
        let scalar = text[position]
        if scalar == 0x27 {
            let length = contractionLength(text, at: position, ignoringCase: false)
            if length > 0 { return position + length }
        }
        // ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one class.
        let first = scalar == 0x20 && position + 1 < text.endIndex ? position + 1 : position
        let classes = Class.of(text[first])
        if classes.contains(.letter) { return run(text, from: first, while: isLetter) }
        if classes.contains(.number) { return run(text, from: first, while: isNumber) }
        if !classes.contains(.whitespace) { return run(text, from: first, while: isOther) }
        return whitespaceMatch(text, at: position)
    }

    private static func llama3Match(_ text: ArraySlice<UInt32>, at position: Int, maximumDigits: Int) -> Int {
        let scalar = text[position]
        let classes = Class.of(scalar)
        if scalar == 0x27 {
            let length = contractionLength(text, at: position, ignoringCase: true)
            if length > 0 { return position + length }
        }
        // `[^\r\n\p{L}\p{N}]?\p{L}+`
        if classes.contains(.letter) { return run(text, from: position, while: isLetter) }
        if !classes.contains(.number) && !isNewline(scalar) && position + 1 < text.endIndex && isLetter(text[position + 1]) {
            return run(text, from: position + 1, while: isLetter)
        }
        // `\p{N}{1,3}`
        if classes.contains(.number) {
            return min(run(text, from: position, while: isNumber), position + maximumDigits)
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        let first = scalar == 0x20 && position + 1 < text.endIndex ? position + 1 : position
        if isOther(text[first]) {
            return run(text, from: run(text, from: first, while: isOther), while: isNewline)
        }
        // `\s*[\r\n]+`: the whitespace run up to and including its last line break.
        let end = run(text, from: position, while: isWhitespace)
        if let lastNewline = text[position..<end].lastIndex(where: isNewline) { return lastNewline + 1 }
        return whitespaceMatch(text, at: position)
    }
}

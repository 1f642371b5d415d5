/// Hugging Face's `BertPreTokenizer`: splits normalized text into words at whitespace (dropped)
/// and around every punctuation scalar (kept as a one-scalar word). Punctuation is ASCII
/// 33-47, 58-64, 91-96, 123-126 or Unicode category P* (in the Rust library's tables).
enum BertPreTokenizer {
    /// The word ranges of `scalars[range]`, in order.
    ///
    /// ```swift
    /// // "hi, you" -> ["hi", ",", "you"]
    /// BertPreTokenizer.words(in: "hi, you".unicodeScalars.map(\.value), range: 0..<7)  // [0..<2, 2..<3, 4..<7]
    /// ```
    static func words(in scalars: [UInt32], range: Range<Int>) -> [Range<Int>] {
        var words: [Range<Int>] = []
        var start = range.lowerBound
        for index in range {
            let scalar = scalars[index]
            if isWhitespace(scalar) {
                if start < index { words.append(start..<index) }
                start = index + 1
            } else if isPunctuation(scalar) {
                if start < index { words.append(start..<index) }
                words.append(index..<index + 1)
                start = index + 1
            }
        }
        if start < range.upperBound { words.append(start..<range.upperBound) }
        return words
    }

    static func isWhitespace(_ scalar: UInt32) -> Bool {
        if scalar < 0x80 { return scalar == 0x20 || (scalar >= 0x09 && scalar <= 0x0D) }
        return BertCharacterTables.contains(BertCharacterTables.whitespace, scalar)
    }

    static func isPunctuation(_ scalar: UInt32) -> Bool {
        if scalar < 0x80 {
            return (scalar >= 33 && scalar <= 47) || (scalar >= 58 && scalar <= 64)
                || (scalar >= 91 && scalar <= 96) || (scalar >= 123 && scalar <= 126)
        }
        return BertCharacterTables.contains(BertCharacterTables.punctuation, scalar)
    }
}

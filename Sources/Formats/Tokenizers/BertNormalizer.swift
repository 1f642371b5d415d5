import Foundation

/// Unicode scalars after normalization, each with the index of the scalar of the original text it
/// came from, so that token offsets point into the original text.
struct NormalizedText {
    var scalars: [UInt32] = []
    var origins: [Int] = []

    mutating func append(_ scalar: UInt32, from origin: Int) {
        scalars.append(scalar)
        origins.append(origin)
    }

    mutating func removeAll() {
        scalars.removeAll(keepingCapacity: true)
        origins.removeAll(keepingCapacity: true)
    }
}

/// Hugging Face's `BertNormalizer`, applied in its order: clean the text, space out CJK
/// ideographs, strip accents (NFD, then drop nonspacing marks), lowercase. It works on Unicode
/// scalars, as the Rust library does on `char`s, never on grapheme clusters.
struct BertNormalizer: Sendable, Equatable {
    /// `clean_text`: drop NUL, U+FFFD and control characters; turn whitespace into spaces.
    var cleansText = true
    /// `handle_chinese_chars`: put spaces around CJK ideographs, so each becomes a word.
    var separatesIdeographs = true
    /// `strip_accents`; Hugging Face's `null` means "as `lowercase`".
    var stripsAccents = true
    /// `lowercase`, one scalar at a time (no context such as final sigma).
    var lowercases = true

    /// Normalizes `scalars[range]` of the original text into `output`.
    func normalize(_ scalars: [UInt32], range: Range<Int>, into output: inout NormalizedText) {
        output.removeAll()
        var isASCII = true
        for index in range {
            let scalar = scalars[index]
            if scalar < 0x80 {
                appendASCII(scalar, from: index, into: &output)
                continue
            }
            isASCII = false
            if cleansText {
                if BertCharacterTables.contains(BertCharacterTables.removed, scalar) { continue }
                if BertCharacterTables.contains(BertCharacterTables.blank, scalar) {
                    output.append(0x20, from: index)
                    continue
                }
            }
            let isIdeograph = separatesIdeographs && BertCharacterTables.contains(BertCharacterTables.ideograph, scalar)
            if isIdeograph { output.append(0x20, from: index) }
            if stripsAccents, let character = Unicode.Scalar(scalar) {
                for part in String(character).decomposedStringWithCanonicalMapping.unicodeScalars {
                    output.append(part.value, from: index)
                }
            } else {
                output.append(scalar, from: index)
            }
            if isIdeograph { output.append(0x20, from: index) }
        }
        if isASCII { return }
        if stripsAccents {
            Self.orderCombiningMarks(&output)
            Self.removeMarks(&output)
        }
        if lowercases { Self.lowercaseNonASCII(&output) }
    }

    /// ASCII needs no decomposition and has no marks, so it is lowercased at once.
    private func appendASCII(_ scalar: UInt32, from index: Int, into output: inout NormalizedText) {
        if cleansText {
            if scalar == 0x09 || scalar == 0x0A || scalar == 0x0D {
                output.append(0x20, from: index)
                return
            }
            if scalar < 0x20 || scalar == 0x7F { return }
        }
        let isUppercase = scalar >= 0x41 && scalar <= 0x5A
        output.append(lowercases && isUppercase ? scalar + 0x20 : scalar, from: index)
    }

    /// Rust's `char::to_lowercase`, one scalar at a time; a scalar may become several (İ → i̇).
    private static func lowercaseNonASCII(_ text: inout NormalizedText) {
        var lowered = NormalizedText()
        lowered.scalars.reserveCapacity(text.scalars.count)
        lowered.origins.reserveCapacity(text.scalars.count)
        for (scalar, origin) in zip(text.scalars, text.origins) {
            guard scalar >= 0x80, let character = Unicode.Scalar(scalar) else {
                // ASCII here came out of a decomposition (Å -> A + ring) and is not lowercased yet.
                let isUppercase = scalar >= 0x41 && scalar <= 0x5A
                lowered.append(isUppercase ? scalar + 0x20 : scalar, from: origin)
                continue
            }
            for part in character.properties.lowercaseMapping.unicodeScalars {
                lowered.append(part.value, from: origin)
            }
        }
        text = lowered
    }

    /// Canonical ordering of NFD: a run of scalars with a nonzero combining class is sorted
    /// (stably) by that class. The origins stay in place, as Hugging Face's alignments do
    /// (they follow positions, not the moved scalars).
    private static func orderCombiningMarks(_ text: inout NormalizedText) {
        var start = 0
        while start < text.scalars.count {
            guard combiningClass(text.scalars[start]) != 0 else {
                start += 1
                continue
            }
            var end = start + 1
            while end < text.scalars.count && combiningClass(text.scalars[end]) != 0 { end += 1 }
            if end - start > 1 {
                let sorted = (start..<end).sorted { left, right in
                    let (a, b) = (combiningClass(text.scalars[left]), combiningClass(text.scalars[right]))
                    return a != b ? a < b : left < right
                }
                text.scalars.replaceSubrange(start..<end, with: sorted.map { text.scalars[$0] })
            }
            start = end
        }
    }

    /// The canonical combining class as Hugging Face's normalization tables know it: they stop
    /// at Unicode 9.0, so a later scalar counts as class 0 (a starter) and is never reordered.
    private static func combiningClass(_ scalar: UInt32) -> UInt8 {
        guard scalar >= 0x300, let character = Unicode.Scalar(scalar) else { return 0 }
        let combiningClass = character.properties.canonicalCombiningClass.rawValue
        guard combiningClass != 0, let age = character.properties.age, (age.major, age.minor) <= (9, 0) else { return 0 }
        return combiningClass
    }

    private static func removeMarks(_ text: inout NormalizedText) {
        var kept = 0
        for index in text.scalars.indices {
            let scalar = text.scalars[index]
            if scalar >= 0x300 && BertCharacterTables.contains(BertCharacterTables.mark, scalar) { continue }
            text.scalars[kept] = scalar
            text.origins[kept] = text.origins[index]
            kept += 1
        }
        text.scalars.removeLast(text.scalars.count - kept)
        text.origins.removeLast(text.origins.count - kept)
    }
}

/// The classes the byte-level pre-tokenizers test a scalar for, from the tables probed out of
/// Hugging Face `tokenizers` (`ByteLevelCharacterTables`).
struct ByteLevelCharacterClass: OptionSet, Sendable {
    let rawValue: UInt8

    /// `\p{L}`.
    static let letter = ByteLevelCharacterClass(rawValue: 1)
    /// `\p{N}`.
    static let number = ByteLevelCharacterClass(rawValue: 2)
    /// `\s`.
    static let whitespace = ByteLevelCharacterClass(rawValue: 4)
    /// Rust's `char::is_numeric`, used by the `Digits` pre-tokenizer.
    static let numeric = ByteLevelCharacterClass(rawValue: 8)

    /// The classes of `scalar`: a table lookup in the Basic Multilingual Plane, a binary search
    /// above it.
    @inline(__always)
    static func of(_ scalar: UInt32) -> ByteLevelCharacterClass {
        if scalar < 0x10000 { return ByteLevelCharacterClass(rawValue: basicPlane[Int(scalar)]) }
        return slowLookup(scalar)
    }

    private static let sources: [(ByteLevelCharacterClass, [UInt32])] = [
        (.letter, ByteLevelCharacterTables.letter),
        (.number, ByteLevelCharacterTables.number),
        (.whitespace, ByteLevelCharacterTables.whitespace),
        (.numeric, ByteLevelCharacterTables.numeric),
    ]

    private static let basicPlane: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for (flag, ranges) in sources {
            for pair in stride(from: 0, to: ranges.count, by: 2) where ranges[pair] < 0x10000 {
                for scalar in ranges[pair]...min(ranges[pair + 1], 0xFFFF) { table[Int(scalar)] |= flag.rawValue }
            }
        }
        return table
    }()

    private static func slowLookup(_ scalar: UInt32) -> ByteLevelCharacterClass {
        var result: ByteLevelCharacterClass = []
        for (flag, ranges) in sources where contains(ranges, scalar) { result.insert(flag) }
        return result
    }

    /// Whether `value` lies in one of the inclusive ranges of `table`, by binary search.
    private static func contains(_ table: [UInt32], _ value: UInt32) -> Bool {
        var low = 0
        var high = table.count / 2
        while low < high {
            let middle = (low + high) / 2
            if value > table[2 * middle + 1] {
                low = middle + 1
            } else if value < table[2 * middle] {
                high = middle
            } else {
                return true
            }
        }
        return false
    }
}

/// GPT-2's reversible mapping between bytes and printable Unicode scalars (`bytes_to_unicode`):
/// printable Latin-1 bytes stand for themselves, the other 68 bytes (controls, space, 0x7F-0xA0,
/// 0xAD) are shifted to U+0100 and up in byte order. A space becomes "Ġ", a newline "Ċ".
///
/// ```swift
/// ByteLevelAlphabet.scalar(for: 0x20)   // "Ġ" (U+0120)
/// ByteLevelAlphabet.byte(for: 0x120)    // 0x20
/// ```
enum ByteLevelAlphabet {
    /// The scalar standing for each byte. // [256]
    static let scalars: [UInt32] = {
        var result = [UInt32](repeating: 0, count: 256)
        var shifted: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(byte) {
                result[byte] = UInt32(byte)
            } else {
                result[byte] = shifted
                shifted += 1
            }
        }
        return result
    }()

    /// The byte each scalar below U+0144 stands for, or -1. // [324]
    private static let bytes: [Int16] = {
        var result = [Int16](repeating: -1, count: 324)
        for (byte, scalar) in scalars.enumerated() { result[Int(scalar)] = Int16(byte) }
        return result
    }()

    static func scalar(for byte: UInt8) -> UInt32 { scalars[Int(byte)] }

    /// The byte `scalar` stands for, or nil when it is outside the alphabet.
    static func byte(for scalar: UInt32) -> UInt8? {
        guard scalar < 324 else { return nil }
        let byte = bytes[Int(scalar)]
        return byte < 0 ? nil : UInt8(byte)
    }

    /// The alphabet string of `bytes`, e.g. "Ġthe" for " the".
    static func string<Bytes: Sequence<UInt8>>(for bytes: Bytes) -> String {
        var result = String.UnicodeScalarView()
        for byte in bytes { result.append(Unicode.Scalar(scalar(for: byte))!) }
        return String(result)
    }

    private static func isPrintable(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }
}

// The K-quants: 256-element super-blocks split into sub-blocks with their own quantized
// scales (and minimums), as ggml-quants.c's `dequantize_row_q{2..6}_K` define them.

// block_q2_K: 16 bytes of scales (low nibble scale, high nibble minimum per 16 elements),
// 64 bytes of 2-bit values, f16 d, f16 dmin. x = d * scale * q - dmin * minimum
func dequantizeQ2_K(_ source: UnsafeRawPointer, _ range: Range<Int>, _ destination: UnsafeMutablePointer<Float>) {
    for block in range {
        let base = source + block * 84, output = destination + block * 256
        let scales = base.assumingMemoryBound(to: UInt8.self)
        let scale = loadHalf(base, 80), minimumScale = loadHalf(base, 82)
        var scaleIndex = 0
        for half in 0..<2 {
            let values = (base + 16 + 32 * half).assumingMemoryBound(to: UInt8.self)
            for group in 0..<4 {
                let shift = UInt8(2 * group)
                let output = output + 128 * half + 32 * group
                for part in 0..<2 {
                    let packed = scales[scaleIndex]
                    scaleIndex += 1
                    let step = scale * Float(packed & 0x0F), offset = minimumScale * Float(packed >> 4)
                    for index in (16 * part)..<(16 * part + 16) {
                        output[index] = step * Float((values[index] >> shift) & 3) - offset
                    }
                }
            }
        }
    }
}

// block_q3_K: 32 bytes hmask (third bit, inverted: a clear bit subtracts 4), 64 bytes of low
// 2 bits, 12 bytes of sixteen 6-bit scales, f16 d. x = d * (scale - 32) * q
func dequantizeQ3_K(_ source: UnsafeRawPointer, _ range: Range<Int>, _ destination: UnsafeMutablePointer<Float>) {
    for block in range {
        let base = source + block * 110, output = destination + block * 256
        let highBits = base.assumingMemoryBound(to: UInt8.self)
        let packed = (base + 96).assumingMemoryBound(to: UInt8.self)
        let scale = loadHalf(base, 108)
        var scales = (Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0),
                      Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0))
        withUnsafeMutableBytes(of: &scales) { raw in
            let unpacked = raw.bindMemory(to: Int32.self)
            for index in 0..<16 {
                // Low 4 bits: bytes 0..7, low then high nibble; high 2 bits: bytes 8..11.
                let low = index < 8 ? packed[index] & 0x0F : packed[index - 8] >> 4
                let high = (packed[8 + index % 4] >> UInt8(2 * (index / 4))) & 3
                unpacked[index] = Int32(low | high << 4) - 32
            }
        }
        withUnsafeBytes(of: &scales) { raw in
            let unpacked = raw.bindMemory(to: Int32.self)
            var scaleIndex = 0
            var mask: UInt8 = 1
            for half in 0..<2 {
                let values = (base + 32 + 32 * half).assumingMemoryBound(to: UInt8.self)
                for group in 0..<4 {
                    let shift = UInt8(2 * group)
                    let output = output + 128 * half + 32 * group
                    for part in 0..<2 {
                        let step = scale * Float(unpacked[scaleIndex])
                        scaleIndex += 1
                        for index in (16 * part)..<(16 * part + 16) {
                            let low = Int32((values[index] >> shift) & 3)
                            output[index] = step * Float(low - (highBits[index] & mask != 0 ? 0 : 4))
                        }
                    }
                    mask <<= 1
                }
            }
        }
    }
}

/// Scale and minimum `index` (0..<8) of the 12 packed bytes of a Q4_K or Q5_K block: six bits
/// each; the first four pairs sit in the low six bits of bytes 0..7, the last four take their
/// low nibbles from bytes 8..11 and their top two bits from the spare bits of bytes 0..7.
@inline(__always)
private func scaleAndMinimum(_ index: Int, _ packed: UnsafePointer<UInt8>) -> (scale: Float, minimum: Float) {
    if index < 4 {
        return (Float(packed[index] & 63), Float(packed[index + 4] & 63))
    }
    let scale = (packed[index + 4] & 0x0F) | ((packed[index - 4] >> 6) << 4)
    let minimum = (packed[index + 4] >> 4) | ((packed[index] >> 6) << 4)
    return (Float(scale), Float(minimum))
}

// block_q4_K: f16 d, f16 dmin, 12 bytes of scales/minimums, 128 bytes of 4-bit values
// (each 32-byte run holds two 32-element sub-blocks: low nibbles, then high).
func dequantizeQ4_K(_ source: UnsafeRawPointer, _ range: Range<Int>, _ destination: UnsafeMutablePointer<Float>) {
    for block in range {
        let base = source + block * 144, output = destination + block * 256
        let scale = loadHalf(base, 0), minimumScale = loadHalf(base, 2)
        let packed = (base + 4).assumingMemoryBound(to: UInt8.self)
        for group in 0..<4 {
            let values = (base + 16 + 32 * group).assumingMemoryBound(to: UInt8.self)
            let output = output + 64 * group
            let first = scaleAndMinimum(2 * group, packed), second = scaleAndMinimum(2 * group + 1, packed)
            let step1 = scale * first.scale, offset1 = minimumScale * first.minimum
            let step2 = scale * second.scale, offset2 = minimumScale * second.minimum
            for index in 0..<32 {
                output[index] = step1 * Float(values[index] & 0x0F) - offset1
                output[index + 32] = step2 * Float(values[index] >> 4) - offset2
            }
        }
    }
}

// block_q5_K: as Q4_K plus 32 bytes qh: bit 2g of qh[l] is the fifth bit of element l of
// sub-block 2g, bit 2g+1 that of sub-block 2g+1.
func dequantizeQ5_K(_ source: UnsafeRawPointer, _ range: Range<Int>, _ destination: UnsafeMutablePointer<Float>) {
    for block in range {
        let base = source + block * 176, output = destination + block * 256
        let scale = loadHalf(base, 0), minimumScale = loadHalf(base, 2)
        let packed = (base + 4).assumingMemoryBound(to: UInt8.self)
        let highBits = (base + 16).assumingMemoryBound(to: UInt8.self)
        for group in 0..<4 {
            let values = (base + 48 + 32 * group).assumingMemoryBound(to: UInt8.self)
            let output = output + 64 * group
            let first = scaleAndMinimum(2 * group, packed), second = scaleAndMinimum(2 * group + 1, packed)
            let step1 = scale * first.scale, offset1 = minimumScale * first.minimum
            let step2 = scale * second.scale, offset2 = minimumScale * second.minimum
            let shift1 = UInt8(2 * group), shift2 = UInt8(2 * group + 1)
            for index in 0..<32 {
                let high1 = ((highBits[index] >> shift1) & 1) << 4
                let high2 = ((highBits[index] >> shift2) & 1) << 4
                output[index] = step1 * Float((values[index] & 0x0F) | high1) - offset1
                output[index + 32] = step2 * Float((values[index] >> 4) | high2) - offset2
            }
        }
    }
}

// block_q6_K: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, sixteen int8 scales,
// f16 d. x = d * scale * (q - 32)
func dequantizeQ6_K(_ source: UnsafeRawPointer, _ range: Range<Int>, _ destination: UnsafeMutablePointer<Float>) {
    for block in range {
        let base = source + block * 210, output = destination + block * 256
        let scale = loadHalf(base, 208)
        for half in 0..<2 {
            let low = (base + 64 * half).assumingMemoryBound(to: UInt8.self)
            let high = (base + 128 + 32 * half).assumingMemoryBound(to: UInt8.self)
            let scales = (base + 192 + 8 * half).assumingMemoryBound(to: Int8.self)
            let output = output + 128 * half
            for index in 0..<32 {
                let group = index / 16
                let q1 = Int32((low[index] & 0x0F) | ((high[index] & 3) << 4)) - 32
                let q2 = Int32((low[index + 32] & 0x0F) | (((high[index] >> 2) & 3) << 4)) - 32
                let q3 = Int32((low[index] >> 4) | (((high[index] >> 4) & 3) << 4)) - 32
                let q4 = Int32((low[index + 32] >> 4) | (((high[index] >> 6) & 3) << 4)) - 32
                output[index] = scale * Float(scales[group]) * Float(q1)
                output[index + 32] = scale * Float(scales[group + 2]) * Float(q2)
                output[index + 64] = scale * Float(scales[group + 4]) * Float(q3)
                output[index + 96] = scale * Float(scales[group + 6]) * Float(q4)
            }
        }
    }
}

/// From dequantised coefficients to pixels, with libjpeg's integer arithmetic so results
/// match libjpeg(-turbo)'s default decode (`JDCT_ISLOW`, fancy upsampling, fixed-point
/// YCbCr → RGB) bit for bit where the same path applies.
enum JPEGReconstruction {
    private static let constantBits = 13, pass1Bits = 2
    private static let c0_298631336 = 2446, c0_390180644 = 3196, c0_541196100 = 4433, c0_765366865 = 6270
    private static let c0_899976223 = 7373, c1_175875602 = 9633, c1_501321110 = 12299, c1_847759065 = 15137
    private static let c1_961570560 = 16069, c2_053119869 = 16819, c2_562915447 = 20995, c3_072711026 = 25172

    /// One 1-D pass of the Loeffler–Ligtenberg–Moschytz IDCT on `input[start + k · step]`,
    /// returning the eight outputs scaled by 2^`constantBits` (before descaling).
    @inline(__always)
    private static func transform(_ v: (Int, Int, Int, Int, Int, Int, Int, Int)) -> (Int, Int, Int, Int, Int, Int, Int, Int) {
        // Even part.
        var z1 = (v.2 + v.6) * c0_541196100
        let even2 = z1 - v.6 * c1_847759065
        let even3 = z1 + v.2 * c0_765366865
        let even0 = (v.0 + v.4) << constantBits
        let even1 = (v.0 - v.4) << constantBits
        let t10 = even0 + even3, t13 = even0 - even3, t11 = even1 + even2, t12 = even1 - even2
        // Odd part.
        var t0 = v.7, t1 = v.5, t2 = v.3, t3 = v.1
        z1 = t0 + t3
        var z2 = t1 + t2, z3 = t0 + t2, z4 = t1 + t3
        let z5 = (z3 + z4) * c1_175875602
        t0 *= c0_298631336; t1 *= c2_053119869; t2 *= c3_072711026; t3 *= c1_501321110
        z1 *= -c0_899976223; z2 *= -c2_562915447; z3 *= -c1_961570560; z4 *= -c0_390180644
        z3 += z5; z4 += z5
        t0 += z1 + z3; t1 += z2 + z4; t2 += z2 + z3; t3 += z1 + z4
        return (t10 + t3, t11 + t2, t12 + t1, t13 + t0, t13 - t0, t12 - t1, t11 - t2, t10 - t3)
    }

    /// Inverse DCT of one block of dequantised coefficients (natural order) into 8×8 samples
    /// at `output[row · stride + column]`; `workspace` holds 64 intermediate values.
    static func inverseDCT(_ block: UnsafePointer<Int32>, into output: UnsafeMutablePointer<UInt8>, stride: Int,
                           workspace ws: UnsafeMutablePointer<Int>) {
        let firstShift = constantBits - pass1Bits, firstHalf = 1 << (firstShift - 1)
        for column in 0..<8 {
            let c = block + column
            if c[8] == 0 && c[16] == 0 && c[24] == 0 && c[32] == 0 && c[40] == 0 && c[48] == 0 && c[56] == 0 {
                for row in 0..<8 { ws[column + 8 * row] = Int(c[0]) << pass1Bits }
                continue
            }
            let r = transform((Int(c[0]), Int(c[8]), Int(c[16]), Int(c[24]), Int(c[32]), Int(c[40]), Int(c[48]), Int(c[56])))
            let target = ws + column
            target[0] = (r.0 + firstHalf) >> firstShift; target[8] = (r.1 + firstHalf) >> firstShift
            target[16] = (r.2 + firstHalf) >> firstShift; target[24] = (r.3 + firstHalf) >> firstShift
            target[32] = (r.4 + firstHalf) >> firstShift; target[40] = (r.5 + firstHalf) >> firstShift
            target[48] = (r.6 + firstHalf) >> firstShift; target[56] = (r.7 + firstHalf) >> firstShift
        }
        let shift = constantBits + pass1Bits + 3, half = 1 << (shift - 1)
        for row in 0..<8 {
            let w = ws + 8 * row, target = output + row * stride
            let r = transform((w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]))
            target[0] = clampSample(((r.0 + half) >> shift) + 128); target[1] = clampSample(((r.1 + half) >> shift) + 128)
            target[2] = clampSample(((r.2 + half) >> shift) + 128); target[3] = clampSample(((r.3 + half) >> shift) + 128)
            target[4] = clampSample(((r.4 + half) >> shift) + 128); target[5] = clampSample(((r.5 + half) >> shift) + 128)
            target[6] = clampSample(((r.6 + half) >> shift) + 128); target[7] = clampSample(((r.7 + half) >> shift) + 128)
        }
    }

    @inline(__always) static func clampSample(_ value: Int) -> UInt8 { UInt8(min(max(value, 0), 255)) }

    /// Upsamples one component plane (`width`×`height` valid samples, row stride `stride`) by
    /// integer factors to `outputWidth`×`outputHeight`. 2×1, 1×2 and 2×2 use libjpeg's
    /// "fancy" triangle filters; other factors replicate samples.
    static func upsample(_ plane: [UInt8], width: Int, height: Int, stride: Int, horizontal: Int, vertical: Int,
                         outputWidth: Int, outputHeight: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: outputWidth * outputHeight)
        func sample(_ x: Int, _ y: Int) -> Int { Int(plane[min(y, height - 1) * stride + min(x, width - 1)]) }
        for y in 0..<outputHeight {
            for x in 0..<outputWidth {
                let value: Int
                switch (horizontal, vertical) {
                case (1, 1): value = sample(x, y)
                case (2, 1): value = horizontalTriangle(x, row: y, sample)
                case (1, 2):
                    let (near, far) = (y / 2, y % 2 == 0 ? max(y / 2 - 1, 0) : min(y / 2 + 1, height - 1))
                    value = (3 * sample(x, near) + sample(x, far) + (y % 2 == 0 ? 1 : 2)) >> 2
                case (2, 2):
                    let (near, far) = (y / 2, y % 2 == 0 ? max(y / 2 - 1, 0) : min(y / 2 + 1, height - 1))
                    let column = { (column: Int) in 3 * sample(column, near) + sample(column, far) }
                    let center = x / 2
                    if x % 2 == 0 {
                        value = center == 0 ? (column(0) * 4 + 8) >> 4 : (3 * column(center) + column(center - 1) + 8) >> 4
                    } else {
                        value = center >= width - 1 ? (column(width - 1) * 4 + 7) >> 4
                            : (3 * column(center) + column(center + 1) + 7) >> 4
                    }
                default: value = sample(x / horizontal, y / vertical)
                }
                result[y * outputWidth + x] = UInt8(value)
            }
        }
        return result
    }

    /// libjpeg's h2v1 fancy upsampling of row `row` at output column `x`.
    @inline(__always)
    private static func horizontalTriangle(_ x: Int, row: Int, _ sample: (Int, Int) -> Int) -> Int {
        let center = x / 2
        if x % 2 == 0 {
            return center == 0 ? sample(0, row) : (3 * sample(center, row) + sample(center - 1, row) + 1) >> 2
        }
        let next = sample(center + 1, row), current = sample(center, row)
        // Past the last valid column `sample` clamps, which reproduces libjpeg's edge copy.
        return (3 * current + next + 2) >> 2
    }

    private static func fixed(_ value: Double) -> Int { Int(value * 65536 + 0.5) }
    private static let crToRed = (0..<256).map { (fixed(1.40200) * ($0 - 128) + 32768) >> 16 }
    private static let cbToBlue = (0..<256).map { (fixed(1.77200) * ($0 - 128) + 32768) >> 16 }
    private static let crToGreen = (0..<256).map { -fixed(0.71414) * ($0 - 128) }
    private static let cbToGreen = (0..<256).map { -fixed(0.34414) * ($0 - 128) + 32768 }

    /// Converts full-resolution Y, Cb, Cr planes to interleaved RGB.
    static func rgb(luma: [UInt8], blue: [UInt8], red: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: luma.count * 3)
        for index in 0..<luma.count {
            let y = Int(luma[index]), cb = Int(blue[index]), cr = Int(red[index])
            result[3 * index] = clampSample(y + crToRed[cr])
            result[3 * index + 1] = clampSample(y + ((cbToGreen[cb] + crToGreen[cr]) >> 16))
            result[3 * index + 2] = clampSample(y + cbToBlue[cb])
        }
        return result
    }
}

import TensorCore

/// Converts GGUF tensor data to float32. Quantized types follow ggml's reference
/// `dequantize_row_*` (ggml-quants.c) operation for operation, so results match ggml and
/// gguf-py bit for bit. Work is split over blocks across `Parallel.threadCount` threads.
enum GGUFDequantizer {
    /// Per-block kernels: dequantize blocks `range` of `source` into `destination`, where block
    /// `b` writes elements `b * blockSize ..< (b + 1) * blockSize`.
    typealias Kernel = (_ source: UnsafeRawPointer, _ range: Range<Int>, _ destination: UnsafeMutablePointer<Float>) -> Void

    /// Converts `count` elements of `type` (a whole number of blocks) at `source` into
    /// `destination`. `type` must be `isConvertible`.
    static func convert(_ type: GGUFTensorType, from source: UnsafeRawPointer, count: Int,
                        into destination: UnsafeMutablePointer<Float>) {
        let kernel = self.kernel(for: type)
        let blocks = count / type.blockSize
        // Small tensors are not worth waking threads for.
        guard count >= 1 << 16 else { return kernel(source, 0..<blocks, destination) }
        let box = UncheckedPointers(source: source, destination: destination)
        Parallel.forEachChunk(blocks, granularity: max(1, 4096 / type.blockSize)) { range in
            kernel(box.source, range, box.destination)
        }
    }

    private static func kernel(for type: GGUFTensorType) -> Kernel {
        switch type {
        case .f32: plain(UInt32.self) { Float(bitPattern: $0) }
        case .f16: plain(UInt16.self) { Float(halfBits: $0) }
        case .bf16: plain(UInt16.self) { Float(bitPattern: UInt32($0) << 16) }
        case .f64: plain(UInt64.self) { Float(Double(bitPattern: $0)) }
        case .i8: plain(Int8.self) { Float($0) }
        case .i16: plain(Int16.self) { Float($0) }
        case .i32: plain(Int32.self) { Float($0) }
        case .i64: plain(Int64.self) { Float($0) }
        case .q4_0: dequantizeQ4_0
        case .q4_1: dequantizeQ4_1
        case .q5_0: dequantizeQ5_0
        case .q5_1: dequantizeQ5_1
        case .q8_0: dequantizeQ8_0
        case .q2_K: dequantizeQ2_K
        case .q3_K: dequantizeQ3_K
        case .q4_K: dequantizeQ4_K
        case .q5_K: dequantizeQ5_K
        case .q6_K: dequantizeQ6_K
        default: preconditionFailure("GGUFDequantizer: \(type.name) is not convertible")
        }
    }

    /// A kernel for one-element "blocks" of little-endian `Bits`.
    private static func plain<Bits: FixedWidthInteger>(_: Bits.Type, _ convert: @escaping (Bits) -> Float) -> Kernel {
        { source, range, destination in
            let size = MemoryLayout<Bits>.size
            for index in range {
                destination[index] = convert(Bits(littleEndian: source.loadUnaligned(fromByteOffset: index * size, as: Bits.self)))
            }
        }
    }
}

struct UncheckedPointers: @unchecked Sendable {
    let source: UnsafeRawPointer
    let destination: UnsafeMutablePointer<Float>
}

/// The float16 at `offset` of `block` as float32.
@inline(__always)
func loadHalf(_ block: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(halfBits: UInt16(littleEndian: block.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

// MARK: - 32-element blocks

// block_q4_0: f16 d, 16 bytes of 4-bit values (low nibbles are elements 0..15, high 16..31).
// x = (q - 8) * d
private func dequantizeQ4_0(_ source: UnsafeRawPointer, _ range: Range<Int>, _ destination: UnsafeMutablePointer<Float>) {
    for block in range {
        let base = source + block * 18, output = destination + block * 32
        let scale = loadHalf(base, 0)
        let values = (base + 2).assumingMemoryBound(to: UInt8.self)
        for index in 0..<16 {
            output[index] = Float(Int32(values[index] & 0x0F) - 8) * scale
            output[index + 16] = Float(Int32(values[index] >> 4) - 8) * scale
        }
    }
}

// block_q4_1: f16 d, f16 m, 16 bytes of 4-bit values. x = q * d + m
private func dequantizeQ4_1(_ source: UnsafeRawPointer, _ range: Range<Int>, _ destination: UnsafeMutablePointer<Float>) {
    for block in range {
        let base = source + block * 20, output = destination + block * 32
        let scale = loadHalf(base, 0), minimum = loadHalf(base, 2)
        let values = (base + 4).assumingMemoryBound(to: UInt8.self)
        for index in 0..<16 {
            output[index] = Float(values[index] & 0x0F) * scale + minimum
            output[index + 16] = Float(values[index] >> 4) * scale + minimum
        }
    }
}

// block_q5_0: f16 d, u32 qh (the fifth bit of element j is bit j), 16 bytes of low nibbles.
// x = (q - 16) * d
private func dequantizeQ5_0(_ source: UnsafeRawPointer, _ range: Range<Int>, _ destination: UnsafeMutablePointer<Float>) {
    for block in range {
        let base = source + block * 22, output = destination + block * 32
        let scale = loadHalf(base, 0)
        let high = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        let values = (base + 6).assumingMemoryBound(to: UInt8.self)
        for index in 0..<16 {
            let high0 = UInt8(truncatingIfNeeded: ((high >> UInt32(index)) << 4) & 0x10)
            let high1 = UInt8(truncatingIfNeeded: (high >> UInt32(index + 12)) & 0x10)
            output[index] = Float(Int32((values[index] & 0x0F) | high0) - 16) * scale
            output[index + 16] = Float(Int32((values[index] >> 4) | high1) - 16) * scale
        }
    }
}

// block_q5_1: f16 d, f16 m, u32 qh, 16 bytes of low nibbles. x = q * d + m
private func dequantizeQ5_1(_ source: UnsafeRawPointer, _ range: Range<Int>, _ destination: UnsafeMutablePointer<Float>) {
    for block in range {
        let base = source + block * 24, output = destination + block * 32
        let scale = loadHalf(base, 0), minimum = loadHalf(base, 2)
        let high = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let values = (base + 8).assumingMemoryBound(to: UInt8.self)
        for index in 0..<16 {
            let high0 = UInt8(truncatingIfNeeded: ((high >> UInt32(index)) << 4) & 0x10)
            let high1 = UInt8(truncatingIfNeeded: (high >> UInt32(index + 12)) & 0x10)
            output[index] = Float((values[index] & 0x0F) | high0) * scale + minimum
            output[index + 16] = Float((values[index] >> 4) | high1) * scale + minimum
        }
    }
}

// block_q8_0: f16 d, 32 signed bytes. x = q * d
private func dequantizeQ8_0(_ source: UnsafeRawPointer, _ range: Range<Int>, _ destination: UnsafeMutablePointer<Float>) {
    for block in range {
        let base = source + block * 34, output = destination + block * 32
        let scale = loadHalf(base, 0)
        let values = (base + 2).assumingMemoryBound(to: Int8.self)
        for index in 0..<32 {
            output[index] = Float(values[index]) * scale
        }
    }
}

extension Tensor {
    /// Elements per independently seeded block of the keep mask.
    public static let dropoutBlock = 16_384

    /// Inverted dropout: zeroes each element with `probability` and scales the survivors by
    /// 1/(1 - probability), so the expectation is unchanged. The keep mask (one byte per
    /// element) is kept for the backward pass. `probability == 0` returns `self`; `1` gives zeros.
    /// Callers decide when to apply it (training only).
    ///
    /// The mask is drawn in blocks of `dropoutBlock` elements, threaded: `generator` gives
    /// one seed per block, in order, and each block's generator gives 24 random bits per
    /// element (two elements per 64-bit draw). The mask depends on the generator's state and
    /// the tensor's size, never on the thread count.
    ///
    /// ```swift
    /// var generator = RandomGenerator(seed: 42)
    /// let hidden = attentionOutput.dropout(probability: 0.1, generator: &generator)
    /// ```
    public func dropout(probability: Float, generator: inout RandomGenerator) -> Tensor {
        precondition(probability >= 0 && probability <= 1, "dropout: probability \(probability) is outside [0, 1]")
        if probability == 0 { return self }
        let scale: Float = probability == 1 ? 0 : 1 / (1 - probability)
        // An element survives when its 24 random bits, as a fraction of 2^24, are >= probability.
        let threshold = UInt64((Double(probability) * 16_777_216).rounded(.up))
        let source = contiguous()
        let output = Tensor.uninitialized(shape)
        let count = self.count, block = Self.dropoutBlock
        let seeds = (0..<(count + block - 1) / block).map { _ in generator.next() }
        let keep = UnsafeMutablePointer<UInt8>.allocate(capacity: Swift.max(count, 1))
        let x = UncheckedSendable(source.storage.floats + source.offset), y = UncheckedSendable(output.storage.floats)
        let mask = UncheckedSendable(keep)
        Parallel.forEachChunk(seeds.count) { blocks in
            for blockIndex in blocks {
                var blockGenerator = RandomGenerator(seed: seeds[blockIndex])
                let start = blockIndex * block, end = Swift.min(count, start + block)
                func draw(_ index: Int, _ bits: UInt64) {
                    let kept: UInt8 = bits & 0xFF_FFFF >= threshold ? 1 : 0
                    mask.value[index] = kept
                    y.value[index] = x.value[index] * (kept == 1 ? scale : 0)
                }
                var index = start
                while index + 1 < end {
                    let bits = blockGenerator.next()
                    draw(index, bits >> 40)
                    draw(index + 1, bits >> 8)
                    index += 2
                }
                if index < end { draw(index, blockGenerator.next() >> 40) }
            }
        }
        let keepMask = DropoutMask(pointer: keep)
        return Tensor.record("dropout", output, inputs: [self]) { gradient in
            let upstream = gradient.contiguous()
            let result = Tensor.uninitialized(upstream.shape)
            let g = UncheckedSendable(upstream.storage.floats + upstream.offset), r = UncheckedSendable(result.storage.floats)
            let kept = UncheckedSendable(keepMask.pointer)
            Parallel.forEachChunk(count, granularity: block) { range in
                for index in range { r.value[index] = g.value[index] * (kept.value[index] == 1 ? scale : 0) }
            }
            return [result]
        }
    }
}

/// The keep flags of one dropout call, freed with the backward closure that holds them.
private final class DropoutMask: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<UInt8>
    init(pointer: UnsafeMutablePointer<UInt8>) { self.pointer = pointer }
    deinit { pointer.deallocate() }
}

import Testing
import TensorCore
import TestSupport

@Suite struct AttentionTests {
    /// softmax(Q·Kᵀ·scale + mask + causal)·V from matmul and softmax.
    func composedAttention(_ query: Tensor, _ key: Tensor, _ value: Tensor, mask: Tensor? = nil,
                           isCausal: Bool = false, scale: Float? = nil) -> Tensor {
        let tq = query.shape[2], tk = key.shape[2]
        var scores = matmul(query, key.transposed()) * (scale ?? 1 / Float(query.shape[3]).squareRoot())
        if let mask { scores = scores + mask }
        if isCausal {
            let causal = (0..<tq).flatMap { i in (0..<tk).map { j in j > i + tk - tq ? -Float.infinity : 0 } }
            scores = scores + Tensor(causal, shape: [tq, tk])
        }
        return matmul(scores.softmax(), value)
    }

    /// A [B, 1, 1, Tk] padding mask (0 keep, -inf pad) with `lengths[b]` real keys per batch.
    func paddingMask(lengths: [Int], keyLength: Int) -> Tensor {
        let values = lengths.flatMap { length in (0..<keyLength).map { $0 < length ? Float(0) : -.infinity } }
        return Tensor(values, shape: [lengths.count, 1, 1, keyLength])
    }

    @Test func matchesCompositionForMasksAndCausality() {
        let query = Tensor.randomNormal([2, 3, 4, 8], seed: 1)
        let key = Tensor.randomNormal([2, 3, 6, 8], seed: 2), value = Tensor.randomNormal([2, 3, 6, 5], seed: 3)
        let padding = paddingMask(lengths: [6, 4], keyLength: 6)
        let squareKey = key.sliced(axis: 2, 0..<4), squareValue = value.sliced(axis: 2, 0..<4)
        let cases: [(Tensor, Tensor, Tensor, Tensor?, Bool, Float?)] = [
            (query, key, value, nil, false, nil),
            (query, key, value, padding, false, nil),
            (query, key, value, nil, true, nil),            // Tq < Tk: bottom-right aligned
            (query, squareKey, squareValue, nil, true, 0.3),  // Tq == Tk, sliced views
            (query, key, value, padding, true, nil),
        ]
        for (q, k, v, mask, isCausal, scale) in cases {
            let fused = scaledDotProductAttention(query: q, key: k, value: v, mask: mask, isCausal: isCausal, scale: scale)
            let composed = composedAttention(q, k, v, mask: mask, isCausal: isCausal, scale: scale)
            #expect(fused.shape == [2, 3, 4, v.shape[3]])
            #expect(maxAbsoluteDifference(fused, composed) < 1e-5)
        }
    }

    @Test func readsPermutedAndNarrowInputsInPlace() {
        // [B, T, H, D] projections viewed as [B, H, T, D], as a transformer layer makes them.
        let q = Tensor.randomNormal([2, 5, 3, 4], seed: 4).permuted([0, 2, 1, 3])
        let k = Tensor.randomNormal([2, 5, 3, 4], seed: 5).permuted([0, 2, 1, 3])
        let v = Tensor.randomNormal([2, 5, 3, 4], seed: 6).converted(to: .bfloat16).permuted([0, 2, 1, 3])
        let fused = scaledDotProductAttention(query: q, key: k.transposed().transposed(), value: v, isCausal: true)
        let composed = composedAttention(q.contiguous(), k.contiguous(), v.contiguous(), isCausal: true)
        #expect(maxAbsoluteDifference(fused, composed) < 1e-5)
    }

    @Test func mismatchedShapesAreAPreconditionFailureNamingBoth() async throws {
        let result = try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = scaledDotProductAttention(query: .zeros([1, 2, 3, 4]), key: .zeros([1, 2, 3, 5]), value: .zeros([1, 2, 3, 5]))
        }
        let message = String(decoding: result.standardErrorContent, as: UTF8.self)
        #expect(message.contains("key [1, 2, 3, 5] does not match query [1, 2, 3, 4]"))
    }

    @Test func fullyMaskedRowsGiveZerosWithoutNaN() {
        let query = Tensor.randomNormal([1, 2, 3, 4], seed: 7).requiringGradient()
        let key = Tensor.randomNormal([1, 2, 3, 4], seed: 8).requiringGradient()
        let value = Tensor.randomNormal([1, 2, 3, 4], seed: 9).requiringGradient()
        let hideAll = Tensor([0, 0, 0, -.infinity, -.infinity, -.infinity, 0, -.infinity, 0], shape: [3, 3])
        let output = scaledDotProductAttention(query: query, key: key, value: value, mask: hideAll)
        let values = output.toArray()
        #expect(values.allSatisfy { $0.isFinite })
        #expect((0..<2).allSatisfy { head in values[(head * 3 + 1) * 4..<(head * 3 + 2) * 4].allSatisfy { $0 == 0 } })
        output.sum().backward()
        #expect([query, key, value].allSatisfy { $0.grad!.toArray().allSatisfy { $0.isFinite } })
    }

    @Test func gradientsMatchFiniteDifferences() {
        let query = Tensor.randomNormal([2, 2, 3, 4], seed: 10)
        let key = Tensor.randomNormal([2, 2, 5, 4], seed: 11), value = Tensor.randomNormal([2, 2, 5, 3], seed: 12)
        let padding = paddingMask(lengths: [5, 3], keyLength: 5)
        #expect(gradientError(of: { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: padding) },
                              at: [query, key, value]) < 1e-3)
        #expect(gradientError(of: { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], isCausal: true, scale: 0.7) },
                              at: [query, key, value]) < 1e-3)
        // A trainable additive bias broadcast over batch and heads.
        let bias = Tensor.randomNormal([1, 1, 3, 5], seed: 13)
        #expect(gradientError(of: { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: $0[3]) },
                              at: [query, key, value, bias]) < 1e-3)
    }

    @Test func gradientsThroughPermutedViews() {
        let q = Tensor.randomNormal([1, 4, 2, 3], seed: 14)
        let k = Tensor.randomNormal([1, 4, 2, 3], seed: 15), v = Tensor.randomNormal([1, 4, 2, 3], seed: 16)
        let toHeads = [0, 2, 1, 3]
        #expect(gradientError(of: {
            scaledDotProductAttention(query: $0[0].permuted(toHeads), key: $0[1].permuted(toHeads),
                                      value: $0[2].permuted(toHeads), isCausal: true)
        }, at: [q, k, v]) < 1e-3)
    }

    @Test func threadedHeadsAgreeWithCompositionGradients() {
        let tensors = [[2, 4, 16, 8], [2, 4, 24, 8], [2, 4, 24, 8]].enumerated().map {
            Tensor.randomNormal($0.element, seed: 20 + UInt64($0.offset)).requiringGradient()
        }
        let mask = paddingMask(lengths: [24, 10], keyLength: 24)
        let upstream = Tensor.randomNormal([2, 4, 16, 8], seed: 30)
        scaledDotProductAttention(query: tensors[0], key: tensors[1], value: tensors[2], mask: mask, isCausal: true)
            .backward(upstream)
        let fused = tensors.map { $0.grad! }
        for tensor in tensors { tensor.grad = nil }
        composedAttention(tensors[0], tensors[1], tensors[2], mask: mask, isCausal: true).backward(upstream)
        for (tensor, gradient) in zip(tensors, fused) {
            #expect(maxAbsoluteDifference(gradient, tensor.grad!) < 1e-4)
        }
    }
}

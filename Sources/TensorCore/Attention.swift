import CKernels
import Foundation

/// Scaled dot-product attention, fused per (batch, head) and threaded over B·H.
///
/// Shapes: `B` batch, `H` heads, `Tq` query tokens, `Tk` key tokens, `D` head dimension.
///
/// Forward, per head: S = scale·Q·Kᵀ + mask (causal entries -inf), P = softmax(S), O = P·V.
/// Only O and the per-row log-sum-exp of S are kept; the backward pass recomputes P from them
/// (as FlashAttention does), so the [Tq, Tk] probabilities are never stored across passes:
///
///     dV = Pᵀ·dO    dP = dO·Vᵀ    dS = P ⊙ (dP - rowsum(dO ⊙ O))
///     dQ = scale·dS·K    dK = scale·dSᵀ·Q    dMask = dS (summed to the mask's shape)

/// Attention as `torch.nn.functional.scaled_dot_product_attention` with a float (additive)
/// mask.
///
/// - `mask` is added to the scores and broadcasts to `[B, H, Tq, Tk]`, e.g. a `[B, 1, 1, Tk]`
///   padding mask of 0 and -inf (or a large negative number).
/// - `isCausal` hides key j from query i when j > i + (Tk - Tq): the causal mask aligned to
///   the bottom-right, as a decoder with a KV cache needs (`causal_lower_right` in PyTorch).
///   For Tq == Tk this is PyTorch's `is_causal=True`; PyTorch's flag aligns to the top-left
///   when Tq != Tk. Unlike PyTorch, `mask` and `isCausal` may be combined.
/// - `scale` defaults to 1/√D.
/// - A query row whose keys are all masked (-inf) yields zeros and a zero gradient; PyTorch
///   yields NaN.
///
/// ```swift
/// let context = scaledDotProductAttention(query: q, key: k, value: v, isCausal: true)   // [B, H, T, D]
/// ```
public func scaledDotProductAttention(query: Tensor /* [B, H, Tq, D] */, key: Tensor /* [B, H, Tk, D] */,
                                      value: Tensor /* [B, H, Tk, Dv] */, mask: Tensor? = nil,
                                      isCausal: Bool = false, scale: Float? = nil) -> Tensor /* [B, H, Tq, Dv] */ {
    precondition(query.rank == 4 && key.rank == 4 && value.rank == 4,
                 "scaledDotProductAttention: query \(query.shape), key \(key.shape), value \(value.shape) must be [B, H, T, D]")
    precondition(key.shape[0...1] == query.shape[0...1] && key.shape[3] == query.shape[3],
                 "scaledDotProductAttention: key \(key.shape) does not match query \(query.shape)")
    precondition(value.shape[0...2] == key.shape[0...2],
                 "scaledDotProductAttention: value \(value.shape) does not match key \(key.shape)")
    let problem = AttentionProblem(
        batch: query.shape[0], heads: query.shape[1], queryLength: query.shape[2], keyLength: key.shape[2],
        headDimension: query.shape[3], valueDimension: value.shape[3],
        scale: scale ?? 1 / Float(query.shape[3]).squareRoot(), isCausal: isCausal)
    let scoreShape = [problem.batch, problem.heads, problem.queryLength, problem.keyLength]
    var maskLayout: MaskLayout?
    if let mask {
        precondition(mask.rank <= 4 && broadcastShape(mask.shape, scoreShape) == scoreShape,
                     "scaledDotProductAttention: mask \(mask.shape) does not broadcast to scores \(scoreShape)")
        let source = mask.dtype == .float32 ? mask : mask.contiguous()
        let layout = source.expandedLayout(to: scoreShape)
        maskLayout = (source.detached(), layout.strides, layout.offset)
    }
    let q = HeadMatrices(query), k = HeadMatrices(key), v = HeadMatrices(value)
    let output = Tensor.zeros([problem.batch, problem.heads, problem.queryLength, problem.valueDimension])
    let logSumExps = Tensor.zeros([problem.batch * problem.heads * problem.queryLength])
    let o = output.storage.floats, lse = logSumExps.storage.floats
    let (tq, tk, dv) = (problem.queryLength, problem.keyLength, problem.valueDimension)
    Parallel.forEach(problem.batch * problem.heads) { headIndex in
        let probabilities = UnsafeMutablePointer<Float>.allocate(capacity: tq * tk)
        defer { probabilities.deallocate() }
        problem.probabilities(headIndex, q: q, k: k, mask: maskLayout, into: probabilities,
                              logSumExps: lse + headIndex * tq, fromSavedLogSumExps: false)
        problem.multiply(.matrix(probabilities, columns: tk), v.operand(headIndex, problem), m: tq, n: dv, k: tk,
                         into: o + headIndex * tq * dv)
    }
    let inputs = [query, key, value] + (mask.map { [$0] } ?? [])
    let savedOutput = output.detached()
    return Tensor.record("scaled_dot_product_attention", output, inputs: inputs) { gradient in
        let upstream = gradient.contiguous()
        let needsMask = mask?.requiresGradient ?? false
        let gradients = problem.backward(q: q, k: k, v: v, mask: maskLayout, output: savedOutput,
                                         outputGradient: upstream, logSumExps: logSumExps,
                                         needs: (query.requiresGradient, key.requiresGradient,
                                                 value.requiresGradient, needsMask))
        var result: [Tensor?] = [gradients.query, gradients.key, gradients.value]
        if let mask { result.append(gradients.mask?.summed(toShape: mask.shape)) }
        return result
    }
}

/// A float32 additive mask and its strides broadcast to [B, H, Tq, Tk].
private typealias MaskLayout = (tensor: Tensor, strides: [Int], offset: Int)

/// One [T, D] matrix per (batch, head) of a `[B, H, T, D]` tensor, as GEMM operands; a layout
/// the kernel cannot address is copied once.
private struct HeadMatrices {
    let tensor: Tensor

    init(_ tensor: Tensor) {
        let s = tensor.strides
        let addressable = MatrixOperand(rows: tensor.shape[2], columns: tensor.shape[3], rowStride: s[2],
                                        columnStride: s[3], storage: tensor.storage) != nil
            && MatrixOperand(rows: tensor.shape[3], columns: tensor.shape[2], rowStride: s[3],
                             columnStride: s[2], storage: tensor.storage) != nil
        self.tensor = addressable ? tensor.detached() : Tensor.withoutGradient { tensor.contiguous() }
    }

    /// The head's matrix, or its transpose, as a kernel operand.
    func operand(_ headIndex: Int, _ problem: AttentionProblem, transposed: Bool = false) -> GemmOperand {
        let s = tensor.strides, rows = tensor.shape[2], columns = tensor.shape[3]
        let offset = tensor.offset + headIndex / problem.heads * s[0] + headIndex % problem.heads * s[1]
        let matrix = transposed
            ? MatrixOperand(rows: columns, columns: rows, rowStride: s[3], columnStride: s[2], storage: tensor.storage)!
            : MatrixOperand(rows: rows, columns: columns, rowStride: s[2], columnStride: s[3], storage: tensor.storage)!
        return GemmOperand(pointer: matrix.pointer(at: offset), type: tensor.dtype.kernelType,
                           isTransposed: matrix.isTransposed, leadingDimension: matrix.leadingDimension)
    }
}

/// A matrix operand of `peft_gemm` at a fixed address.
private struct GemmOperand {
    let pointer: UnsafeRawPointer
    let type: peft_dtype
    let isTransposed: Bool
    let leadingDimension: Int

    /// A contiguous float32 row-major [rows, columns] scratch matrix, or its transpose.
    static func matrix(_ pointer: UnsafeMutablePointer<Float>, columns: Int, transposed: Bool = false) -> GemmOperand {
        GemmOperand(pointer: UnsafeRawPointer(pointer), type: PEFT_DTYPE_F32, isTransposed: transposed,
                    leadingDimension: columns)
    }
}

/// The sizes of one attention call and the per-head steps shared by forward and backward.
private struct AttentionProblem {
    let batch: Int, heads: Int, queryLength: Int, keyLength: Int, headDimension: Int, valueDimension: Int
    let scale: Float
    let isCausal: Bool

    /// C[m, n] = alpha · A[m, k] · B[k, n], with C contiguous (leading dimension n).
    func multiply(_ a: GemmOperand, _ b: GemmOperand, m: Int, n: Int, k: Int, alpha: Float = 1,
                  into c: UnsafeMutablePointer<Float>) {
        peft_gemm(a.isTransposed ? 1 : 0, b.isTransposed ? 1 : 0, m, n, k, alpha,
                  a.pointer, a.type, a.leadingDimension, b.pointer, b.type, b.leadingDimension, 0, c, n)
    }

    /// P = softmax(scale·Q·Kᵀ + mask, causal) of one head into `p` [Tq, Tk]. The forward pass
    /// writes each row's log-sum-exp to `logSumExps`; the backward pass reads them back
    /// (`fromSavedLogSumExps`) instead of summing again.
    func probabilities(_ headIndex: Int, q: HeadMatrices, k: HeadMatrices,
                       mask: MaskLayout?,
                       into p: UnsafeMutablePointer<Float>, logSumExps: UnsafeMutablePointer<Float>,
                       fromSavedLogSumExps: Bool) {
        let (tq, tk) = (queryLength, keyLength)
        multiply(q.operand(headIndex, self), k.operand(headIndex, self, transposed: true),
                 m: tq, n: tk, k: headDimension, alpha: scale, into: p)
        if let mask {
            let m = mask.tensor.storage.floats, s = mask.strides
            let base = mask.offset + headIndex / heads * s[0] + headIndex % heads * s[1]
            for i in 0..<tq {
                let row = p + i * tk, maskRow = m + base + i * s[2]
                if s[3] == 1 {
                    for j in 0..<tk { row[j] += maskRow[j] }   // contiguous along keys: vectorised
                } else {
                    for j in 0..<tk { row[j] += maskRow[j * s[3]] }
                }
            }
        }
        for i in 0..<tq {
            let row = p + i * tk
            if isCausal {
                // Key j is visible to query i when j <= i + (Tk - Tq).
                let visible = Swift.min(Swift.max(i + tk - tq + 1, 0), tk)
                (row + visible).update(repeating: -.infinity, count: tk - visible)
            }
            if fromSavedLogSumExps {
                let logSumExp = logSumExps[i]
                if logSumExp == -.infinity {
                    row.update(repeating: 0, count: tk)
                } else {
                    _ = peft_vexp_shifted_sum(row, row, tk, logSumExp)
                }
            } else {
                let maximum = peft_vmax(row, tk)
                guard maximum > -.infinity else {
                    row.update(repeating: 0, count: tk)
                    logSumExps[i] = -.infinity
                    continue
                }
                let total = peft_vexp_shifted_sum(row, row, tk, maximum)
                let inverse = 1 / total
                for j in 0..<tk { row[j] *= inverse }
                logSumExps[i] = maximum + Foundation.log(total)
            }
        }
    }

    /// The gradients of query, key, value and (unreduced, [B, H, Tq, Tk]) mask that `needs` asks for.
    func backward(q: HeadMatrices, k: HeadMatrices, v: HeadMatrices,
                  mask: MaskLayout?,
                  output: Tensor, outputGradient: Tensor, logSumExps: Tensor,
                  needs: (query: Bool, key: Bool, value: Bool, mask: Bool))
        -> (query: Tensor?, key: Tensor?, value: Tensor?, mask: Tensor?) {
        let (tq, tk, d, dv) = (queryLength, keyLength, headDimension, valueDimension)
        let queryGradient = needs.query ? Tensor.zeros([batch, heads, tq, d]) : nil
        let keyGradient = needs.key ? Tensor.zeros([batch, heads, tk, d]) : nil
        let valueGradient = needs.value ? Tensor.zeros([batch, heads, tk, dv]) : nil
        let maskGradient = needs.mask ? Tensor.zeros([batch, heads, tq, tk]) : nil
        let dq = queryGradient?.storage.floats, dk = keyGradient?.storage.floats
        let dV = valueGradient?.storage.floats, dMask = maskGradient?.storage.floats
        let o = output.storage.floats, lse = logSumExps.storage.floats
        let dO = outputGradient.storage.floats + outputGradient.offset
        Parallel.forEach(batch * heads) { headIndex in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: 2 * tq * tk)
            defer { p.deallocate() }
            let dS = p + tq * tk
            probabilities(headIndex, q: q, k: k, mask: mask, into: p, logSumExps: lse + headIndex * tq,
                          fromSavedLogSumExps: true)
            let headO = o + headIndex * tq * dv, headDO = dO + headIndex * tq * dv
            if let dV {
                multiply(.matrix(p, columns: tk, transposed: true), .matrix(headDO, columns: dv),
                         m: tk, n: dv, k: tq, into: dV + headIndex * tk * dv)
            }
            guard dq != nil || dk != nil || dMask != nil else { return }
            multiply(.matrix(headDO, columns: dv), v.operand(headIndex, self, transposed: true),
                     m: tq, n: tk, k: dv, into: dS)
            for i in 0..<tq {
                let rowDot = peft_vdot(headDO + i * dv, headO + i * dv, dv)
                let dSRow = dS + i * tk, pRow = p + i * tk
                for j in 0..<tk { dSRow[j] = pRow[j] * (dSRow[j] - rowDot) }
            }
            if let dMask { (dMask + headIndex * tq * tk).update(from: dS, count: tq * tk) }
            if let dq {
                multiply(.matrix(dS, columns: tk), k.operand(headIndex, self), m: tq, n: d, k: tk, alpha: scale,
                         into: dq + headIndex * tq * d)
            }
            if let dk {
                multiply(.matrix(dS, columns: tk, transposed: true), q.operand(headIndex, self), m: tk, n: d, k: tq,
                         alpha: scale, into: dk + headIndex * tk * d)
            }
        }
        return (queryGradient, keyGradient, valueGradient, maskGradient)
    }
}

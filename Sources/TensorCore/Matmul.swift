import CKernels

/// A matrix operand of the GEMM kernel: a 2-D layout over storage, possibly transposed.
struct MatrixOperand {
    let storage: Storage
    let isTransposed: Bool
    let leadingDimension: Int

    /// Describes the last two axes of `tensor` (rows, cols, rowStride, colStride) as a kernel
    /// operand, or nil when neither row- nor column-major.
    init?(rows: Int, columns: Int, rowStride: Int, columnStride: Int, storage: Storage) {
        self.storage = storage
        if columnStride == 1 && (rowStride >= columns || rows == 1) {
            isTransposed = false
            leadingDimension = Swift.max(rowStride, columns)
        } else if rowStride == 1 && (columnStride >= rows || columns == 1) {
            isTransposed = true
            leadingDimension = Swift.max(columnStride, rows)
        } else {
            return nil
        }
    }

    func pointer(at elementOffset: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(storage.bytes + elementOffset * storage.dtype.byteSize)
    }
}

/// C[M,N] = A[M,K] · B[K,N] (+ C when `accumulate`) on raw operands, split across
/// `Parallel.threadCount` threads. `c` is contiguous with leading dimension `n`.
///
/// Each thread runs the single-threaded C kernel on its own block of C, so every block repacks
/// the operand it shares with the others: splitting rows repacks B (K·N per thread), splitting
/// columns repacks A (M·K per thread). The split takes the cheaper side, in whole register
/// tiles, which also keeps tall-skinny shapes like [2048, 384] · [384, 8] on all cores.
func gemm(m: Int, n: Int, k: Int,
          a: MatrixOperand, aOffset: Int, b: MatrixOperand, bOffset: Int,
          c: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
    let beta: Float = accumulate ? 1 : 0
    let cAddress = UncheckedSendable(c)
    func run(rows: Range<Int>, columns: Range<Int>) {
        let aStep = a.isTransposed ? 1 : a.leadingDimension
        let bStep = b.isTransposed ? b.leadingDimension : 1
        peft_gemm(a.isTransposed ? 1 : 0, b.isTransposed ? 1 : 0, rows.count, columns.count, k, 1,
                  a.pointer(at: aOffset + rows.lowerBound * aStep), a.storage.dtype.kernelType, a.leadingDimension,
                  b.pointer(at: bOffset + columns.lowerBound * bStep), b.storage.dtype.kernelType, b.leadingDimension,
                  beta, cAddress.value + rows.lowerBound * n + columns.lowerBound, n)
    }
    var tileRows = 0, tileColumns = 0
    peft_gemm_tile(&tileRows, &tileColumns)
    let threads = m * n * k < 1 << 20 ? 1 : Parallel.threadCount
    let rowsSplit = m >= 2 * tileRows && (m >= n || n < 2 * tileColumns)
    let columnsSplit = !rowsSplit && n >= 2 * tileColumns
    if threads <= 1 || !(rowsSplit || columnsSplit) {
        run(rows: 0..<m, columns: 0..<n)
    } else if rowsSplit {
        Parallel.forEachChunk(m, granularity: tileRows) { rows in run(rows: rows, columns: 0..<n) }
    } else {
        Parallel.forEachChunk(n, granularity: tileColumns) { columns in run(rows: 0..<m, columns: columns) }
    }
}

/// Matrix product of the last two axes with NumPy batch broadcasting:
/// `[..., M, K] · [..., K, N] -> [..., M, N]`. Transposed views are passed to the kernel as
/// transposes (no copy); float16/bfloat16 operands are widened inside the kernel.
///
/// ```swift
/// let y = matmul(x, weight.transposed())   // x: [B, T, C_in], weight: [C_out, C_in]
/// ```
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.rank >= 2 && b.rank >= 2, "matmul: needs at least 2-D operands, got \(a.shape) and \(b.shape)")
    let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
    precondition(b.shape[b.rank - 2] == k, "matmul: inner dimensions differ: \(a.shape) · \(b.shape)")
    let batchShape = broadcastShape(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2)))

    // [B..., M, K] with a 2-D right operand: fold the batch into M for one large product.
    if b.rank == 2, a.rank > 2, a.isContiguous {
        let folded = a.reshaped([a.count / k, k])
        return matmul(folded, b).reshaped(batchShape + [m, n])
    }

    let left = operandLayout(a, rows: m, columns: k)
    let right = operandLayout(b, rows: k, columns: n)
    let output = Tensor.uninitialized(batchShape + [m, n])   // the GEMM (beta 0) writes every element
    let aBatch = left.tensor.expandedLayout(to: batchShape + [m, k])
    let bBatch = right.tensor.expandedLayout(to: batchShape + [k, n])
    let batchCount = batchShape.reduce(1, *)
    var batchOffsets: [(Int, Int)] = []
    batchOffsets.reserveCapacity(batchCount)
    forEachRow(shape: batchShape + [1], strides: [Array(aBatch.strides.dropLast(2)) + [0], Array(bBatch.strides.dropLast(2)) + [0]],
               offsets: [aBatch.offset, bBatch.offset]) { offsets, _ in batchOffsets.append((offsets[0], offsets[1])) }
    let c = output.storage.floats
    for (index, offsets) in batchOffsets.enumerated() {
        gemm(m: m, n: n, k: k, a: left.operand, aOffset: offsets.0, b: right.operand, bOffset: offsets.1,
             c: c + index * m * n)
    }
    return Tensor.record("matmul", output, inputs: [a, b]) { gradient in
        [a.requiresGradient ? matmul(gradient, b.detached().transposed()).summed(toShape: a.shape) : nil,
         b.requiresGradient ? matmul(a.detached().transposed(), gradient).summed(toShape: b.shape) : nil]
    }
}

/// Writes the 2-D product `a · b` (or adds it, when `accumulating`) into `output`, a contiguous
/// float32 `[M, N]` tensor that the caller owns, without allocating and without recording a
/// gradient. For benchmarks and for ops that reuse one buffer; everything else uses `matmul`.
///
/// ```swift
/// let output = Tensor.zeros([2048, 8])
/// matmul(x, loraDown.transposed(), into: output)   // x: [2048, 384], loraDown: [8, 384]
/// ```
public func matmul(_ a: Tensor, _ b: Tensor, into output: Tensor, accumulating: Bool = false) {
    precondition(a.rank == 2 && b.rank == 2 && a.shape[1] == b.shape[0],
                 "matmul(into:): needs [M, K] · [K, N], got \(a.shape) · \(b.shape)")
    precondition(output.shape == [a.shape[0], b.shape[1]] && output.isContiguous && output.dtype == .float32,
                 "matmul(into:): output \(output.shape) must be a contiguous float32 [\(a.shape[0]), \(b.shape[1])]")
    let left = operandLayout(a, rows: a.shape[0], columns: a.shape[1])
    let right = operandLayout(b, rows: b.shape[0], columns: b.shape[1])
    gemm(m: a.shape[0], n: b.shape[1], k: a.shape[1], a: left.operand, aOffset: left.tensor.offset,
         b: right.operand, bOffset: right.tensor.offset, c: output.storage.floats + output.offset,
         accumulate: accumulating)
}

/// The tensor (itself, or a contiguous copy) and its kernel description.
private func operandLayout(_ tensor: Tensor, rows: Int, columns: Int) -> (tensor: Tensor, operand: MatrixOperand) {
    let rank = tensor.rank
    if let operand = MatrixOperand(rows: rows, columns: columns, rowStride: tensor.strides[rank - 2],
                                   columnStride: tensor.strides[rank - 1], storage: tensor.storage) {
        return (tensor, operand)
    }
    let copy = Tensor.withoutGradient { tensor.contiguous() }
    return (copy, MatrixOperand(rows: rows, columns: columns, rowStride: columns, columnStride: 1, storage: copy.storage)!)
}

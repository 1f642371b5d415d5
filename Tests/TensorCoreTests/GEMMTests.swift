import Dispatch
import Foundation
import CKernels
import Testing
import TestSupport
@testable import TensorCore

/// Suites that force the kernels' CPU level nest in here.
@Suite(.serialized) enum CPULevelTests {}

/// The levels this machine can run, widest first (e.g. [3, 2, 0] with AVX-512).
let supportedCPULevels: [Int32] = {
    var levels: [Int32] = []
    for level: Int32 in [3, 2, 1, 0] {
        peft_set_cpu_level(level)
        if !levels.contains(peft_cpu_level()) { levels.append(peft_cpu_level()) }
    }
    peft_set_cpu_level(-1)
    return levels
}()

/// Runs `body` with the kernels forced to `level`, then restores start-up selection.
func withCPULevel<Result>(_ level: Int32, _ body: () throws -> Result) rethrows -> Result {
    peft_set_cpu_level(level)
    defer { peft_set_cpu_level(-1) }
    #expect(peft_cpu_level() == level)
    return try body()
}

/// A GEMM operand in storage: `values` are exactly what the kernel sees after widening.
struct StoredMatrix {
    let dtype: DType
    let isTransposed: Bool
    let leadingDimension: Int
    let values: [Float]
    let bytes: [UInt8]

    /// op(X) of shape [rows, columns]; stored transposed when `transposed`, with `padding`
    /// unused elements at the end of every stored row.
    init(rows: Int, columns: Int, dtype: DType, transposed: Bool, padding: Int, seed: UInt64) {
        let storedRows = transposed ? columns : rows
        leadingDimension = (transposed ? rows : columns) + padding
        self.dtype = dtype
        isTransposed = transposed
        let count = storedRows * leadingDimension
        var floats = Tensor.randomUniform([count], low: -1, high: 1, seed: seed).toArray()
        var halves = [UInt16](repeating: 0, count: count)
        switch dtype {
        case .float32:
            bytes = floats.withUnsafeBytes { Array($0) }
        case .float16:
            peft_f32_to_f16(floats, &halves, count)
            peft_f16_to_f32(halves, &floats, count)
            bytes = halves.withUnsafeBytes { Array($0) }
        case .bfloat16:
            peft_f32_to_bf16(floats, &halves, count)
            peft_bf16_to_f32(halves, &floats, count)
            bytes = halves.withUnsafeBytes { Array($0) }
        }
        values = floats
    }

    /// op(X)[row, column].
    func element(_ row: Int, _ column: Int) -> Double {
        Double(values[isTransposed ? column * leadingDimension + row : row * leadingDimension + column])
    }
}

/// One C = alpha op(A) op(B) + beta C case, checked against a double-precision reference.
struct GEMMCase: CustomStringConvertible {
    var m: Int, n: Int, k: Int
    var transposeA = false, transposeB = false
    var aType = DType.float32, bType = DType.float32
    var alpha: Float = 1.5, beta: Float = 0

    var description: String {
        "m \(m) n \(n) k \(k) trans \(transposeA)/\(transposeB) \(aType)·\(bType) alpha \(alpha) beta \(beta)"
    }

    /// The largest error of the kernel's C over its tolerance (passes at <= 1), with `multiply`
    /// computing C (leading dimension n + 3) from the operands.
    func worstError(seed: UInt64 = 1,
                    multiply: (StoredMatrix, StoredMatrix, UnsafeMutablePointer<Float>, Int) -> Void) -> Double {
        let a = StoredMatrix(rows: m, columns: k, dtype: aType, transposed: transposeA, padding: 3, seed: seed)
        let b = StoredMatrix(rows: k, columns: n, dtype: bType, transposed: transposeB, padding: 2, seed: seed + 1)
        let ldc = n + 3
        let initial = Tensor.randomUniform([m * ldc], low: -1, high: 1, seed: seed + 2).toArray()
        // With beta == 0 the kernel must not read C: NaN there would poison the result.
        var c = beta == 0 ? [Float](repeating: .nan, count: m * ldc) : initial
        for i in 0..<m { for j in n..<ldc { c[i * ldc + j] = 12345 } }
        c.withUnsafeMutableBufferPointer { multiply(a, b, $0.baseAddress!, ldc) }
        for i in 0..<m {
            for j in n..<ldc where c[i * ldc + j] != 12345 { return .infinity } // wrote past column n
        }
        // op(A) row-major and op(B)^T row-major in double, so the reference loop is a plain dot product.
        let left = (0..<m * k).map { a.element($0 / k, $0 % k) }
        let right = (0..<n * k).map { b.element($0 % k, $0 / k) }
        var worst = 0.0
        left.withUnsafeBufferPointer { left in
            right.withUnsafeBufferPointer { right in
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = 0.0, magnitude = 0.0
                        for p in 0..<k {
                            let product = left[i * k + p] * right[j * k + p]
                            sum += product
                            magnitude += Swift.abs(product)
                        }
                        let old = beta == 0 ? 0 : Double(beta) * Double(initial[i * ldc + j])
                        let expected = Double(alpha) * sum + old
                        let tolerance = 1e-6 * (Double(k) + 4) * (Double(Swift.abs(alpha)) * magnitude + Swift.abs(old) + 1e-3)
                        let error = Swift.abs(Double(c[i * ldc + j]) - expected)
                        worst = Swift.max(worst, error.isNaN ? .infinity : error / tolerance)
                    }
                }
            }
        }
        return worst
    }

    /// Checks the single-threaded C kernel.
    func kernelError() -> Double {
        worstError { a, b, c, ldc in
            a.bytes.withUnsafeBytes { aBytes in
                b.bytes.withUnsafeBytes { bBytes in
                    peft_gemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, alpha,
                              aBytes.baseAddress, a.dtype.kernelType, a.leadingDimension,
                              bBytes.baseAddress, b.dtype.kernelType, b.leadingDimension, beta, c, ldc)
                }
            }
        }
    }
}

extension CPULevelTests {
    @Suite struct GEMMTests {
        static let oddShapes: [(Int, Int, Int)] = [
            (1, 1, 1), (7, 17, 33), (17, 33, 7), (33, 7, 17), (100, 1, 257), (1, 100, 33),
            (257, 33, 100), (33, 8, 100), (17, 3, 40), (64, 16, 17), (5, 2, 16),
        ]

        @Test(arguments: supportedCPULevels)
        func everyTransposeAndOddSize(level: Int32) {
            withCPULevel(level) {
                for (index, (m, n, k)) in Self.oddShapes.enumerated() {
                    for transposeA in [false, true] {
                        for transposeB in [false, true] {
                            let beta: Float = index % 2 == 0 ? 0 : 0.5
                            let test = GEMMCase(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, beta: beta)
                            #expect(test.kernelError() <= 1, "\(test)")
                        }
                    }
                }
            }
        }

        /// Shapes that cross the K slice, the packed-B column block and the packed-A row block.
        @Test(arguments: supportedCPULevels)
        func blockBoundaries(level: Int32) {
            withCPULevel(level) {
                for test in [GEMMCase(m: 20, n: 40, k: 800, beta: 0.25),
                             GEMMCase(m: 3, n: 700, k: 384, transposeB: true),
                             GEMMCase(m: 700, n: 9, k: 384, transposeA: true, beta: -1),
                             GEMMCase(m: 9, n: 8, k: 1000, beta: 2)] {
                    #expect(test.kernelError() <= 1, "\(test)")
                }
            }
        }

        @Test(arguments: supportedCPULevels)
        func halfAndBrainFloatOperands(level: Int32) {
            withCPULevel(level) {
                for aType in DType.allCases {
                    for bType in DType.allCases {
                        for transpose in [false, true] {
                            for (m, n, k) in [(37, 45, 29), (33, 8, 70)] {
                                let test = GEMMCase(m: m, n: n, k: k, transposeA: transpose, transposeB: !transpose,
                                                    aType: aType, bType: bType, beta: transpose ? 0 : 1)
                                #expect(test.kernelError() <= 1, "\(test)")
                            }
                        }
                    }
                }
            }
        }

        @Test func zeroSizes() {
            var c: [Float] = [1, 2, 3, 4]
            let a: [Float] = [1], b: [Float] = [1]
            peft_gemm(0, 0, 2, 2, 0, 1, a, PEFT_DTYPE_F32, 1, b, PEFT_DTYPE_F32, 2, 0.5, &c, 2)
            #expect(c == [0.5, 1, 1.5, 2])
            peft_gemm(0, 0, 0, 2, 3, 1, a, PEFT_DTYPE_F32, 3, b, PEFT_DTYPE_F32, 2, 0, &c, 2)
            #expect(c == [0.5, 1, 1.5, 2])
        }

        /// A forced level and a scoped thread count belong to the thread that set them (tests
        /// run concurrently), and Parallel's workers inherit the caller's level.
        @Test func forcedSettingsStayOnTheirThread() {
            let lowest = supportedCPULevels.last!, detected = peft_cpu_level()
            withCPULevel(lowest) {
                Parallel.withThreadCount(2) {
                    let seenElsewhere = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
                    defer { seenElsewhere.deallocate() }
                    let address = Int(bitPattern: seenElsewhere), done = DispatchSemaphore(value: 0)
                    Thread {
                        UnsafeMutablePointer<Int32>(bitPattern: address)!.pointee = peft_cpu_level()
                        done.signal()
                    }.start()
                    done.wait()
                    #expect(seenElsewhere.pointee == detected)
                    var workerLevels = [Int32](repeating: -1, count: 4)
                    workerLevels.withUnsafeMutableBufferPointer { levels in
                        Parallel.forEach(4) { levels[$0] = peft_cpu_level() }
                    }
                    #expect(workerLevels == [Int32](repeating: lowest, count: 4))
                    #expect(Parallel.threadCount == 2)
                }
            }
            #expect(Parallel.threadCount == Parallel.defaultThreadCount)
        }

        /// The threaded driver splits rows (here also over several K slices, with a float16 B),
        /// columns, or nothing; each must match the reference.
        @Test(arguments: supportedCPULevels)
        func threadedSplits(level: Int32) {
            withCPULevel(level) {
                for threads in [2, 3] { Parallel.withThreadCount(threads) {
                    for test in [GEMMCase(m: 130, n: 97, k: 100, transposeA: true, alpha: 1, beta: 1),
                                 GEMMCase(m: 200, n: 70, k: 800, transposeB: true, bType: .float16, alpha: 1, beta: 1),
                                 GEMMCase(m: 300, n: 8, k: 450, alpha: 1),
                                 GEMMCase(m: 20, n: 300, k: 200, transposeB: true, alpha: 1, beta: 1)] {
                        let error = test.worstError { a, b, c, ldc in
                            // The Swift driver writes C with leading dimension n: compute there, copy out.
                            let output = Tensor.zeros([test.m, test.n])
                            if test.beta != 0 { for i in 0..<test.m { (output.storage.floats + i * test.n).update(from: c + i * ldc, count: test.n) } }
                            let aStorage = storage(of: a), bStorage = storage(of: b)
                            gemm(m: test.m, n: test.n, k: test.k,
                                 a: operand(a, rows: test.m, columns: test.k, storage: aStorage), aOffset: 0,
                                 b: operand(b, rows: test.k, columns: test.n, storage: bStorage), bOffset: 0,
                                 c: output.storage.floats, accumulate: test.beta != 0)
                            for i in 0..<test.m { (c + i * ldc).update(from: output.storage.floats + i * test.n, count: test.n) }
                        }
                        #expect(error <= 1, "\(test) threads \(threads)")
                    }
                } }
            }
        }

        private func storage(of matrix: StoredMatrix) -> Storage {
            let storage = Storage(count: matrix.bytes.count / matrix.dtype.byteSize, dtype: matrix.dtype)
            matrix.bytes.withUnsafeBytes { storage.bytes.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return storage
        }

        private func operand(_ matrix: StoredMatrix, rows: Int, columns: Int, storage: Storage) -> MatrixOperand {
            matrix.isTransposed
                ? MatrixOperand(rows: rows, columns: columns, rowStride: 1, columnStride: matrix.leadingDimension, storage: storage)!
                : MatrixOperand(rows: rows, columns: columns, rowStride: matrix.leadingDimension, columnStride: 1, storage: storage)!
        }
    }
}

@Suite struct MatmulViewTests {
    /// Reference product of two row-major float arrays.
    private func product(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
        (0..<m * n).map { index in
            let i = index / n, j = index % n
            return Float((0..<k).reduce(0.0) { $0 + Double(a[i * k + $1]) * Double(b[$1 * n + j]) })
        }
    }

    @Test func transposedViewsReachTheKernelWithoutCopies() {
        let a = Tensor.randomNormal([37, 29], seed: 1), b = Tensor.randomNormal([45, 37], seed: 2)
        let result = matmul(a.transposed(), b.transposed()) // [29, 37] · [37, 45]
        let expected = product(a.transposed().contiguous().toArray(), b.transposed().contiguous().toArray(), m: 29, k: 37, n: 45)
        #expect(isClose(result.toArray(), expected, relative: 1e-4))
    }

    @Test func narrowWeightsAreWidenedInsideTheKernel() {
        let x = Tensor.randomNormal([2, 19, 40], seed: 3)
        for dtype in [DType.float16, .bfloat16] {
            let weight = Tensor.randomNormal([24, 40], seed: 4).converted(to: dtype) // [C_out, C_in]
            let result = matmul(x, weight.transposed())                           // [2, 19, 24]
            let expected = product(x.toArray(), weight.converted(to: .float32).transposed().contiguous().toArray(),
                                   m: 38, k: 40, n: 24)
            #expect(result.shape == [2, 19, 24])
            #expect(isClose(result.toArray(), expected, relative: 1e-4))
        }
    }

    @Test func intoWritesAndAccumulates() {
        let a = Tensor.randomNormal([300, 64], seed: 5), b = Tensor.randomNormal([8, 64], seed: 6)
        let output = Tensor.zeros([300, 8])
        matmul(a, b.transposed(), into: output)
        let expected = product(a.toArray(), b.transposed().contiguous().toArray(), m: 300, k: 64, n: 8)
        #expect(isClose(output.toArray(), expected, relative: 1e-4))
        matmul(a, b.transposed(), into: output, accumulating: true)
        #expect(isClose(output.toArray(), expected.map { 2 * $0 }, relative: 1e-4))
    }
}

import Foundation
import TensorCore

/// Thin singular value decomposition W = U·diag(S)·Vᵀ of an [m, n] matrix by one-sided
/// (Hestenes) Jacobi rotations in double precision: columns are rotated pairwise until
/// orthogonal; their norms are the singular values. Plenty for the layer sizes PiSSA meets.
///
/// ```swift
/// let (u, s, vt) = singularValueDecomposition(weight)   // weight [m, n]: u [m, k], s [k], vt [k, n]
/// ```
func singularValueDecomposition(_ matrix: Tensor /* [m, n] */) -> (u: Tensor, s: [Float], vt: Tensor) {
    precondition(matrix.rank == 2, "singularValueDecomposition: expected a matrix, got shape \(matrix.shape)")
    let (m, n) = (matrix.shape[0], matrix.shape[1])
    if m < n {
        let (u, s, vt) = singularValueDecomposition(matrix.transposed())
        return (vt.transposed().contiguous(), s, u.transposed().contiguous())
    }
    // Column-major copies: g holds the columns being orthogonalised, v the accumulated rotations.
    let values = matrix.toArray()
    var g = [Double](repeating: 0, count: m * n)
    for row in 0..<m { for column in 0..<n { g[column * m + row] = Double(values[row * n + column]) } }
    var v = [Double](repeating: 0, count: n * n)
    for index in 0..<n { v[index * n + index] = 1 }

    for _ in 0..<60 {
        var rotated = false
        for p in 0..<(n - 1) {
            for q in (p + 1)..<n {
                var alpha = 0.0, beta = 0.0, gamma = 0.0
                for row in 0..<m {
                    let (x, y) = (g[p * m + row], g[q * m + row])
                    alpha += x * x
                    beta += y * y
                    gamma += x * y
                }
                guard abs(gamma) > 1e-15 * (alpha * beta).squareRoot(), gamma != 0 else { continue }
                rotated = true
                let zeta = (beta - alpha) / (2 * gamma)
                let t = (zeta >= 0 ? 1.0 : -1.0) / (abs(zeta) + (1 + zeta * zeta).squareRoot())
                let c = 1 / (1 + t * t).squareRoot(), s = c * t
                for row in 0..<m {
                    let (x, y) = (g[p * m + row], g[q * m + row])
                    g[p * m + row] = c * x - s * y
                    g[q * m + row] = s * x + c * y
                }
                for row in 0..<n {
                    let (x, y) = (v[p * n + row], v[q * n + row])
                    v[p * n + row] = c * x - s * y
                    v[q * n + row] = s * x + c * y
                }
            }
        }
        if !rotated { break }
    }

    let norms = (0..<n).map { column in (0..<m).reduce(0.0) { $0 + g[column * m + $1] * g[column * m + $1] }.squareRoot() }
    let order = (0..<n).sorted { norms[$0] > norms[$1] }
    var u = [Float](repeating: 0, count: m * n), vt = [Float](repeating: 0, count: n * n)
    for (rank, column) in order.enumerated() {
        let norm = norms[column]
        for row in 0..<m { u[row * n + rank] = norm > 0 ? Float(g[column * m + row] / norm) : 0 }
        for index in 0..<n { vt[rank * n + index] = Float(v[column * n + index]) }
    }
    return (Tensor(u, shape: [m, n]), order.map { Float(norms[$0]) }, Tensor(vt, shape: [n, n]))
}

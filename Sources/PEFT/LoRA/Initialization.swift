import TensorCore

/// LoRA factors at creation, as PEFT initialises them (`init_lora_weights`).
enum LoRAInitializer {
    /// Factors for a weight seen as [out, fanIn] (Linear; Conv2d with fanIn = C_in·kH·kW):
    /// A [r, fanIn], B [out, r]. PiSSA also returns the residual weight W − s·B·A.
    static func matrixFactors(weight: Tensor /* [out, fanIn] */, settings: LoRASettings,
                              generator: inout RandomGenerator) -> (a: Tensor, b: Tensor, residual: Tensor?) {
        let (out, fanIn, rank) = (weight.shape[0], weight.shape[1], settings.rank)
        // kaiming_uniform(a = sqrt 5) is U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
        func kaiming(_ shape: [Int], fanIn: Int, generator: inout RandomGenerator) -> Tensor {
            let bound = 1 / Float(fanIn).squareRoot()
            return Tensor.randomUniform(shape, low: -bound, high: bound, generator: &generator)
        }
        switch settings.initialization {
        case .standard:
            return (kaiming([rank, fanIn], fanIn: fanIn, generator: &generator), .zeros([out, rank]), nil)
        case .random:
            let a = kaiming([rank, fanIn], fanIn: fanIn, generator: &generator)
            return (a, kaiming([out, rank], fanIn: rank, generator: &generator), nil)
        case .gaussian:
            let a = Tensor.randomNormal([rank, fanIn], standardDeviation: 1 / Float(rank), generator: &generator)
            return (a, .zeros([out, rank]), nil)
        case .pissa:
            return pissa(weight: weight, rank: rank, scaling: settings.scaling)
        }
    }

    /// PiSSA: W = U S Vᵀ; A = sqrt(S_r / s) V_rᵀ, B = U_r sqrt(S_r / s), residual W − s·B·A.
    static func pissa(weight: Tensor /* [out, in] */, rank: Int, scaling: Float) -> (a: Tensor, b: Tensor, residual: Tensor?) {
        let (out, fanIn) = (weight.shape[0], weight.shape[1])
        precondition(rank <= min(out, fanIn), "PiSSA: rank \(rank) exceeds min of weight shape \(weight.shape)")
        let (u, s, vt) = singularValueDecomposition(weight)
        let roots = Tensor(s.prefix(rank).map { ($0 / scaling).squareRoot() }, shape: [rank])
        let a = (vt.sliced(axis: 0, 0..<rank) * roots.reshaped([rank, 1])).contiguous()   // [r, in]
        let b = (u.sliced(axis: 1, 0..<rank) * roots.reshaped([1, rank])).contiguous()    // [out, r]
        let residual = (weight - matmul(b, a) * scaling).contiguous()
        return (a, b, residual)
    }

    /// Embedding factors: A [r, V] zero and B [C, r] standard normal (both normal for `.random`).
    static func embeddingFactors(count: Int, dimensions: Int, settings: LoRASettings,
                                 generator: inout RandomGenerator) -> (a: Tensor, b: Tensor) {
        let a = settings.initialization == .random
            ? Tensor.randomNormal([settings.rank, count], generator: &generator) : Tensor.zeros([settings.rank, count])
        return (a, Tensor.randomNormal([dimensions, settings.rank], generator: &generator))
    }
}

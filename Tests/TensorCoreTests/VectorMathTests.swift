import CKernels
import Foundation
import Testing

extension CPULevelTests {
    /// The vectorised exp, tanh and erf against Foundation (libm), the row reductions against
    /// double precision, and the f16/bf16 conversions against the scalar reference, at every
    /// level this machine runs.
    @Suite struct VectorMathTests {
        /// Every 20011th float bit pattern (both signs, subnormals to infinities), a dense grid
        /// over [-12, 12] where the approximations switch branches, and edge cases.
        static let sweep: [Float] = {
            var values: [Float] = [0, -0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNormalMagnitude,
                                   .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 88.72283, 88.72284, 89,
                                   -87.33655, -87.5, -103.97, -103.98, -104, 0.625, -0.625, 0.99999994, 1, -1,
                                   4.5, -4.5, 3.92, 9.01, -9.02, 1e-20, -1e-30]
            var bits: UInt32 = 0
            while true {
                values.append(Float(bitPattern: bits))
                let (next, overflow) = bits.addingReportingOverflow(20011)
                if overflow { break }
                bits = next
            }
            values += (-12_000...12_000).map { Float($0) * 1e-3 }
            return values
        }()

        /// Error in units in the last place of `expected` (subnormal results: of the smallest
        /// subnormal); 0 when both are NaN.
        static func ulps(_ actual: Float, _ expected: Float) -> Float {
            if expected.isNaN { return actual.isNaN ? 0 : .infinity }
            if actual == expected { return 0 }
            if !actual.isFinite || !expected.isFinite { return .infinity }
            return Swift.abs(actual - expected) / Swift.max(expected.ulp, Float.leastNonzeroMagnitude)
        }

        static func worstULPs(_ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                              _ reference: (Float) -> Float) -> (ulps: Float, at: Float) {
            // An odd count exercises the vector tail.
            let inputs = Array(sweep.dropLast(sweep.count % 2 == 0 ? 1 : 0))
            var outputs = [Float](repeating: 0, count: inputs.count)
            kernel(inputs, &outputs, inputs.count)
            var worst: (ulps: Float, at: Float) = (0, 0)
            for (x, y) in zip(inputs, outputs) {
                let error = ulps(y, reference(x))
                if error > worst.ulps { worst = (error, x) }
            }
            return worst
        }

        @Test(arguments: supportedCPULevels)
        func expTanhErfMatchLibm(level: Int32) {
            withCPULevel(level) {
                let exp = Self.worstULPs({ peft_vexp($0, $1, $2) }) { Foundation.exp($0) }
                let tanh = Self.worstULPs({ peft_vtanh($0, $1, $2) }) { Foundation.tanh($0) }
                let erf = Self.worstULPs({ peft_verf($0, $1, $2) }) { Foundation.erf($0) }
                #expect(exp.ulps <= 3, "exp: \(exp.ulps) ulp at \(exp.at)")
                #expect(tanh.ulps <= 3, "tanh: \(tanh.ulps) ulp at \(tanh.at)")
                #expect(erf.ulps <= 3, "erf: \(erf.ulps) ulp at \(erf.at)")
            }
        }

        @Test func inPlaceAndShortInputs() {
            var values: [Float] = [-1, 0, 0.5, 2, 30]
            values.withUnsafeMutableBufferPointer { peft_vexp($0.baseAddress!, $0.baseAddress!, 3) }
            #expect(values[0] == Foundation.exp(-1) && values[1] == 1 && values[2] == Foundation.exp(0.5))
            #expect(values[3] == 2 && values[4] == 30)
        }

        /// The row reductions against double-precision loops, at every length from 0 to 100 (whole
        /// vectors, the four-accumulator loop and every tail): max, exp(x - shift) with its sum,
        /// sum and dot product.
        @Test(arguments: supportedCPULevels)
        func rowReductionsMatchDoublePrecision(level: Int32) {
            withCPULevel(level) {
                for count in 0...100 {
                    let x = (0..<count).map { Float(Foundation.sin(Double($0) * 1.7) * 5) }
                    let y = (0..<count).map { Float(Foundation.cos(Double($0) * 0.3)) }
                    let maximum = peft_vmax(x, count)
                    #expect(maximum == (x.max() ?? -.infinity), "max, count \(count)")
                    var exps = [Float](repeating: .nan, count: count)
                    let total = peft_vexp_shifted_sum(x, &exps, count, maximum)
                    let reference = x.map { Foundation.exp(Double($0) - Double(maximum)) }
                    #expect(Swift.abs(Double(total) - reference.reduce(0, +)) <= 1e-6 * Swift.max(1, reference.reduce(0, +)), "exp sum, count \(count)")
                    for (value, expected) in zip(exps, reference) { #expect(Swift.abs(Double(value) - expected) <= 1e-6 * expected) }
                    let magnitude = x.reduce(0.0) { $0 + Double(Swift.abs($1)) }
                    #expect(Swift.abs(Double(peft_vsum(x, count)) - x.reduce(0.0) { $0 + Double($1) }) <= 1e-6 * magnitude + 1e-7, "sum, count \(count)")
                    let dot = zip(x, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                    #expect(Swift.abs(Double(peft_vdot(x, y, count)) - dot) <= 1e-6 * magnitude + 1e-7, "dot, count \(count)")
                }
                // max skips NaN and sees -inf; exp(-inf - shift) is 0.
                let edges: [Float] = [.nan, -.infinity, 3, .nan, -2]
                #expect(peft_vmax(edges, edges.count) == 3)
                #expect(peft_vmax([Float](repeating: -.infinity, count: 20), 20) == -.infinity)
                var out = [Float](repeating: 1, count: 2)
                #expect(peft_vexp_shifted_sum([-.infinity, 0], &out, 2, 0) == 1 && out == [0, 1])
            }
        }

        @Test(arguments: supportedCPULevels)
        func halfConversionsMatchScalarReference(level: Int32) {
            let halves = (0...UInt16.max).map { $0 }
            let floats = Self.sweep
            var referenceWide = [Float](repeating: 0, count: halves.count)
            var referenceHalf = [UInt16](repeating: 0, count: floats.count)
            var referenceBrain = [UInt16](repeating: 0, count: floats.count)
            withCPULevel(0) {
                peft_f16_to_f32(halves, &referenceWide, halves.count)
                peft_f32_to_f16(floats, &referenceHalf, floats.count)
                peft_f32_to_bf16(floats, &referenceBrain, floats.count)
            }
            withCPULevel(level) {
                var wide = [Float](repeating: 0, count: halves.count)
                var half = [UInt16](repeating: 0, count: floats.count)
                var brain = [UInt16](repeating: 0, count: floats.count)
                peft_f16_to_f32(halves, &wide, halves.count - 3)
                peft_f32_to_f16(floats, &half, floats.count - 1)
                peft_f32_to_bf16(floats, &brain, floats.count - 1)
                let wideMismatches = (0..<halves.count - 3).filter {
                    wide[$0].bitPattern != referenceWide[$0].bitPattern && !(wide[$0].isNaN && referenceWide[$0].isNaN)
                }
                let halfMismatches = (0..<floats.count - 1).filter { half[$0] != referenceHalf[$0] && !floats[$0].isNaN }
                let brainMismatches = (0..<floats.count - 1).filter { brain[$0] != referenceBrain[$0] }
                #expect(wideMismatches.isEmpty, "f16 -> f32 differs at \(wideMismatches.prefix(4))")
                #expect(halfMismatches.isEmpty, "f32 -> f16 differs for \(halfMismatches.prefix(4).map { floats[$0] })")
                #expect(brainMismatches.isEmpty, "f32 -> bf16 differs for \(brainMismatches.prefix(4).map { floats[$0] })")
            }
        }

        @Test func brainFloatRoundsToNearestEven() {
            let inputs: [Float] = [1 + 1.0 / 256, 1 + 3.0 / 256, 1 + 1.0 / 512, .nan, .infinity]
            var output = [UInt16](repeating: 0, count: inputs.count)
            peft_f32_to_bf16(inputs, &output, inputs.count)
            #expect(Array(output.prefix(3)) == [0x3f80, 0x3f82, 0x3f80])
            #expect(output[3] & 0x7fc0 == 0x7fc0 && output[4] == 0x7f80)
        }
    }
}

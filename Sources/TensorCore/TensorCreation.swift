import CKernels
import Foundation

extension Tensor {
    /// A float32 tensor holding `values` in row-major order.
    public convenience init(_ values: [Float], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *),
                     "Tensor: \(values.count) values do not fill shape \(shape)")
        let storage = Storage(count: values.count)
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { storage.floats.update(from: base, count: values.count) }
        }
        self.init(storage: storage, shape: shape)
    }

    /// A 0-dimensional tensor.
    public convenience init(scalar: Float) {
        self.init([scalar], shape: [])
    }

    /// A contiguous float32 tensor whose storage is filled by `body` (count elements).
    static func filled(_ shape: [Int], _ body: (UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let count = shape.reduce(1, *)
        let storage = Storage(count: count)
        body(storage.floats, count)
        return Tensor(storage: storage, shape: shape)
    }

    public static func zeros(_ shape: [Int]) -> Tensor {
        Tensor(storage: Storage(count: shape.reduce(1, *)), shape: shape)
    }

    /// A float32 tensor whose elements are not cleared: only for op outputs that write every
    /// element before any is read.
    static func uninitialized(_ shape: [Int]) -> Tensor {
        Tensor(storage: Storage(uninitializedCount: shape.reduce(1, *)), shape: shape)
    }

    public static func ones(_ shape: [Int]) -> Tensor { full(shape, value: 1) }

    public static func full(_ shape: [Int], value: Float) -> Tensor {
        filled(shape) { pointer, count in pointer.update(repeating: value, count: count) }
    }

    /// 0, 1, ... count-1 (times `step`, plus `start`) as a 1-D tensor.
    public static func arange(_ count: Int, start: Float = 0, step: Float = 1) -> Tensor {
        filled([count]) { pointer, count in
            for index in 0..<count { pointer[index] = start + Float(index) * step }
        }
    }

    /// Samples from N(mean, std²) with a seeded generator.
    public static func randomNormal(_ shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
                                    generator: inout RandomGenerator) -> Tensor {
        filled(shape) { pointer, count in
            for index in 0..<count { pointer[index] = mean + standardDeviation * generator.nextNormal() }
        }
    }

    public static func randomNormal(_ shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
                                    seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        return randomNormal(shape, mean: mean, standardDeviation: standardDeviation, generator: &generator)
    }

    /// Samples from U[low, high) with a seeded generator.
    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                                     generator: inout RandomGenerator) -> Tensor {
        filled(shape) { pointer, count in
            for index in 0..<count { pointer[index] = low + (high - low) * generator.nextUniform() }
        }
    }

    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        return randomUniform(shape, low: low, high: high, generator: &generator)
    }

    /// The elements in row-major order, widened to float32.
    public func toArray() -> [Float] {
        let source = contiguous()
        return Array(UnsafeBufferPointer(start: source.storage.floats + source.offset, count: count))
    }

    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item: tensor of shape \(shape) has \(count) elements")
        return toArray()[0]
    }

    /// A copy whose storage is narrowed to `dtype` (rounding to nearest even).
    public func converted(to dtype: DType) -> Tensor {
        let source = contiguous()
        if dtype == .float32 { return source }
        let storage = Storage(count: count, dtype: dtype)
        let destination = storage.bytes.assumingMemoryBound(to: UInt16.self)
        let floats = source.storage.floats + source.offset
        switch dtype {
        case .float16: peft_f32_to_f16(floats, destination, count)
        case .bfloat16: peft_f32_to_bf16(floats, destination, count)
        case .float32: break
        }
        return Tensor(storage: storage, shape: shape)
    }
}

/// Walks every element of a strided layout in row-major order of `shape`, calling `body`
/// once per innermost row with the element offsets of each operand at the row's start.
/// Operands share `shape` and each have their own strides (0 for broadcast axes).
@inline(__always)
func forEachRow(shape: [Int], strides: [[Int]], offsets: [Int],
                _ body: (_ rowOffsets: UnsafeBufferPointer<Int>, _ rowLength: Int) -> Void) {
    let operandCount = strides.count
    var current = offsets
    guard !shape.contains(0) else { return }
    guard let rowLength = shape.last else {
        current.withUnsafeBufferPointer { body($0, 1) }
        return
    }
    let outerRank = shape.count - 1
    var index = [Int](repeating: 0, count: outerRank)
    let rows = shape.dropLast().reduce(1, *)
    for _ in 0..<rows {
        current.withUnsafeBufferPointer { body($0, rowLength) }
        // Advance the odometer over outer axes.
        var axis = outerRank - 1
        while axis >= 0 {
            index[axis] += 1
            for operand in 0..<operandCount { current[operand] += strides[operand][axis] }
            if index[axis] < shape[axis] { break }
            for operand in 0..<operandCount { current[operand] -= strides[operand][axis] * shape[axis] }
            index[axis] = 0
            axis -= 1
        }
    }
}

import Testing
import TensorCore
import TestSupport

@Suite struct IndexingTests {
    @Test func embeddingGathersRowsInShape() {
        let table = Tensor((0..<12).map(Float.init), shape: [4, 3])
        let output = embedding(table, indices: [3, 0, 3, 1], shape: [2, 2])
        #expect(output.shape == [2, 2, 3])
        #expect(output.toArray() == [9, 10, 11, 0, 1, 2, 9, 10, 11, 3, 4, 5])
    }

    @Test func embeddingWidensNarrowTablesAndReadsViews() {
        let table = Tensor.randomNormal([5, 4], seed: 1)
        for dtype in [DType.float16, .bfloat16] {
            let narrow = table.converted(to: dtype)
            #expect(embedding(narrow, indices: [4, 2], shape: [2]).toArray()
                == embedding(narrow.contiguous(), indices: [4, 2], shape: [2]).toArray())
        }
        let wide = Tensor.randomNormal([5, 6], seed: 2)
        let view = wide.sliced(axis: 1, 2..<6)
        #expect(embedding(view, indices: [1, 3], shape: [2]).toArray()
            == embedding(view.contiguous(), indices: [1, 3], shape: [2]).toArray())
        let transposedView = Tensor.randomNormal([4, 5], seed: 3).transposed()
        #expect(embedding(transposedView, indices: [0, 4], shape: [2]).toArray()
            == embedding(transposedView.contiguous(), indices: [0, 4], shape: [2]).toArray())
    }

    @Test func embeddingGradientScatterAddsRepeatedRows() {
        let table = Tensor.randomNormal([5, 3], seed: 4)
        #expect(gradientError(of: { embedding($0[0], indices: [1, 4, 1, 1, 0, 2], shape: [2, 3]) }, at: [table]) < 1e-3)
        let leaf = Tensor.zeros([3, 2]).requiringGradient()
        embedding(leaf, indices: [2, 2, 0], shape: [3]).sum().backward()
        #expect(leaf.grad!.toArray() == [1, 1, 0, 0, 2, 2])
    }

    @Test func outOfRangeIndexIsAPreconditionFailureNamingIndexAndRows() async throws {
        let result = try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = embedding(Tensor.zeros([3, 2]), indices: [0, 7], shape: [2])
        }
        let message = String(decoding: result.standardErrorContent, as: UTF8.self)
        #expect(message.contains("index 7 out of range for a table of 3 rows"))
    }

    @Test func indexSelectOnEveryAxis() {
        let x = Tensor((0..<24).map(Float.init), shape: [2, 3, 4])
        #expect(x.indexSelected(axis: 1, indices: [2, 0]).toArray()
            == [8, 9, 10, 11, 0, 1, 2, 3, 20, 21, 22, 23, 12, 13, 14, 15])
        #expect(x.indexSelected(axis: -1, indices: [3]).shape == [2, 3, 1])
        for axis in 0..<3 {
            #expect(gradientError(of: { $0[0].indexSelected(axis: axis, indices: [1, 0, 1]) }, at: [x]) < 1e-3)
        }
        let square = Tensor.randomNormal([4, 4], seed: 5)
        #expect(gradientError(of: { $0[0].transposed().indexSelected(axis: 0, indices: [3, 3, 1]) }, at: [square]) < 1e-3)
    }

    @Test func splitReturnsViewsWithGradients() {
        let x = Tensor((0..<12).map(Float.init), shape: [2, 6])
        let parts = x.split(sizes: [1, 2, 3], axis: 1)
        #expect(parts.map(\.shape) == [[2, 1], [2, 2], [2, 3]])
        #expect(parts[1].toArray() == [1, 2, 7, 8])
        #expect(parts[2].storage === x.storage)
        let thirds = x.split(count: 3, axis: -1)
        #expect(thirds.map { $0.toArray() } == [[0, 1, 6, 7], [2, 3, 8, 9], [4, 5, 10, 11]])
        #expect(gradientError(of: { $0[0].split(sizes: [2, 4], axis: 1)[1] * 2 + $0[0].split(count: 2, axis: 0)[0].sum() },
                              at: [x]) < 1e-3)
        #expect(concatenate(x.split(count: 2, axis: 1), axis: 1).toArray() == x.toArray())
    }
}

import Testing
import TensorCore
@testable import NN

@Suite struct InitializationTests {
    @Test func layersBuiltForLoadingSkipRandomDraws() {
        let skeleton = withoutParameterInitialization { Linear(inputDimensions: 4, outputDimensions: 3) }
        #expect(skeleton.weight.toArray().allSatisfy { $0 == 0 })
        let table = withoutParameterInitialization { Embedding(count: 5, dimensions: 2) }
        #expect(table.weight.toArray().allSatisfy { $0 == 0 })
        // Outside the scope layers are initialised as PyTorch does.
        let layer = Linear(inputDimensions: 4, outputDimensions: 3)
        #expect(layer.weight.toArray().contains { $0 != 0 })
        #expect(layer.weight.toArray().allSatisfy { abs($0) <= 0.5 })
    }
}

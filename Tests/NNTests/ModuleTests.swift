import Foundation
import Testing
import TensorCore
import TestSupport
@testable import NN

final class TwoLayer: Module, UnaryLayer {
    init(generator: inout RandomGenerator) {
        super.init()
        register("fc1", Linear(inputDimensions: 4, outputDimensions: 8, generator: &generator))
        register("fc2", Linear(inputDimensions: 8, outputDimensions: 2, generator: &generator))
    }

    func callAsFunction(_ x: Tensor) -> Tensor { layer("fc2")(layer("fc1")(x).relu()) }
}

@Suite struct ModuleTests {
    func makeModel() -> TwoLayer {
        var generator = RandomGenerator(seed: 1)
        return TwoLayer(generator: &generator)
    }

    @Test func pathsAreDottedInRegistrationOrder() {
        let model = makeModel()
        #expect(model.namedParameters().map(\.path) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
        #expect(model.parameterCounts().total == 4 * 8 + 8 + 8 * 2 + 2)
        #expect(model.namedModules().map(\.path) == ["", "fc1", "fc2"])
    }

    @Test func freezeByPatternLeavesOthersTrainable() {
        let model = makeModel()
        model.freeze()
        model.unfreeze(matching: #".*\.bias"#)
        #expect(model.trainableParameters().map(\.path) == ["fc1.bias", "fc2.bias"])
        let x = Tensor.randomNormal([3, 4], seed: 2)
        model(x).sum().backward()
        #expect(model.parameter(at: "fc1.weight").grad == nil)
        #expect(model.parameter(at: "fc1.bias").grad != nil)
    }

    @Test func stateDictRoundTripAndErrors() throws {
        let model = makeModel(), other = makeModel()
        var generator = RandomGenerator(seed: 9)
        let third = TwoLayer(generator: &generator)
        try third.load(stateDict: model.stateDict())
        let x = Tensor.randomNormal([2, 4], seed: 3)
        #expect(third(x).toArray() == model(x).toArray())
        var broken = other.stateDict()
        broken["fc1.weight"] = nil
        broken["extra"] = .zeros([1])
        #expect(throws: StateDictError.keysMismatch(missing: ["fc1.weight"], unexpected: ["extra"])) {
            try third.load(stateDict: broken)
        }
        var wrongShape = other.stateDict()
        wrongShape["fc2.bias"] = .zeros([3])
        #expect(throws: StateDictError.shapeMismatch(key: "fc2.bias", expected: [2], found: [3])) {
            try third.load(stateDict: wrongShape)
        }
    }

    @Test func replacingAModuleChangesTheForward() {
        let model = makeModel()
        let x = Tensor.randomNormal([2, 4], seed: 4)
        let before = model(x).toArray()
        model.replaceModule(at: "fc2", with: Sequential([Linear(inputDimensions: 8, outputDimensions: 2), Activation(.identity)]))
        #expect(model(x).toArray() != before)
        #expect(model.namedParameters().map(\.path).contains("fc2.0.weight"))
    }
}

extension Module {
    func parameter(at path: String) -> Tensor {
        namedParameters().first { $0.path == path }!.tensor
    }
}

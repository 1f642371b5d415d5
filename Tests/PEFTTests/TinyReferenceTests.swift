import Foundation
import Formats
import NN
import PEFT
import TensorCore
import Testing

/// Adapters saved by Python PEFT on tiny models (scripts/fixtures/peft_lora.py): loading them
/// reproduces PEFT's outputs and the gradients of every adapter tensor.
@Suite struct TinyReferenceTests {
    static let cases: [(name: String, isConvolution: Bool)] = [
        ("mlp_lora", false), ("mlp_rslora", false), ("mlp_dora", false), ("conv_lora", true), ("conv_dora", true),
    ]

    @Test(arguments: cases.map(\.name))
    func outputsAndGradientsMatchPEFT(name: String) throws {
        let fixture = try PeftFixture(name)
        let model: Module & UnaryLayer = name.hasPrefix("conv") ? TinyConv() : TinyMLP()
        try model.load(stateDict: try fixture.baseStateDict())
        let peft = try PeftModel.load(from: fixture.folder, into: model, isTrainable: true)
        model.setTraining(false)

        let output = model(try fixture.tensor("input"))
        #expect(maxAbsoluteDifferenceOf(output, try fixture.tensor("output")) < 1e-5, "\(name) output")
        (output * (try fixture.tensor("loss_weights"))).sum().backward()

        let adapterTensors = try peft.adapterStateDict()
        let expected = try fixture.gradients()
        #expect(Set(adapterTensors.keys) == Set(expected.keys))
        for (key, gradient) in expected {
            guard let actual = adapterTensors[key]?.grad else { Issue.record("\(name): no gradient for \(key)"); continue }
            #expect(relativeError(actual, gradient) < 1e-4, "\(name) gradient of \(key): \(relativeError(actual, gradient))")
        }
    }
}

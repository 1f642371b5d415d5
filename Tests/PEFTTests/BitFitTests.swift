import Foundation
import Formats
import Models
import NN
import PEFT
import TensorCore
import Testing
import TestSupport

@Suite struct BitFitTests {
    /// BitFit trains every bias of MiniLM (linear and LayerNorm), norm-only every LayerNorm.
    @Test(arguments: [ParameterSubset.biases, .normalization])
    func selectsByTypeAndPathOnMiniLM(subset: ParameterSubset) throws {
        guard let folder = try assetURL("all-MiniLM-L6-v2") else { return }
        let model = try BertModel.load(from: folder)
        let expected = model.namedParameters().filter { path, _ in
            subset == .biases ? path.hasSuffix(".bias") : path.contains("LayerNorm.")
        }
        let peft = try PeftModel(model: model, configuration: BitFitConfiguration(subset: subset))
        let trainable = model.trainableParameters()
        #expect(trainable.count == expected.count)
        #expect(peft.trainableParameterReport().trainable == expected.reduce(0) { $0 + $1.tensor.count })
        #expect(trainable.allSatisfy { $0.path.contains(".bitfit_delta.default.") })
        let keys = try peft.adapterStateDict().keys
        #expect(keys.contains(subset == .biases ? "base_model.model.encoder.layer.0.attention.self.query.bitfit_delta.bias"
                                                : "base_model.model.embeddings.LayerNorm.bitfit_delta.weight"))
    }

    /// Deltas on a convolution's bias broadcast over the channel axis; a target list restricts
    /// the modules.
    @Test func convolutionBiasAndTargetRestriction() throws {
        let model = TinyConv(seed: 3)
        let x = Tensor.randomNormal([1, 2, 6, 6], seed: 4)
        let base = model(x)
        let peft = try PeftModel(model: model, configuration: BitFitConfiguration(subset: .biases, targetModules: .names(["conv2"])))
        #expect(peft.adapterLayers.map(\.path) == ["conv2"])
        let delta = Tensor([1, 2, 3, 4, 5], shape: [5])
        model.replaceTensor(at: "conv2.bitfit_delta.default.bias", with: delta)
        let expected = base + delta.reshaped([-1, 1, 1])
        #expect(maxAbsoluteDifferenceOf(Tensor.withoutGradient { model(x) }, expected) < 1e-5)
    }
}

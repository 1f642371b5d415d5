import Foundation
import Testing
import TensorCore
import TestSupport
@testable import NN

@Suite struct LayerTests {
    struct BatchNormFixture: Decodable {
        let weight, bias, x1, x2, train_output, running_mean, running_var, eval_output: [Float]
    }

    @Test func batchNormMatchesPyTorchInTrainingAndEvaluation() throws {
        let fixture = try JSONDecoder().decode(BatchNormFixture.self, from: Data(contentsOf: fixtureURL("batchnorm.json")))
        let layer = BatchNorm2d(channels: 3, epsilon: 1e-3, momentum: 0.01)
        layer.replaceTensor(at: "weight", with: Tensor(fixture.weight, shape: [3]))
        layer.replaceTensor(at: "bias", with: Tensor(fixture.bias, shape: [3]))
        let x1 = Tensor(fixture.x1, shape: [2, 3, 4, 4]), x2 = Tensor(fixture.x2, shape: [2, 3, 4, 4])
        #expect(isClose(layer(x1).toArray(), fixture.train_output, relative: 1e-5))
        _ = layer(x2)
        #expect(isClose(layer.buffer("running_mean").toArray(), fixture.running_mean, relative: 1e-5))
        #expect(isClose(layer.buffer("running_var").toArray(), fixture.running_var, relative: 1e-5))
        #expect(layer.buffer("num_batches_tracked").item == 2)
        layer.setTraining(false)
        #expect(isClose(layer(x1).toArray(), fixture.eval_output, relative: 1e-5))
    }

    @Test func layersComputeWhatTheirFunctionsCompute() {
        var generator = RandomGenerator(seed: 5)
        let x = Tensor.randomNormal([2, 3, 6], generator: &generator)
        let norm = LayerNorm(dimensions: 6, epsilon: 1e-5)
        #expect(norm(x).toArray() == layerNorm(x, weight: .ones([6]), bias: .zeros([6]), epsilon: 1e-5).toArray())
        let rms = RMSNorm(dimensions: 6)
        #expect(rms(x).toArray() == rmsNorm(x, weight: .ones([6]), epsilon: 1e-6).toArray())
        let table = Embedding(count: 5, dimensions: 4, generator: &generator)
        let looked = table([4, 0, 4], shape: [3])
        #expect(looked.shape == [3, 4])
        #expect(Array(looked.toArray()[0..<4]) == Array(table.weight.toArray()[16..<20]))
        let conv = Conv2d(inputChannels: 4, outputChannels: 6, kernelSize: (3, 3), padding: (1, 1), groups: 2, generator: &generator)
        #expect(conv.weight.shape == [6, 2, 3, 3])
        let bound = 1 / Float(2 * 9).squareRoot()
        #expect(conv.weight.toArray().allSatisfy { abs($0) <= bound })
        #expect(conv(Tensor.randomNormal([1, 4, 5, 5], generator: &generator)).shape == [1, 6, 5, 5])
    }

    @Test func dropoutOnlyActsInTrainingAndIsReproducible() {
        let x = Tensor.ones([1000])
        let a = Dropout(probability: 0.5, seed: 1), b = Dropout(probability: 0.5, seed: 1)
        let first = a(x).toArray()
        #expect(first == b(x).toArray())
        #expect(Set(first) == [0, 2])
        a.setTraining(false)
        #expect(a(x).toArray() == x.toArray())
    }
}

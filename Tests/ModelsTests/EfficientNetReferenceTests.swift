import Foundation
import Testing
import Formats
import NN
import TensorCore
import TestSupport
@testable import Models

/// The checkpoint of EfficientNet-Lite0 in the asset cache, or nil when it is absent.
func efficientNetLite0URL() throws -> URL? {
    try assetURL("efficientnet-lite0/efficientnet-lite0-57934424.pth")
}

/// EfficientNet-Lite0 loaded from the real checkpoint, in evaluation mode.
func loadEfficientNetLite0() throws -> EfficientNet? {
    guard let url = try efficientNetLite0URL() else { return nil }
    let model = try EfficientNet.load(from: url)
    model.setTraining(false)
    return model
}

/// EfficientNet-Lite0 against the reference PyTorch port (scripts/fixtures/efficientnet.py),
/// fed the exact input tensor PyTorch saw.
@Suite struct EfficientNetReferenceTests {
    let fixture = try! SafetensorsFile(url: fixtureURL("efficientnet_lite0.safetensors"))

    @Test func stemMatchesPyTorch() throws {
        guard let model = try loadEfficientNetLite0() else { return }
        let input = try fixture.tensor("input").converted(to: .float32).sliced(axis: 0, 0..<1)
        let stem = Tensor.withoutGradient {
            model.layer("_bn0")(samePaddingConvolution(model, "_conv_stem", input, kernelSize: 3, stride: 2)).relu6()
        }
        let corner = stem.sliced(axis: 2, 0..<8).sliced(axis: 3, 0..<8)
        #expect(maxAbsoluteDifference(corner, try fixture.tensor("features_stem")) < 1e-4)
    }

    @Test func logitsMatchPyTorchOnTwoPhotos() throws {
        guard let model = try loadEfficientNetLite0() else { return }
        let input = try fixture.tensor("input").converted(to: .float32)
        let logits = Tensor.withoutGradient { model(input) }
        let expected = try fixture.tensor("logits")
        #expect(logits.shape == [2, 1000])
        let difference = maxAbsoluteDifference(logits, expected)
        #expect(difference < 1e-3, "max abs logit difference \(difference)")
        // china.jpg is a palace (698); flower.jpg a daisy (985).
        #expect(logits.argmax(axis: 1).toArray() == [698, 985])
    }

    @Test func logitsMatchPyTorchAtAnotherResolution() throws {
        guard let model = try loadEfficientNetLite0() else { return }
        let input = try fixture.tensor("input_112").converted(to: .float32)
        let logits = Tensor.withoutGradient { model(input) }
        let difference = maxAbsoluteDifference(logits, try fixture.tensor("logits_112"))
        #expect(difference < 1e-3, "max abs logit difference at 112 px \(difference)")
    }

    @Test func checkpointWithANewLabelSetKeepsTheBackboneAndAFreshHead() throws {
        guard let url = try efficientNetLite0URL() else { return }
        let model = try EfficientNet.load(from: url, configuration: .lite(0, classCount: 10))
        let reference = try EfficientNet.load(from: url)
        #expect(model.child("_fc", as: Linear.self).weight.shape == [10, 1280])
        let path = "_blocks.5._depthwise_conv.weight"
        #expect(maxAbsoluteDifference(model.stateDict()[path]!, reference.stateDict()[path]!) == 0)
    }
}

@Suite struct EfficientNetStructureTests {
    @Test(arguments: [(0, 16, 4_652_008, 320), (1, 21, 5_416_680, 320), (2, 21, 6_092_072, 352),
                      (3, 24, 8_197_096, 384), (4, 30, 13_006_568, 448)])
    func variantsHaveTheReferenceShapes(variant: Int, blocks: Int, parameters: Int, lastChannels: Int) {
        let configuration = EfficientNetConfiguration.lite(variant)
        #expect(configuration.blocks.count == blocks)
        #expect(configuration.blocks.last!.outputChannels == lastChannels)
        if variant <= 1 {   // building the larger ones only repeats the same code, slower
            #expect(EfficientNet(configuration: configuration).parameterCounts().total == parameters)
        }
    }

    @Test func pathsFollowTheReferenceStateDict() {
        let model = EfficientNet(configuration: .lite(0))
        let keys = Set(model.stateDict().keys)
        #expect(keys.count == 296)
        for key in ["_conv_stem.weight", "_bn0.running_var", "_blocks.0._depthwise_conv.weight",
                    "_blocks.0._project_conv.weight", "_blocks.15._expand_conv.weight", "_blocks.15._bn2.num_batches_tracked",
                    "_conv_head.weight", "_bn1.bias", "_fc.weight", "_fc.bias"] {
            #expect(keys.contains(key), "missing \(key)")
        }
        #expect(!keys.contains("_blocks.0._expand_conv.weight"))
    }

    @Test func replaceClassifierGivesANewHeadAndKeepsTheBackbone() {
        let model = EfficientNet(configuration: .lite(0))
        let stem = model.stateDict()["_conv_stem.weight"]!
        model.replaceClassifier(labelCount: 10)
        model.setTraining(false)
        #expect(model.stateDict()["_conv_stem.weight"]! === stem)
        let logits = Tensor.withoutGradient { model(Tensor.randomNormal([2, 3, 64, 64], seed: 1)) }
        #expect(logits.shape == [2, 10])
        #expect(model.configuration.classCount == 10)
    }

    @Test func samePaddingKeepsCeilOfSizeOverStride() {
        let model = EfficientNet(configuration: .lite(0))
        model.setTraining(false)
        for size in [33, 64, 97] {
            let features = Tensor.withoutGradient { model.features(Tensor.randomNormal([1, 3, size, size], seed: 2)) }
            let expected = (size + 31) / 32
            #expect(features.shape == [1, 1280, expected, expected], "input \(size)")
        }
    }

    @Test func trainingModeRunsDropConnectAndGradientsReachTheStem() {
        let model = EfficientNet(configuration: .lite(0, classCount: 3))
        let logits = model(Tensor.randomNormal([2, 3, 32, 32], seed: 3))
        crossEntropy(logits: logits, targets: [0, 2]).backward()
        #expect(model.child("_conv_stem", as: Conv2d.self).weight.grad != nil)
    }
}

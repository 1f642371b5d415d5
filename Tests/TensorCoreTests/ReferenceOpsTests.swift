import Foundation
import Testing
import TensorCore
import TestSupport

/// Agreement with PyTorch on the values in Fixtures/ops.json (written by scripts/fixtures/ops.py):
/// each case's output and its input gradients for the recorded upstream gradient.
@Suite struct ReferenceOpsTests {
    struct FixtureTensor: Decodable {
        let shape: [Int]
        let data: [Float]
        var tensor: Tensor { Tensor(data, shape: shape) }
    }

    struct FixtureCase: Decodable {
        let inputs: [String: FixtureTensor]
        let parameters: [String: Float]
        let output: FixtureTensor
        let gradients: [String: FixtureTensor]
    }

    static let caseNames = [
        "matmul", "matmul_batched", "matmul_broadcast", "softmax", "softmax_axis0", "log_softmax",
        "layer_norm", "rms_norm", "gelu", "gelu_tanh", "attention_padding", "attention_causal",
        "attention_causal_decoder", "cross_entropy", "cross_entropy_smoothing", "rotary",
    ]

    static func loadCases() throws -> [String: FixtureCase] {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try decoder.decode([String: FixtureCase].self, from: Data(contentsOf: fixtureURL("ops.json")))
    }

    @Test func everyFixtureCaseIsChecked() throws {
        #expect(try Set(Self.loadCases().keys) == Set(Self.caseNames))
    }

    @Test(arguments: caseNames) func matchesPyTorch(_ name: String) throws {
        let fixture = try #require(try Self.loadCases()[name])
        // Inputs with a recorded gradient become trainable leaves; the rest stay constants.
        var inputs: [String: Tensor] = [:]
        for (key, value) in fixture.inputs {
            inputs[key] = fixture.gradients[key] == nil ? value.tensor : value.tensor.requiringGradient()
        }
        let output = try Self.evaluate(name, inputs: inputs, parameters: fixture.parameters)
        #expect(output.shape == fixture.output.shape)
        #expect(isClose(output.toArray(), fixture.output.data, relative: 1e-5), "\(name): output differs from PyTorch")

        let upstream = try #require(fixture.inputs["grad_output"], "\(name): missing grad_output").tensor
        output.backward(upstream)
        for (key, expected) in fixture.gradients {
            let gradient = try #require(inputs[key]?.grad, "\(name): no gradient for \(key)")
            #expect(gradient.shape == expected.shape)
            #expect(isClose(gradient.toArray(), expected.data, relative: 1e-5), "\(name): gradient of \(key) differs from PyTorch")
        }
    }

    static func evaluate(_ name: String, inputs: [String: Tensor], parameters: [String: Float]) throws -> Tensor {
        func input(_ key: String) throws -> Tensor { try #require(inputs[key], "\(name): missing input \(key)") }
        func integers(_ key: String) throws -> [Int] { try input(key).toArray().map { Int($0) } }
        func parameter(_ key: String) throws -> Float { try #require(parameters[key], "\(name): missing parameter \(key)") }
        switch name {
        case "matmul", "matmul_batched", "matmul_broadcast":
            return matmul(try input("a"), try input("b"))
        case "softmax", "softmax_axis0":
            return try input("x").softmax(axis: Int(try parameter("axis")))
        case "log_softmax":
            return try input("x").logSoftmax(axis: Int(try parameter("axis")))
        case "layer_norm":
            return layerNorm(try input("x"), weight: try input("weight"), bias: try input("bias"),
                             epsilon: try parameter("epsilon"))
        case "rms_norm":
            return rmsNorm(try input("x"), weight: try input("weight"), epsilon: try parameter("epsilon"))
        case "gelu":
            return try input("x").gelu()
        case "gelu_tanh":
            return try input("x").gelu(approximate: true)
        case "attention_padding", "attention_causal", "attention_causal_decoder":
            return scaledDotProductAttention(query: try input("query"), key: try input("key"), value: try input("value"),
                                             mask: inputs["mask"], isCausal: try parameter("is_causal") == 1)
        case "cross_entropy", "cross_entropy_smoothing":
            return crossEntropy(logits: try input("logits"), targets: try integers("targets"),
                                ignoreIndex: Int(try parameter("ignore_index")),
                                labelSmoothing: try parameter("label_smoothing"))
        case "rotary":
            return applyRotaryEmbedding(try input("x"), positions: try integers("positions"), base: try parameter("theta"))
        default:
            Issue.record("\(name): no evaluation for this fixture case")
            return Tensor(scalar: 0)
        }
    }
}

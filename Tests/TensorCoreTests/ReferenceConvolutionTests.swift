import Foundation
import Testing
import TensorCore
import TestSupport

/// One case of Fixtures/conv.json, written by scripts/fixtures/conv.py (format documented there).
private struct ConvolutionFixture: Decodable {
    struct Array: Decodable {
        let shape: [Int]
        let data: [Float]
        var tensor: Tensor { Tensor(data, shape: shape) }
    }

    struct Parameters: Decodable {
        let op: String
        let stride: [Int]?
        let padding: [Int]?
        let dilation: [Int]?
        let groups: Int?
        let kernelSize: [Int]?
        let countIncludePad: Bool?
        let outputSize: [Int]?
    }

    let inputs: [String: Array]
    let params: Parameters
    let output: Array
    let upstream: Array
    let gradients: [String: Array]

    /// The input names in the order `evaluate` takes them.
    var inputNames: [String] { ["x", "weight", "bias"].filter { inputs[$0] != nil } }

    func evaluate(_ operands: [Tensor]) -> Tensor {
        func pair(_ values: [Int]?) -> (Int, Int) { (values![0], values![1]) }
        switch params.op {
        case "conv2d":
            return conv2d(operands[0], weight: operands[1], bias: operands.count > 2 ? operands[2] : nil,
                          stride: pair(params.stride), padding: pair(params.padding),
                          dilation: pair(params.dilation), groups: params.groups!)
        case "avg_pool2d":
            return avgPool2d(operands[0], kernelSize: pair(params.kernelSize), stride: pair(params.stride),
                             padding: pair(params.padding), countIncludePad: params.countIncludePad!)
        case "max_pool2d":
            return maxPool2d(operands[0], kernelSize: pair(params.kernelSize), stride: pair(params.stride),
                             padding: pair(params.padding), dilation: pair(params.dilation))
        case "adaptive_avg_pool2d":
            return adaptiveAvgPool2d(operands[0], outputSize: pair(params.outputSize))
        default:
            preconditionFailure("conv.json: unknown op \(params.op)")
        }
    }
}

@Suite struct ReferenceConvolutionTests {
    private static let fixtures: [String: ConvolutionFixture] = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode([String: ConvolutionFixture].self, from: Data(contentsOf: fixtureURL("conv.json")))
        } catch {
            preconditionFailure("Fixtures/conv.json: \(error); run scripts/fixtures/conv.py")
        }
    }()

    static let names: [String] = fixtures.keys.sorted()

    @Test func fixtureCoversEveryOp() {
        let ops = Set(Self.fixtures.values.map(\.params.op))
        #expect(ops == ["conv2d", "avg_pool2d", "max_pool2d", "adaptive_avg_pool2d"])
    }

    @Test(arguments: names) func outputsAndGradientsMatchPyTorch(_ name: String) throws {
        let fixture = try #require(Self.fixtures[name])
        let operands = fixture.inputNames.map { fixture.inputs[$0]!.tensor.requiringGradient() }
        let output = fixture.evaluate(operands)
        #expect(output.shape == fixture.output.shape)
        #expect(isClose(output.toArray(), fixture.output.data, relative: 1e-5), "\(name): output")
        output.backward(fixture.upstream.tensor)
        for (operandName, operand) in zip(fixture.inputNames, operands) {
            let expected = try #require(fixture.gradients[operandName])
            let gradient = try #require(operand.grad, "\(name): no gradient for \(operandName)")
            #expect(gradient.shape == expected.shape)
            #expect(isClose(gradient.toArray(), expected.data, relative: 1e-5), "\(name): gradient of \(operandName)")
        }
    }
}

import Foundation
import Formats
import NN
import TensorCore

/// Why an EfficientNet checkpoint cannot be loaded.
public enum EfficientNetLoadingError: Error, CustomStringConvertible, Equatable {
    case unsupportedFile(path: String)

    public var description: String {
        switch self {
        case let .unsupportedFile(path):
            "\(path): not an EfficientNet checkpoint format we read (expected a PyTorch .pth/.pt/.bin state_dict or .safetensors)"
        }
    }
}

extension EfficientNet {
    /// Builds a network for `configuration` and loads a checkpoint: a PyTorch zip state_dict
    /// (`efficientnet-lite0-57934424.pth`) or a safetensors file with the same keys. When
    /// `configuration.classCount` differs from the checkpoint's classifier, the classifier
    /// stays freshly initialised (as the reference's `load_fc=False`).
    ///
    /// ```swift
    /// let model = try EfficientNet.load(from: url)                                   // ImageNet
    /// let tuned = try EfficientNet.load(from: url, configuration: .lite(0, classCount: 10))
    /// ```
    public static func load(from url: URL, configuration: EfficientNetConfiguration = .lite(0)) throws -> EfficientNet {
        let model = EfficientNet(configuration: configuration)
        try model.loadWeights(stateDict: try readStateDict(url))
        return model
    }

    /// Loads the reference's keys. Batch-norm `num_batches_tracked` counters (int64 in PyTorch
    /// files) are read as float scalars. A classifier of the wrong size is skipped. Weights saved
    /// channels-last (as the reference checkpoint's convolutions are) are laid out row-major once
    /// here, not on every convolution call.
    public func loadWeights(stateDict: [String: Tensor]) throws {
        var weights = stateDict.mapValues { $0.isContiguous ? $0 : $0.contiguous() }
        for (key, tensor) in stateDict where key.hasSuffix("num_batches_tracked") {
            weights[key] = Tensor(tensor.toArray(), shape: [])
        }
        if let classifier = weights["_fc.weight"], classifier.shape[0] != configuration.classCount {
            weights["_fc.weight"] = nil
            weights["_fc.bias"] = nil
        }
        let hasClassifier = weights["_fc.weight"] != nil
        let (missing, unexpected) = try load(stateDict: weights, strict: false)
        let allowedMissing: Set<String> = hasClassifier ? [] : ["_fc.weight", "_fc.bias"]
        let unexplained = missing.filter { !allowedMissing.contains($0) }
        if !unexplained.isEmpty || !unexpected.isEmpty {
            throw StateDictError.keysMismatch(missing: unexplained, unexpected: unexpected)
        }
    }

    private static func readStateDict(_ url: URL) throws -> [String: Tensor] {
        switch url.pathExtension.lowercased() {
        case "safetensors": return try SafetensorsFile(url: url).tensors()
        case "pth", "pt", "bin": return try PyTorchStateDict(url: url).tensors()
        default: throw EfficientNetLoadingError.unsupportedFile(path: url.path)
        }
    }
}

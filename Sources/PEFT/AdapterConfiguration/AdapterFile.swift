import Foundation
import Formats
import NN
import TensorCore

/// A PEFT adapter folder: `adapter_config.json` and `adapter_model.safetensors`, with keys as
/// Python PEFT saves them (`base_model.model.<path>.lora_A.weight`).
///
/// ```swift
/// let file = try AdapterFile(folder: url)
/// for field in file.configuration.ignoredFields { print("ignored field: \(field)") }
/// ```
public struct AdapterFile {
    public static let configurationName = "adapter_config.json"
    public static let weightsName = "adapter_model.safetensors"
    /// Prefix of every saved key.
    public static let keyPrefix = "base_model.model."

    public let folder: URL
    public let configuration: any AdapterConfiguration
    /// Saved tensors by key.
    public let tensors: [String: Tensor]

    /// Reads both files; the configuration's `peft_type` picks the method.
    public init(folder: URL) throws {
        self.folder = folder
        let configurationURL = folder.appendingPathComponent(Self.configurationName)
        let json = try decodeJSONFile([String: JSONValue].self, from: configurationURL)
        let typeName = json["peft_type"]?.stringValue ?? ""
        guard let type = PeftType(rawValue: typeName) else {
            throw AdapterError.unsupportedMethod(file: configurationURL.path, peftType: typeName)
        }
        configuration = try type.makeConfiguration(json: json, file: configurationURL.path)
        tensors = try SafetensorsFile(url: folder.appendingPathComponent(Self.weightsName)).tensors()
    }

    public init(folder: URL, configuration: any AdapterConfiguration, tensors: [String: Tensor]) {
        self.folder = folder
        self.configuration = configuration
        self.tensors = tensors
    }

    /// Writes both files (atomically each), creating the folder.
    public func write() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(configuration.json)
        try data.write(to: folder.appendingPathComponent(Self.configurationName), options: .atomic)
        try SafetensorsWriter.write(tensors.mapValues { $0.contiguous() }, metadata: ["format": "pt"],
                                    to: folder.appendingPathComponent(Self.weightsName))
    }
}

extension PeftModel {
    /// The adapter's tensors under PEFT's saved keys (`base_model.model.<path>.lora_A.weight`),
    /// including `modules_to_save` copies and the biases its `bias` option trains.
    public func adapterStateDict(adapterName: String? = nil) throws -> [String: Tensor] {
        let name = adapterName ?? activeAdapter
        guard let configuration = configurations[name] else { throw AdapterError.unknownAdapter(name: name, known: adapterNames) }
        var result: [String: Tensor] = [:]
        let parameters = Dictionary(model.namedParameters().map { ($0.path, $0.tensor) }, uniquingKeysWith: { first, _ in first })
        for (path, key) in savedKeyMap(adapter: name, configuration: configuration) {
            result[AdapterFile.keyPrefix + key] = parameters[path]!
        }
        return result
    }

    /// Saved key (without prefix) -> in-memory path, for one adapter.
    func savedKeyMap(adapter: String, configuration: any AdapterConfiguration) -> [(path: String, key: String)] {
        adapterParameterPaths(adapter).map { ($0.path, $0.savedKey) }
            + configuration.extraTrainableParameterPaths(in: model).map { ($0, $0) }
    }

    /// Loads saved tensors into an existing adapter. Throws `keysMismatch` with the missing and
    /// unexpected keys, or `shapeMismatch` naming the module and both shapes.
    public func loadAdapterStateDict(_ tensors: [String: Tensor], adapterName: String? = nil, file: String = "state dict") throws {
        let name = adapterName ?? activeAdapter
        guard let configuration = configurations[name] else { throw AdapterError.unknownAdapter(name: name, known: adapterNames) }
        let expected = Dictionary(savedKeyMap(adapter: name, configuration: configuration).map { (AdapterFile.keyPrefix + $0.key, $0.path) },
                                  uniquingKeysWith: { first, _ in first })
        let missing = expected.keys.filter { tensors[$0] == nil }.sorted()
        let unexpected = tensors.keys.filter { expected[$0] == nil }.sorted()
        guard missing.isEmpty, unexpected.isEmpty else {
            throw AdapterError.keysMismatch(file: file, missing: missing, unexpected: unexpected)
        }
        let parameters = Dictionary(model.namedParameters().map { ($0.path, $0.tensor) }, uniquingKeysWith: { first, _ in first })
        for (key, path) in expected {
            let (current, loaded) = (parameters[path]!, tensors[key]!)
            guard current.shape == loaded.shape else {
                let module = path.split(separator: ".").prefix { !LoRALayer.adapterComponentNames.contains(String($0)) && $0 != "modules_to_save" }
                throw AdapterError.shapeMismatch(module: module.joined(separator: "."), key: key, expected: current.shape, found: loaded.shape)
            }
        }
        for (key, path) in expected {
            let loaded = tensors[key]!
            model.replaceTensor(at: path, with: loaded.dtype == .float32 ? loaded.copied() : loaded.converted(to: .float32))
        }
    }

    /// Writes `adapter_config.json` and `adapter_model.safetensors` for one adapter.
    public func save(to folder: URL, adapterName: String? = nil) throws {
        let name = adapterName ?? activeAdapter
        guard let configuration = configurations[name] else { throw AdapterError.unknownAdapter(name: name, known: adapterNames) }
        try AdapterFile(folder: folder, configuration: configuration, tensors: try adapterStateDict(adapterName: name)).write()
    }

    /// Adds the adapter saved in `folder` under `adapterName`.
    @discardableResult
    public func loadAdapter(from folder: URL, adapterName: String) throws -> AdapterFile {
        let file = try AdapterFile(folder: folder)
        try addAdapter(loading: file, adapterName: adapterName)
        return file
    }

    func addAdapter(loading file: AdapterFile, adapterName: String) throws {
        var generator = RandomGenerator(seed: 0)
        try addAdapter(adapterName, configuration: file.configuration.forLoading(), generator: &generator)
        configurations[adapterName] = file.configuration
        do {
            try loadAdapterStateDict(file.tensors, adapterName: adapterName,
                                     file: file.folder.appendingPathComponent(AdapterFile.weightsName).path)
        } catch {
            try? deleteAdapter(adapterName)
            throw error
        }
    }

    /// Wraps `model` with the adapter saved in `folder`, as `PeftModel.from_pretrained` does.
    /// The adapter is trainable only with `isTrainable` (PEFT loads for inference by default).
    public static func load(from folder: URL, into model: Module, adapterName: String = "default",
                            isTrainable: Bool = false) throws -> PeftModel {
        let file = try AdapterFile(folder: folder)
        var configuration = file.configuration
        configuration.inferenceMode = !isTrainable
        var generator = RandomGenerator(seed: 0)
        let peft = try PeftModel(model: model, configuration: configuration.forLoading(), adapterName: adapterName, generator: &generator)
        peft.configurations[adapterName] = configuration
        try peft.loadAdapterStateDict(file.tensors, adapterName: adapterName,
                                      file: folder.appendingPathComponent(AdapterFile.weightsName).path)
        peft.applyActiveAdapter()
        return peft
    }
}

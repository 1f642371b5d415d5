import ArgumentParser
import Formats
import Foundation
import Models
import NN
import PEFT
import TensorCore

/// A BERT-family model from a Hugging Face folder, optionally wrapped with a PEFT adapter.
/// The adapter decides the model class, so its saved paths match: a `SEQ_CLS` adapter, or one
/// whose keys lie under `bert.` or `classifier.` (PEFT saves no task type when `get_peft_model`
/// had none), gets `BertForSequenceClassification`; others the bare `BertModel`.
struct AdaptedModel {
    let root: Module
    let encoder: BertModel
    let configuration: BertConfiguration
    let peft: PeftModel?
    let adapter: AdapterFile?

    /// Loads the model and, when given, the adapter (trainable only with `isTrainable`, which
    /// also makes the trainable-parameter figures PEFT's `get_peft_model` would print).
    init(modelFolder: URL, adapterFolder: URL?, isTrainable: Bool = false) throws {
        let configuration = try BertConfiguration.load(from: modelFolder)
        self.configuration = configuration
        let adapter = try adapterFolder.map { try AdapterFile(folder: $0) }
        self.adapter = adapter
        if let adapter, Self.isSequenceClassification(adapter) {
            var generator = RandomGenerator(seed: 0)
            let labels = Self.classifierLabelCount(in: adapter) ?? configuration.labelCount ?? 2
            let classifier = BertForSequenceClassification(configuration: configuration, labelCount: labels, generator: &generator)
            try classifier.bert.loadWeights(from: modelFolder)
            root = classifier
            encoder = classifier.bert
        } else {
            let model = withoutParameterInitialization { BertModel(configuration: configuration) }
            try model.loadWeights(from: modelFolder)
            root = model
            encoder = model
        }
        let root = self.root
        peft = try adapterFolder.map { try PeftModel.load(from: $0, into: root, isTrainable: isTrainable) }
        root.setTraining(false)
    }

    private static func isSequenceClassification(_ adapter: AdapterFile) -> Bool {
        let prefix = AdapterFile.keyPrefix
        return adapter.configuration.taskType == "SEQ_CLS"
            || adapter.tensors.keys.contains { $0.hasPrefix(prefix + "bert.") || $0.hasPrefix(prefix + "classifier.") }
    }

    /// Rows of a saved classifier head (`...classifier.weight` [L, C]), if the adapter has one.
    private static func classifierLabelCount(in adapter: AdapterFile) -> Int? {
        adapter.tensors.first { $0.key.hasSuffix("classifier.weight") }?.value.shape.first
    }
}

/// `--adapter DIR`: a PEFT adapter folder (adapter_config.json + adapter_model.safetensors).
struct AdapterOptions: ParsableArguments {
    @Option(name: .long, help: "A PEFT adapter folder (adapter_config.json, adapter_model.safetensors).",
            completion: .directory)
    var adapter: String?

    var adapterURL: URL? { adapter.map { URL(fileURLWithPath: $0) } }

    func validate() throws {
        if let adapter { try Self.validateFolder(adapter) }
    }

    /// Checks that `adapter` is a folder with an adapter_config.json.
    static func validateFolder(_ adapter: String) throws {
        let config = URL(fileURLWithPath: adapter).appendingPathComponent(AdapterFile.configurationName)
        guard FileManager.default.fileExists(atPath: config.path) else {
            throw ValidationError("--adapter: \(adapter) has no \(AdapterFile.configurationName)")
        }
    }
}

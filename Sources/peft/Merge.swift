import ArgumentParser
import Formats
import Foundation
import Models
import PEFT

/// `peft merge`: folds an adapter into the base weights and writes a plain Hugging Face model
/// folder (config.json, model.safetensors, tokenizer files) that transformers loads.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge a PEFT adapter into its base model and write a Hugging Face model folder.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .long, help: "The PEFT adapter folder to merge.", completion: .directory) var adapter: String
    @Option(name: .long, help: "The folder to write (created; files in it are replaced).", completion: .directory)
    var output: String
    @Flag(help: "Print one JSON object with the results.") var json = false

    func validate() throws {
        try AdapterOptions.validateFolder(adapter)
        guard URL(fileURLWithPath: output).standardizedFileURL != modelOptions.modelURL.standardizedFileURL else {
            throw ValidationError("--output must differ from --model (the base model stays untouched)")
        }
    }

    func run() throws {
        let loaded = try AdaptedModel(modelFolder: modelOptions.modelURL, adapterFolder: URL(fileURLWithPath: adapter))
        guard let peft = loaded.peft else { return }
        let weights = try peft.mergedStateDict()
        let folder = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try SafetensorsWriter.write(weights.mapValues { $0.contiguous() }, metadata: ["format": "pt"],
                                    to: folder.appendingPathComponent("model.safetensors"))
        try writeConfiguration(of: loaded, to: folder)
        let copied = try copyTokenizerFiles(to: folder)
        if json {
            try printJSON(["output": folder.path, "tensors": weights.count,
                           "parameters": weights.values.reduce(0) { $0 + $1.count }, "copied": copied])
        } else {
            print("merged \(adapter) into \(modelOptions.model): \(weights.count) tensors written to \(folder.path)")
        }
    }

    /// config.json of the merged model: the base config, with the task head's class and labels.
    private func writeConfiguration(of loaded: AdaptedModel, to folder: URL) throws {
        let source = modelOptions.modelURL.appendingPathComponent("config.json")
        guard var object = try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any] else {
            throw ValidationError("\(source.path): not a JSON object")
        }
        if let classifier = loaded.root as? BertForSequenceClassification {
            object["architectures"] = ["BertForSequenceClassification"]
            let labels = (0..<classifier.labelCount).map { "LABEL_\($0)" }
            object["id2label"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { (String($0.offset), $0.element) })
            object["label2id"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) })
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: folder.appendingPathComponent("config.json"), options: .atomic)
    }

    private func copyTokenizerFiles(to folder: URL) throws -> [String] {
        let names = ["tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]
        var copied: [String] = []
        for name in names {
            let source = modelOptions.modelURL.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: source.path) else { continue }
            let destination = folder.appendingPathComponent(name)
            try? FileManager.default.removeItem(at: destination)
            try FileManager.default.copyItem(at: source, to: destination)
            copied.append(name)
        }
        return copied
    }
}

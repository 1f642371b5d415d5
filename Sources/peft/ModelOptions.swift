import ArgumentParser
import Foundation

/// `--model DIR`: a Hugging Face model folder.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "A Hugging Face model folder (config.json, model.safetensors, tokenizer.json or vocab.txt).",
            completion: .directory)
    var model: String

    var modelURL: URL { URL(fileURLWithPath: model) }

    func validate() throws { try Self.validateFolder(model) }

    /// Checks that `model` is a folder with a config.json.
    static func validateFolder(_ model: String) throws {
        let modelURL = URL(fileURLWithPath: model)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory) else {
            throw ValidationError("--model: no such folder: \(model)")
        }
        guard isDirectory.boolValue else { throw ValidationError("--model: \(model) is a file; expected a model folder") }
        guard FileManager.default.fileExists(atPath: modelURL.appendingPathComponent("config.json").path) else {
            throw ValidationError("--model: \(model) has no config.json")
        }
    }
}

import Formats
import Foundation
import Models

/// A decoder language model and its tokenizer from a GGUF file (LLaMA family; the tokenizer
/// from its metadata) or a Hugging Face folder (config.json, model.safetensors, tokenizer.json;
/// LLaMA family or GPT-2 by `model_type`).
///
/// ```swift
/// let (model, tokenizer) = try loadDecoder(from: URL(fileURLWithPath: "SmolLM2-135M-Instruct.Q4_1.gguf"))
/// let logits = model(ids: tokenizer.encode("To be, or not to be"))   // [1, T, V]
/// ```
public func loadDecoder(from url: URL) throws -> (model: any CausalLanguageModel, tokenizer: ByteLevelBPETokenizer) {
    guard FileManager.default.fileExists(atPath: url.path) else { throw DataError.missingFile(file: url.path) }
    if url.pathExtension.lowercased() == "gguf" {
        let file = try GGUFFile(url: url)
        return (try LlamaModel.load(gguf: file), try ByteLevelBPETokenizer(ggufMetadata: file.metadata))
    }
    let tokenizer = try ByteLevelBPETokenizer(folder: url)
    let configuration = url.appendingPathComponent("config.json")
    guard FileManager.default.fileExists(atPath: configuration.path) else { throw DataError.missingFile(file: configuration.path) }
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: configuration)) as? [String: Any]
    switch object?["model_type"] as? String {
    case "gpt2": return (try GPT2Model.load(from: url), tokenizer)
    case "llama", "mistral", "qwen2", "smollm", nil: return (try LlamaModel.load(from: url), tokenizer)
    case let other?: throw DecoderLoadingError.unsupportedArchitecture(file: configuration.path, found: other)
    }
}

import ArgumentParser
import Formats
import Foundation
import Models
import PEFT
import TensorCore
import Training

/// `peft generate`: text generation with a decoder (LLaMA family from GGUF or a Hugging Face
/// folder, GPT-2 from a folder), streaming tokens as they come.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text with a decoder language model, streaming tokens as they come.",
        discussion: """
        --model is a GGUF file (LLaMA family, e.g. SmolLM2-135M-Instruct.Q4_1.gguf; the tokenizer \
        comes from its metadata) or a Hugging Face folder (config.json, model.safetensors, \
        tokenizer.json). Greedy decoding unless --temperature is above 0.
        """)

    @Option(name: .long, help: "A GGUF file or a Hugging Face model folder.", completion: .file())
    var model: String
    @OptionGroup var adapterOptions: AdapterOptions
    @Option(name: .long, help: "The prompt text.") var prompt: String
    @Flag(help: "Wrap the prompt as a user message in the model's chat template (ChatML).") var chat = false
    @Option(name: .long, help: "Tokens to generate at most (1-4096).") var maxTokens = 64
    @Option(name: .long, help: "Sampling temperature; 0 is greedy (0-10).") var temperature: Float = 0
    @Option(name: .long, help: "Sample among the k most likely tokens only.") var topK: Int?
    @Option(name: .long, help: "Sample among the most likely tokens whose probabilities add up to p (0-1].") var topP: Float?
    @Option(name: .long, help: "Seed of the sampler.") var seed: UInt64 = 0
    @Option(name: .long, help: "Extra stop token ids (repeatable); the end-of-sequence token always stops.")
    var stopToken: [Int] = []
    @Flag(help: "Print one JSON object with the prompt, the text and the token ids instead of streaming.") var json = false

    func validate() throws {
        guard FileManager.default.fileExists(atPath: model) else { throw ValidationError("--model: no such file or folder: \(model)") }
        guard (1...4096).contains(maxTokens) else { throw ValidationError("--max-tokens must be 1-4096, got \(maxTokens)") }
        guard (0...10).contains(temperature) else { throw ValidationError("--temperature must be 0-10, got \(temperature)") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1, got \(topK)") }
        if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must lie in (0, 1], got \(topP)") }
        try adapterOptions.validate()
    }

    func run() throws {
        let (decoder, tokenizer) = try loadDecoder(from: URL(fileURLWithPath: model))
        if let adapter = adapterOptions.adapterURL { _ = try PeftModel.load(from: adapter, into: decoder) }
        decoder.setTraining(false)
        var text = prompt
        if chat {
            let template = tokenizer.chatTemplate.flatMap(ChatMLTemplate.init(jinja:)) ?? ChatMLTemplate()
            text = template.render([ChatMessage(role: "user", content: prompt)], addGenerationPrompt: true)
        }
        let promptIDs = tokenizer.encode(text, addSpecialTokens: !chat)
        var stops = Set(stopToken)
        if let eos = tokenizer.eosTokenID { stops.insert(eos) }
        if chat, let end = tokenizer.id(for: "<|im_end|>") { stops.insert(end) }
        var sampler = Sampler(temperature: temperature, topK: topK, topP: topP, seed: seed)

        var printed = ""
        if !json { FileHandle.standardOutput.write(Data((chat ? prompt + "\n" : prompt).utf8)) }
        var generatedIDs: [Int] = []
        let start = Date()
        let result = generate(model: decoder, prompt: promptIDs, maximumNewTokens: maxTokens, stopTokens: stops,
                              sampler: &sampler) { token in
            generatedIDs.append(token)
            guard !json else { return true }
            // Decode everything so far and print what is new: a character may span several tokens.
            let decoded = tokenizer.decode(generatedIDs.filter { !stops.contains($0) }, skipSpecialTokens: true)
            if decoded.hasPrefix(printed), !decoded.hasSuffix("\u{FFFD}") {
                FileHandle.standardOutput.write(Data(decoded.dropFirst(printed.count).utf8))
                printed = decoded
            }
            return true
        }
        let seconds = Date().timeIntervalSince(start)
        let completion = tokenizer.decode(result.tokens.filter { !stops.contains($0) }, skipSpecialTokens: true)
        if json {
            try printJSON(["prompt": prompt, "text": completion, "prompt_tokens": promptIDs, "tokens": result.tokens,
                           "stop_reason": "\(result.stopReason)", "seconds": seconds])
        } else {
            if completion.count > printed.count { FileHandle.standardOutput.write(Data(completion.dropFirst(printed.count).utf8)) }
            FileHandle.standardOutput.write(Data("\n".utf8))
            let rate = Double(result.tokens.count) / max(seconds, 1e-9)
            FileHandle.standardError.write(Data(String(format: "[%d tokens, %.1f tokens/s, stop: %@]\n",
                                                       result.tokens.count, rate, "\(result.stopReason)").utf8))
        }
    }
}

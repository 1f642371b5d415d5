import Foundation

/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable, Codable {
    /// "system", "user" or "assistant".
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// The ChatML conversation format (SmolLM2-Instruct, Qwen2, OpenHermes): each message as
/// `<|im_start|>role\ncontent<|im_end|>\n`, an optional default system message when the
/// conversation has none, and `<|im_start|>assistant\n` to prompt a reply. A small formatter for
/// this one family, not a Jinja engine; `init?(jinja:)` recognises the family's templates.
///
/// ```swift
/// let template = ChatMLTemplate.smolLM2
/// template.render([ChatMessage(role: "user", content: "Hi!")], addGenerationPrompt: true)
/// // "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
/// // + "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"
/// ```
public struct ChatMLTemplate: Sendable, Equatable {
    /// Put first when the first message is not a system message; nil for none.
    public var defaultSystemPrompt: String?

    public init(defaultSystemPrompt: String? = nil) {
        self.defaultSystemPrompt = defaultSystemPrompt
    }

    /// SmolLM2-Instruct's template (its GGUF's `tokenizer.chat_template`).
    public static let smolLM2 = ChatMLTemplate(defaultSystemPrompt: "You are a helpful AI assistant named SmolLM, trained by Hugging Face")

    /// The ChatML template a Jinja `chat_template` spells, with the default system prompt it
    /// writes when the conversation starts without one; nil when the template is not ChatML.
    public init?(jinja: String) {
        guard jinja.contains("<|im_start|>"), jinja.contains("<|im_end|>"), jinja.contains("message['content']") || jinja.contains("message.content") else {
            return nil
        }
        let opening = "<|im_start|>system"
        guard let start = jinja.range(of: opening + "\n") ?? jinja.range(of: opening + "\\n"),
              let end = jinja.range(of: "<|im_end|>", range: start.upperBound..<jinja.endIndex)
        else {
            self.init()
            return
        }
        let prompt = String(jinja[start.upperBound..<end.lowerBound])
        // A literal system prompt, not an expression that prints the system message.
        guard !prompt.contains("{{"), !prompt.contains("'") else {
            self.init()
            return
        }
        self.init(defaultSystemPrompt: prompt.replacingOccurrences(of: "\\n", with: "\n"))
    }

    /// The prompt text of `messages`, ending with `<|im_start|>assistant\n` when `addGenerationPrompt`.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var text = ""
        if let defaultSystemPrompt, let first = messages.first, first.role != "system" {
            text += "<|im_start|>system\n\(defaultSystemPrompt)<|im_end|>\n"
        }
        for message in messages {
            text += "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n"
        }
        if addGenerationPrompt { text += "<|im_start|>assistant\n" }
        return text
    }
}

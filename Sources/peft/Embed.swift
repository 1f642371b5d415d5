import ArgumentParser
import Formats
import Foundation
import Models
import TensorCore

/// `peft embed`: sentence embeddings (masked mean pooling, L2-normalised), as
/// sentence-transformers computes them for all-MiniLM-L6-v2.
struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute sentence embeddings with a BERT-style encoder.",
        discussion: """
        Texts come from --text (repeatable) and/or --input (one text per line). Without --output the \
        embeddings are printed, one row per line; --output FILE writes .json, .safetensors (tensor \
        "embeddings") or, for any other extension, tab-separated rows.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .long, help: "A text to embed (repeatable).") var text: [String] = []
    @Option(name: .long, help: "A UTF-8 file with one text per line.", completion: .file()) var input: String?
    @Option(name: .long, help: "Write the embeddings to this file instead of printing them.", completion: .file())
    var output: String?
    @Option(name: .long, help: "Texts per forward pass (1-4096).") var batchSize = 32
    @Option(name: .long, help: "Tokens per text, including [CLS] and [SEP] (2-512).") var maxLength = 256
    @Flag(help: "Print {\"embeddings\": [[...], ...]} as JSON.") var json = false

    func validate() throws {
        guard !text.isEmpty || input != nil else { throw ValidationError("give at least one --text or an --input file") }
        guard (1...4096).contains(batchSize) else { throw ValidationError("--batch-size must be 1-4096, got \(batchSize)") }
        guard (2...512).contains(maxLength) else { throw ValidationError("--max-length must be 2-512, got \(maxLength)") }
    }

    func run() throws {
        var texts = text
        if let input { texts += try readLines(input) }
        let folder = modelOptions.modelURL
        let model = try BertModel.load(from: folder)
        model.setTraining(false)
        let tokenizer = try WordPieceTokenizer(folder: folder)
        var rows: [[Float]] = []
        for start in stride(from: 0, to: texts.count, by: batchSize) {
            let chunk = Array(texts[start..<min(start + batchSize, texts.count)])
            let batch = TokenBatch(tokenizer.encodeBatch(chunk, maxLength: maxLength, padding: .longest))
            let embeddings = Tensor.withoutGradient { sentenceEmbeddings(model, batch) }   // [B, C]
            let values = embeddings.toArray(), width = embeddings.shape[1]
            rows += (0..<chunk.count).map { Array(values[$0 * width..<($0 + 1) * width]) }
        }
        if let output {
            try write(rows, to: URL(fileURLWithPath: output))
            if json { try printJSON(["output": output, "count": rows.count, "dimensions": rows.first?.count ?? 0]) }
            else { print("wrote \(rows.count) embeddings of \(rows.first?.count ?? 0) dimensions to \(output)") }
        } else if json {
            try printJSON(["embeddings": rows])
        } else {
            for row in rows { print(row.map { String(format: "%.6f", $0) }.joined(separator: " ")) }
        }
    }

    private func readLines(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("--input: cannot read \(path)")
        }
        guard let content = String(data: data, encoding: .utf8) else {
            throw ValidationError("--input: \(path) is not valid UTF-8")
        }
        return content.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline).map(String.init)
    }

    private func write(_ rows: [[Float]], to url: URL) throws {
        switch url.pathExtension {
        case "json":
            let data = try JSONSerialization.data(withJSONObject: ["embeddings": rows])
            try data.write(to: url, options: .atomic)
        case "safetensors":
            let tensor = Tensor(rows.flatMap { $0 }, shape: [rows.count, rows.first?.count ?? 0])
            try SafetensorsWriter.write(["embeddings": tensor], to: url)
        default:
            let text = rows.map { $0.map { String($0) }.joined(separator: "\t") }.joined(separator: "\n") + "\n"
            try Data(text.utf8).write(to: url, options: .atomic)
        }
    }
}

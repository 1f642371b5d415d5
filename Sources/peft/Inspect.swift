import ArgumentParser
import Formats
import Foundation

/// `peft inspect --model DIR`: architecture, parameters per module, dtypes and bytes, read from
/// config.json and the safetensors header (no weights are loaded).
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model's architecture, parameter count per module, dtypes and bytes.")

    @OptionGroup var modelOptions: ModelOptions
    @Flag(help: "Print one JSON object instead of tables.") var json = false

    func run() throws {
        let folder = modelOptions.modelURL
        let configuration = try BertConfiguration.load(from: folder)
        let file = try SafetensorsFile(url: folder.appendingPathComponent("model.safetensors"))

        var modules: [String: (parameters: Int, bytes: Int)] = [:]
        var order: [String] = []
        var dtypes: [String: Int] = [:]
        var totalParameters = 0, totalBytes = 0
        for name in file.names {
            guard let info = file.info(name) else { continue }
            let count = info.shape.reduce(1, *)
            let group = moduleGroup(of: name)
            if modules[group] == nil { order.append(group) }
            modules[group, default: (0, 0)].parameters += count
            modules[group, default: (0, 0)].bytes += info.byteRange.count
            dtypes[info.dtype.rawValue, default: 0] += count
            totalParameters += count
            totalBytes += info.byteRange.count
        }
        let architecture: [String: Any] = [
            "model_type": configuration.modelType,
            "architectures": configuration.architectures ?? [],
            "layers": configuration.hiddenLayerCount,
            "hidden_size": configuration.hiddenSize,
            "attention_heads": configuration.attentionHeadCount,
            "intermediate_size": configuration.intermediateSize,
            "vocabulary_size": configuration.vocabularySize,
            "max_positions": configuration.maximumPositionCount,
            "activation": configuration.hiddenActivation,
        ]
        if json {
            try printJSON([
                "model": folder.path,
                "architecture": architecture,
                "modules": order.map { ["name": $0, "parameters": modules[$0]!.parameters, "bytes": modules[$0]!.bytes] },
                "dtypes": dtypes,
                "parameters": totalParameters,
                "bytes": totalBytes,
            ] as [String: Any])
            return
        }
        print("model: \(folder.path)")
        print("architecture: \(configuration.modelType) (\((configuration.architectures ?? []).joined(separator: ", "))), "
            + "\(configuration.hiddenLayerCount) layers, hidden \(configuration.hiddenSize), "
            + "\(configuration.attentionHeadCount) heads, intermediate \(configuration.intermediateSize), "
            + "vocabulary \(formatCount(configuration.vocabularySize)), activation \(configuration.hiddenActivation)")
        print("")
        print(formatTable(["module", "parameters", "bytes"], order.map {
            [$0, formatCount(modules[$0]!.parameters), formatBytes(modules[$0]!.bytes)]
        } + [["total", formatCount(totalParameters), formatBytes(totalBytes)]]))
        print("")
        print("dtypes: " + dtypes.sorted { $0.key < $1.key }.map { "\($0.key) \(formatCount($0.value))" }.joined(separator: ", "))
    }

    /// Groups a tensor path by module: `encoder.layer.3.attention.self.query.weight` -> `encoder.layer.3`,
    /// `embeddings.word_embeddings.weight` -> `embeddings`.
    private func moduleGroup(of name: String) -> String {
        let parts = name.split(separator: ".")
        if let index = parts.firstIndex(where: { Int($0) != nil }) { return parts[...index].joined(separator: ".") }
        return parts.count > 1 ? String(parts[0]) : name
    }
}

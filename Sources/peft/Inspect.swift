import ArgumentParser
import Formats
import Foundation
import PEFT

/// `peft inspect --model DIR`: architecture, parameters per module, dtypes and bytes, read from
/// config.json and the safetensors header (no weights are loaded). `--adapter DIR` shows an
/// adapter's configuration and, with `--model`, the modules it targets and PEFT's
/// trainable-parameter figures.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model's architecture, parameters per module, dtypes and bytes, and/or an adapter.")

    @Option(name: .long, help: "A Hugging Face model folder.", completion: .directory) var model: String?
    @OptionGroup var adapterOptions: AdapterOptions
    @Flag(help: "Print one JSON object instead of tables.") var json = false

    func validate() throws {
        guard model != nil || adapterOptions.adapter != nil else { throw ValidationError("give --model, --adapter or both") }
        if let model { try ModelOptions.validateFolder(model) }
    }

    func run() throws {
        var result: [String: Any] = [:]
        if let model { result["model"] = try inspectModel(URL(fileURLWithPath: model)) }
        if let adapter = adapterOptions.adapterURL {
            result["adapter"] = try inspectAdapter(adapter, modelFolder: model.map { URL(fileURLWithPath: $0) })
        }
        if json { try printJSON(result) }
    }

    private func inspectModel(_ folder: URL) throws -> [String: Any] {
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
        let summary: [String: Any] = [
            "path": folder.path,
            "architecture": architecture,
            "modules": order.map { ["name": $0, "parameters": modules[$0]!.parameters, "bytes": modules[$0]!.bytes] },
            "dtypes": dtypes,
            "parameters": totalParameters,
            "bytes": totalBytes,
        ]
        if json { return summary }
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
        return summary
    }

    private func inspectAdapter(_ folder: URL, modelFolder: URL?) throws -> [String: Any] {
        let file = try AdapterFile(folder: folder)
        let configuration = file.configuration
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let fields = try configuration.json.mapValues { String(decoding: try encoder.encode($0), as: UTF8.self) }
        var summary: [String: Any] = [
            "path": folder.path,
            "peft_type": configuration.peftType.rawValue,
            "task_type": configuration.taskType ?? "",
            "ignored_fields": configuration.ignoredFields,
            "saved_tensors": file.tensors.count,
            "saved_parameters": file.tensors.values.reduce(0) { $0 + $1.count },
        ]
        var targeted: [String] = []
        var report: TrainableParameterReport?
        if let modelFolder {
            let peft = try AdaptedModel(modelFolder: modelFolder, adapterFolder: folder, isTrainable: true).peft!
            targeted = peft.adapterLayers.map(\.path)
            report = peft.trainableParameterReport()
            summary["targeted_modules"] = targeted
            summary["trainable_parameters"] = report!.trainable
            summary["all_parameters"] = report!.total
            summary["trainable_percent"] = report!.percentage
        }
        if json { return summary }
        print("adapter: \(folder.path) (\(configuration.peftType.rawValue)\(configuration.taskType.map { ", task \($0)" } ?? ""))")
        print(formatTable(["field", "value"], fields.sorted { $0.key < $1.key }.map { [$0.key, $0.value] }))
        if !configuration.ignoredFields.isEmpty {
            print("ignored fields (kept in the file, not used): \(configuration.ignoredFields.joined(separator: ", "))")
        }
        print("saved: \(file.tensors.count) tensors, \(formatCount(summary["saved_parameters"] as! Int)) parameters")
        if let report {
            print("targeted modules (\(targeted.count)): \(targeted.joined(separator: ", "))")
            print(report.description)
        }
        return summary
    }

    /// Groups a tensor path by module: `encoder.layer.3.attention.self.query.weight` -> `encoder.layer.3`,
    /// `embeddings.word_embeddings.weight` -> `embeddings`.
    private func moduleGroup(of name: String) -> String {
        let parts = name.split(separator: ".")
        if let index = parts.firstIndex(where: { Int($0) != nil }) { return parts[...index].joined(separator: ".") }
        return parts.count > 1 ? String(parts[0]) : name
    }
}

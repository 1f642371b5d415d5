import Foundation

extension ByteLevelBPETokenizer {
    /// Loads Hugging Face's `tokenizer.json` for a byte-level BPE model: `model.type` BPE (merges
    /// as `"a b"` strings or `[a, b]` pairs, `byte_fallback`, `ignore_merges`, `unk_token`), a
    /// `ByteLevel` pre-tokenizer alone or in a `Sequence` after `Split` (GPT-2, LLaMA-3 or Qwen2
    /// regex, `Isolated`) or `Digits`, `added_tokens`, a `TemplateProcessing`/`ByteLevel`
    /// post-processor and a `ByteLevel` decoder. Anything else is reported as unsupported.
    ///
    /// ```swift
    /// let tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: folder.appendingPathComponent("tokenizer.json"))
    /// ```
    public init(tokenizerJSON url: URL) throws(ByteLevelBPEError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .malformed(source: url.path, reason: "cannot read: \(error.localizedDescription)") }
        try self.init(tokenizerJSONData: data, source: url.path)
    }

    /// Loads `tokenizer.json` from `folder`, then `bos_token`, `eos_token`, `pad_token` and the
    /// chat template from `tokenizer_config.json` and `chat_template.jinja` where present.
    public init(folder: URL) throws(ByteLevelBPEError) {
        try self.init(tokenizerJSON: folder.appendingPathComponent("tokenizer.json"))
        let configURL = folder.appendingPathComponent("tokenizer_config.json")
        if let data = try? Data(contentsOf: configURL) {
            guard let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw .malformed(source: configURL.path, reason: "not a JSON object")
            }
            func tokenID(_ key: String) -> Int? {
                let value = config[key]
                let content = (value as? String) ?? ((value as? [String: Any])?["content"] as? String)
                return content.flatMap { id(for: $0) }
            }
            bosTokenID = tokenID("bos_token")
            eosTokenID = tokenID("eos_token")
            padTokenID = tokenID("pad_token")
            chatTemplate = config["chat_template"] as? String
        }
        if let template = try? String(contentsOf: folder.appendingPathComponent("chat_template.jinja"), encoding: .utf8) {
            chatTemplate = template
        }
    }

    init(tokenizerJSONData data: Data, source: String) throws(ByteLevelBPEError) {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .malformed(source: source, reason: "not a JSON object")
        }
        let reader = JSONReader(source: source)
        let model = try reader.object(root, "model")
        let type = model["type"] as? String ?? "BPE"
        guard type == "BPE" else { throw .unsupported(source: source, key: "model.type", value: type) }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let affix = model[key] as? String, !affix.isEmpty { throw .unsupported(source: source, key: "model.\(key)", value: affix) }
        }
        guard let rawVocabulary = model["vocab"] as? [String: Any] else {
            throw .missingKey(source: source, key: "model.vocab", expected: "an object of token ids")
        }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(rawVocabulary.count)
        for (token, id) in rawVocabulary {
            guard let id = id as? Int else { throw .missingKey(source: source, key: "model.vocab.\(token)", expected: "an integer id") }
            vocabulary[token] = id
        }
        let merges = try reader.merges(model["merges"])
        var addedTokens: [ByteLevelBPETokenizer.AddedToken] = []
        for entry in root["added_tokens"] as? [Any] ?? [] { addedTokens.append(try reader.addedToken(entry)) }
        let normalization = try reader.normalization(root["normalizer"])
        let steps = try reader.preTokenizerSteps(root["pre_tokenizer"], key: "pre_tokenizer")
        try reader.checkDecoder(root["decoder"], key: "decoder")
        let allIDs = vocabulary.merging(addedTokens.map { ($0.content, $0.id) }) { model, _ in model }
        let template = try reader.template(root["post_processor"], key: "post_processor", ids: allIDs)
        try self.init(vocabulary: vocabulary, merges: merges, addedTokens: addedTokens,
                      preTokenizer: ByteLevelPreTokenizer(steps: steps), normalization: normalization, template: template,
                      ignoresMerges: model["ignore_merges"] as? Bool ?? false, byteFallback: model["byte_fallback"] as? Bool ?? false,
                      unknownToken: model["unk_token"] as? String, fusesUnknown: model["fuse_unk"] as? Bool ?? false)
    }
}

/// Reads the components of a `tokenizer.json`, naming the file and key in every error.
private struct JSONReader {
    let source: String

    func object(_ value: Any?, _ key: String) throws(ByteLevelBPEError) -> [String: Any] {
        guard let object = value as? [String: Any] else {
            throw .missingKey(source: source, key: key, expected: "an object")
        }
        return object
    }

    func object(_ parent: [String: Any], _ key: String) throws(ByteLevelBPEError) -> [String: Any] {
        try object(parent[key], key)
    }

    func merges(_ value: Any?) throws(ByteLevelBPEError) -> [(String, String)] {
        guard let list = value as? [Any] else { throw .missingKey(source: source, key: "model.merges", expected: "a list") }
        var merges: [(String, String)] = []
        merges.reserveCapacity(list.count)
        for (rank, entry) in list.enumerated() {
            if let text = entry as? String, let space = text.firstIndex(of: " ") {
                merges.append((String(text[..<space]), String(text[text.index(after: space)...])))
            } else if let pair = entry as? [String], pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else {
                throw .missingKey(source: source, key: "model.merges.\(rank)", expected: "\"a b\" or [\"a\", \"b\"]")
            }
        }
        return merges
    }

    func addedToken(_ value: Any) throws(ByteLevelBPEError) -> ByteLevelBPETokenizer.AddedToken {
        guard let entry = value as? [String: Any], let id = entry["id"] as? Int, let content = entry["content"] as? String else {
            throw .missingKey(source: source, key: "added_tokens", expected: "objects with 'id' and 'content'")
        }
        let isSpecial = entry["special"] as? Bool ?? false
        return .init(id: id, content: content, isSpecial: isSpecial, isNormalized: entry["normalized"] as? Bool ?? !isSpecial,
                     stripsLeft: entry["lstrip"] as? Bool ?? false, stripsRight: entry["rstrip"] as? Bool ?? false,
                     isSingleWord: entry["single_word"] as? Bool ?? false)
    }

    func normalization(_ value: Any?) throws(ByteLevelBPEError) -> ByteLevelBPETokenizer.Normalization {
        guard let component = value as? [String: Any] else { return .none }
        switch component["type"] as? String {
        case "NFC": return .nfc
        case "Sequence":
            var parts: [ByteLevelBPETokenizer.Normalization] = []
            for part in component["normalizers"] as? [Any] ?? [] where try normalization(part) != .none { parts.append(.nfc) }
            if parts.count <= 1 { return parts.first ?? .none }
        default: break
        }
        throw .unsupported(source: source, key: "normalizer", value: component["type"] as? String ?? "?")
    }

    func preTokenizerSteps(_ value: Any?, key: String) throws(ByteLevelBPEError) -> [ByteLevelPreTokenizer.Step] {
        let component = try object(value, key)
        let type = component["type"] as? String ?? "?"
        switch type {
        case "Sequence":
            var steps: [ByteLevelPreTokenizer.Step] = []
            for (index, part) in (component["pretokenizers"] as? [Any] ?? []).enumerated() {
                steps += try preTokenizerSteps(part, key: "\(key).pretokenizers.\(index)")
            }
            return steps
        case "ByteLevel":
            let prefix: [ByteLevelPreTokenizer.Step] = component["add_prefix_space"] as? Bool ?? false ? [.addPrefixSpace] : []
            return prefix + (component["use_regex"] as? Bool ?? true ? [.split(.gpt2)] : [])
        case "Digits":
            return [.splitDigits(individually: component["individual_digits"] as? Bool ?? false)]
        case "Split":
            let pattern = component["pattern"] as? [String: Any]
            let regex = pattern?["Regex"] as? String ?? "?"
            let behavior = component["behavior"] as? String ?? "?"
            guard behavior == "Isolated", component["invert"] as? Bool != true else {
                throw .unsupported(source: source, key: "\(key).behavior", value: behavior)
            }
            guard let split = ByteLevelSplitPattern(regex: regex) else { throw .unsupported(source: source, key: "\(key).pattern", value: regex) }
            return [.split(split)]
        default:
            throw .unsupported(source: source, key: "\(key).type", value: type)
        }
    }

    func checkDecoder(_ value: Any?, key: String) throws(ByteLevelBPEError) {
        guard let component = value as? [String: Any] else { return }
        let type = component["type"] as? String ?? "?"
        switch type {
        case "ByteLevel": return
        case "Sequence":
            for (index, part) in (component["decoders"] as? [Any] ?? []).enumerated() { try checkDecoder(part, key: "\(key).decoders.\(index)") }
        default:
            throw .unsupported(source: source, key: "\(key).type", value: type)
        }
    }

    /// The single-sequence template: special-token ids before and after `$A`.
    func template(_ value: Any?, key: String, ids: [String: Int]) throws(ByteLevelBPEError) -> ByteLevelBPETokenizer.Template {
        guard let component = value as? [String: Any] else { return .init() }
        let type = component["type"] as? String ?? "?"
        switch type {
        case "ByteLevel":
            return .init()
        case "Sequence":
            var result = ByteLevelBPETokenizer.Template()
            for (index, part) in (component["processors"] as? [Any] ?? []).enumerated() {
                let inner = try template(part, key: "\(key).processors.\(index)", ids: ids)
                result.prefix = inner.prefix + result.prefix
                result.suffix += inner.suffix
            }
            return result
        case "TemplateProcessing":
            let specials = component["special_tokens"] as? [String: Any] ?? [:]
            var result = ByteLevelBPETokenizer.Template()
            var seenSequence = false
            for piece in component["single"] as? [Any] ?? [] {
                let piece = piece as? [String: Any] ?? [:]
                if piece["Sequence"] != nil {
                    seenSequence = true
                } else if let special = piece["SpecialToken"] as? [String: Any], let name = special["id"] as? String {
                    let tokenIDs = (specials[name] as? [String: Any])?["ids"] as? [Int] ?? ids[name].map { [$0] }
                    guard let tokenIDs else { throw .missingToken(source: source, token: name) }
                    if seenSequence { result.suffix += tokenIDs } else { result.prefix += tokenIDs }
                }
            }
            return result
        default:
            throw .unsupported(source: source, key: "\(key).type", value: type)
        }
    }
}

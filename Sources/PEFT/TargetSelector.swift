import Foundation
import NN

/// Which modules a method adapts, as PEFT's `target_modules` / `exclude_modules` fields say:
/// a string is a regular expression that must match the whole module path, a list matches a
/// path equal to an entry or ending in "." + entry.
public enum ModuleSelection: Equatable, Sendable {
    case pattern(String)
    case names([String])

    /// PEFT's shorthand for every linear layer except the output head.
    public static let allLinear = ModuleSelection.pattern("all-linear")

    var isAllLinear: Bool { if case let .pattern(text) = self { text.lowercased() == "all-linear" } else { false } }

    func matches(_ path: String) -> Bool {
        switch self {
        case let .pattern(expression): fullMatch(expression, path)
        case let .names(names): names.contains { path == $0 || path.hasSuffix("." + $0) }
        }
    }

    var json: JSONValue {
        switch self {
        case let .pattern(text): .string(text)
        case let .names(names): .array(names.map(JSONValue.string))
        }
    }

    init?(json: JSONValue) {
        if let text = json.stringValue { self = .pattern(text); return }
        guard let items = json.arrayValue else { return nil }
        let names = items.compactMap(\.stringValue)
        guard names.count == items.count else { return nil }
        self = .names(names)
    }
}

/// PEFT's `check_target_module_exists`: targets, exclusions, `modules_to_save` (never adapted)
/// and `layers_to_transform` with `layers_pattern`.
///
/// ```swift
/// let selector = TargetSelector(targetModules: .names(["query", "value"]))
/// selector.matches("bert.encoder.layer.0.attention.self.query") // true
/// ```
public struct TargetSelector: Equatable, Sendable {
    public var targetModules: ModuleSelection?
    public var excludeModules: ModuleSelection?
    public var layersToTransform: [Int]?
    public var layersPattern: [String]?
    public var modulesToSave: [String]?

    public init(targetModules: ModuleSelection?, excludeModules: ModuleSelection? = nil, layersToTransform: [Int]? = nil,
                layersPattern: [String]? = nil, modulesToSave: [String]? = nil) {
        self.targetModules = targetModules
        self.excludeModules = excludeModules
        self.layersToTransform = layersToTransform
        self.layersPattern = layersPattern
        self.modulesToSave = modulesToSave
    }

    /// Whether the module at `path` is a target (before "all-linear" is resolved to names).
    public func matches(_ path: String) -> Bool {
        if let excludeModules, excludeModules.matches(path) { return false }
        if let modulesToSave, modulesToSave.contains(where: { partialMatch("(^|.*\\.)\($0)($|\\..*)", path) }) { return false }
        guard let targetModules else { return false }
        switch targetModules {
        case .pattern:
            return targetModules.matches(path)
        case let .names(names):
            if names.contains(path) { return true }
            guard targetModules.matches(path) else { return false }
            guard let layersToTransform, !layersToTransform.isEmpty else { return true }
            guard let index = layerIndex(of: path) else { return false }
            return layersToTransform.contains(index)
        }
    }

    /// The first numbered path component after `layers_pattern` (or after any component when
    /// no pattern is given), as PEFT finds the layer index.
    func layerIndex(of path: String) -> Int? {
        let patterns = (layersPattern?.isEmpty ?? true) ? [nil] : layersPattern!.map(Optional.some)
        for pattern in patterns {
            let expression = pattern.map { "(?:^|.*?\\.)\($0)\\.(\\d+)\\." } ?? ".*?\\.[^.]*\\.(\\d+)\\."
            if let index = firstCapture(expression, path).flatMap(Int.init) { return index }
        }
        return nil
    }

    /// The paths this selector adapts in `model`, in tree order. "all-linear" becomes every
    /// `Linear` except the output head: a root child `lm_head`, or for `SEQ_CLS` the root child
    /// `score` or `classifier` (PEFT's rule). Modules inside adapter layers are never targets.
    public func targetPaths(in model: Module, taskType: String? = nil) -> [String] {
        var candidates: [(String, Module)] = []
        var adapterPrefixes: [String] = []
        for (path, module) in model.namedModules() where !path.isEmpty {
            if adapterPrefixes.contains(where: { path.hasPrefix($0 + ".") }) { continue }
            if module is any AdapterLayer { adapterPrefixes.append(path) }
            candidates.append((path, module))
        }
        var selector = self
        if targetModules?.isAllLinear == true {
            var excluded: Set<String> = []
            if model.child("lm_head") != nil { excluded.insert("lm_head") }
            else if taskType == "SEQ_CLS", let head = ["score", "classifier"].first(where: { model.child($0) != nil }) {
                excluded.insert(head)
            }
            let linear = candidates.filter { path, module in
                !excluded.contains(path) && (module is Linear || (module as? any AdapterLayer)?.baseLayer is Linear)
            }
            selector.targetModules = .names(linear.map(\.0))
        }
        return candidates.map(\.0).filter { selector.matches($0) }
    }
}

private func fullMatch(_ pattern: String, _ text: String) -> Bool {
    partialMatch("^(?:\(pattern))$", text)
}

/// Python's `re.match`: anchored at the start only.
private func partialMatch(_ pattern: String, _ text: String) -> Bool {
    guard let expression = try? NSRegularExpression(pattern: pattern) else { return false }
    let range = NSRange(text.startIndex..., in: text)
    return expression.firstMatch(in: text, options: [.anchored], range: range) != nil
}

private func firstCapture(_ pattern: String, _ text: String) -> String? {
    guard let expression = try? NSRegularExpression(pattern: pattern),
          let match = expression.firstMatch(in: text, options: [.anchored], range: NSRange(text.startIndex..., in: text)),
          let range = Range(match.range(at: 1), in: text) else { return nil }
    return String(text[range])
}

/// PEFT's `get_pattern_key`: a key of a `rank_pattern` / `alpha_pattern` that matches the end of
/// `path` at a component boundary. JSON objects carry no order here, so where several keys
/// match, the longest (most specific) wins; PEFT takes the first in file order.
func patternKey(_ keys: [String], matching path: String) -> String? {
    keys.sorted { ($0.count, $1) > ($1.count, $0) }.first { partialMatch("(.*\\.)?(\($0))$", path) }
}

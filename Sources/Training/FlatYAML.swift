import Foundation

/// The flat subset of YAML a training configuration needs: `key: value` lines, `#` comments,
/// scalars (integers, numbers, true/false, null, plain or quoted strings), and lists written
/// `[a, b]` or as `- item` lines under a key. Nested maps are an error naming the line.
///
/// ```swift
/// try FlatYAML.parse("epochs: 3\ntarget_modules: [query, value]\n", file: "run.yaml")
/// // ["epochs": 3, "target_modules": ["query", "value"]]
/// ```
enum FlatYAML {
    static func parse(contentsOf url: URL) throws -> [String: Any] {
        guard let text = String(data: try Data(contentsOf: url), encoding: .utf8) else {
            throw ConfigurationError.malformed(file: url.path, line: nil, reason: "not valid UTF-8")
        }
        return try parse(text, file: url.path)
    }

    static func parse(_ text: String, file: String) throws -> [String: Any] {
        var result: [String: Any] = [:]
        var listKey: String?
        for (index, rawLine) in text.components(separatedBy: "\n").enumerated() {
            let line = stripComment(rawLine).trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line == "---" { continue }
            if line.hasPrefix("- ") || line == "-" {
                guard let key = listKey else {
                    throw ConfigurationError.malformed(file: file, line: index + 1, reason: "a list item without a key above it")
                }
                var list = result[key] as? [Any] ?? []
                list.append(scalar(String(line.dropFirst()).trimmingCharacters(in: .whitespaces)))
                result[key] = list
                continue
            }
            if rawLine.first == " " || rawLine.first == "\t" {
                throw ConfigurationError.malformed(file: file, line: index + 1, reason: "nested settings are not supported; expected 'key: value'")
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw ConfigurationError.malformed(file: file, line: index + 1, reason: "expected 'key: value'")
            }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else { throw ConfigurationError.malformed(file: file, line: index + 1, reason: "empty key") }
            if value.isEmpty {
                listKey = key
                result[key] = [Any]()
            } else {
                listKey = nil
                result[key] = value.hasPrefix("[") && value.hasSuffix("]")
                    ? value.dropFirst().dropLast().split(separator: ",").map { scalar($0.trimmingCharacters(in: .whitespaces)) }
                    : scalar(value)
            }
        }
        return result
    }

    private static func stripComment(_ line: String) -> String {
        var quote: Character?
        for (offset, character) in line.enumerated() {
            if character == "\"" || character == "'" { quote = quote == character ? nil : (quote ?? character) }
            if character == "#" && quote == nil && (offset == 0 || line[line.index(line.startIndex, offsetBy: offset - 1)] == " ") {
                return String(line.prefix(offset))
            }
        }
        return line
    }

    private static func scalar(_ text: String) -> Any {
        if text.count >= 2, let first = text.first, (first == "\"" || first == "'"), text.last == first {
            return String(text.dropFirst().dropLast())
        }
        switch text {
        case "true", "True", "yes": return true
        case "false", "False", "no": return false
        case "null", "~": return NSNull()
        default: break
        }
        if let integer = Int(text) { return integer }
        if let number = Double(text) { return number }
        return text
    }
}

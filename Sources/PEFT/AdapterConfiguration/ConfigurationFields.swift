/// JSON plumbing the method configurations share: typed reads whose errors name the file and
/// key, and write-back that keeps the file's unused fields and spelling.
struct FieldReader {
    let json: [String: JSONValue]
    let file: String

    /// Throws `unsupportedMethod` unless `peft_type` is absent or names `type`.
    func requirePeftType(_ types: Set<PeftType>) throws -> PeftType? {
        guard let name = json["peft_type"]?.stringValue else { return nil }
        guard let type = PeftType(rawValue: name), types.contains(type) else {
            throw AdapterError.unsupportedMethod(file: file, peftType: name)
        }
        return type
    }

    /// The field converted by `read`; nil when absent or null; an error naming `expected` otherwise.
    func value<T>(_ key: String, _ expected: String, _ read: (JSONValue) -> T?) throws -> T? {
        guard let value = json[key], !value.isNull else { return nil }
        guard let result = read(value) else { throw AdapterError.invalidField(file: file, key: key, expected: expected) }
        return result
    }

    func positiveInteger(_ key: String) throws -> Int? {
        try value(key, "a positive integer") { $0.intValue.flatMap { $0 > 0 ? $0 : nil } }
    }
    func bool(_ key: String) throws -> Bool? { try value(key, "a boolean", \.boolValue) }
    func string(_ key: String) throws -> String? { try value(key, "a string", \.stringValue) }
    func strings(_ key: String) throws -> [String]? {
        try value(key, "a list of strings") { value in value.arrayValue.flatMap { $0.map(\.stringValue) as? [String] } }
    }
    func selection(_ key: String) throws -> ModuleSelection? {
        try value(key, "a string or a list of strings", ModuleSelection.init(json:))
    }
    func integers(_ key: String) throws -> [Int]? {
        try value(key, "an integer or a list of integers") { value in
            value.intValue.map { [$0] } ?? value.arrayValue.flatMap { $0.map(\.intValue) as? [Int] }
        }
    }
    /// Refuses options that change the computation but are not implemented.
    func refuse(_ keys: Set<String>) throws {
        for key in keys.sorted() {
            if let value = json[key], !value.isEmptyDefault { throw AdapterError.unsupportedOption(key: key, value: "\(value)") }
        }
    }
}

/// The fields a configuration was read with, so unused ones round-trip unchanged.
struct FileFields: Equatable, Sendable {
    /// Every field as read.
    var fields: [String: JSONValue] = [:]
    /// The configuration's own encoding right after decoding, to tell which values changed since.
    var decoded: [String: JSONValue] = [:]

    static let bookkeeping: Set<String> = ["auto_mapping", "peft_version"]

    /// The fields to write: values unchanged since decoding keep the file's own spelling.
    func merged(with typed: [String: JSONValue]) -> [String: JSONValue] {
        var result = fields
        for (key, value) in typed where decoded[key] != value || fields[key] == nil { result[key] = value }
        return result
    }

    /// Fields set to something meaningful that the configuration does not read.
    func ignored(used: Set<String>) -> [String] {
        fields.keys.filter { !used.contains($0) && !Self.bookkeeping.contains($0) && !fields[$0]!.isEmptyDefault }.sorted()
    }
}

/// Whole numbers as JSON integers, others as doubles.
func jsonNumber(_ value: Double) -> JSONValue {
    value == value.rounded() && abs(value) < 1e15 ? .integer(Int(value)) : .number(value)
}

extension Optional where Wrapped == String {
    var json: JSONValue { map(JSONValue.string) ?? .null }
}

extension Optional where Wrapped == [String] {
    var json: JSONValue { map { .array($0.map(JSONValue.string)) } ?? .null }
}

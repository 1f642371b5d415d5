import Foundation

/// Errors reading a JSON file (config.json, tokenizer.json, adapter_config.json ...), each
/// naming the file and, where known, the key.
public enum JSONFileError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case malformed(file: String, reason: String)
    case missingKey(file: String, key: String)
    case wrongType(file: String, key: String, expected: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): "\(file): cannot read: \(reason)"
        case let .malformed(file, reason): "\(file): not valid JSON: \(reason)"
        case let .missingKey(file, key): "\(file): missing key '\(key)'"
        case let .wrongType(file, key, expected): "\(file): key '\(key)' should be \(expected)"
        }
    }
}

/// Decodes a `Decodable` value from a JSON file, mapping decoding failures to errors that name
/// the file and the key path.
///
/// ```swift
/// let config = try decodeJSONFile(BertConfiguration.self, from: folder.appendingPathComponent("config.json"))
/// ```
public func decodeJSONFile<Value: Decodable>(_ type: Value.Type, from url: URL) throws -> Value {
    let data: Data
    do {
        data = try Data(contentsOf: url)
    } catch {
        throw JSONFileError.unreadable(file: url.path, reason: error.localizedDescription)
    }
    do {
        return try JSONDecoder().decode(type, from: data)
    } catch let DecodingError.keyNotFound(key, context) {
        throw JSONFileError.missingKey(file: url.path, key: keyPath(context.codingPath + [key]))
    } catch let DecodingError.typeMismatch(type, context) {
        throw JSONFileError.wrongType(file: url.path, key: keyPath(context.codingPath), expected: "\(type)")
    } catch let DecodingError.valueNotFound(type, context) {
        throw JSONFileError.wrongType(file: url.path, key: keyPath(context.codingPath), expected: "\(type)")
    } catch let DecodingError.dataCorrupted(context) {
        throw JSONFileError.malformed(file: url.path, reason: context.underlyingError.map { "\($0)" } ?? context.debugDescription)
    } catch {
        throw JSONFileError.malformed(file: url.path, reason: "\(error)")
    }
}

private func keyPath(_ path: [CodingKey]) -> String {
    path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
}

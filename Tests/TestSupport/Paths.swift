import Foundation

/// The repository root, found from this source file's location.
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// `Fixtures/<name>` beside the calling test file.
public func fixtureURL(_ name: String, testFile: String = #filePath) -> URL {
    URL(fileURLWithPath: testFile).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
}

public struct MissingAsset: Error, CustomStringConvertible {
    public let path: String
    public var description: String { "missing asset \(path): run scripts/fetch-assets" }
}

/// The path of a real asset under `.cache/assets/`, or nil when it is absent on a developer
/// machine (the test then returns early). In CI (`CI` set) a missing asset is an error, so
/// real-model tests never silently skip there.
public func assetURL(_ relativePath: String) throws -> URL? {
    let url = repositoryRoot.appendingPathComponent(".cache/assets").appendingPathComponent(relativePath)
    if FileManager.default.fileExists(atPath: url.path) { return url }
    if ProcessInfo.processInfo.environment["CI"] != nil { throw MissingAsset(path: url.path) }
    return nil
}

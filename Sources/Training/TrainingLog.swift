import Foundation

/// One line of the training log.
public struct LogRecord: Codable, Sendable, Equatable {
    public enum Event: String, Codable, Sendable {
        case start, resume, step, evaluation, end
    }

    public var event: Event
    public var step: Int
    public var epoch: Double
    public var loss: Double?
    public var learningRate: Double?
    public var gradientNorm: Double?
    public var tokensPerSecond: Double?
    public var metrics: ClassificationMetrics?
    public var elapsedSeconds: Double?

    public init(event: Event, step: Int, epoch: Double, loss: Double? = nil, learningRate: Double? = nil,
                gradientNorm: Double? = nil, tokensPerSecond: Double? = nil, metrics: ClassificationMetrics? = nil,
                elapsedSeconds: Double? = nil) {
        self.event = event
        self.step = step
        self.epoch = epoch
        self.loss = loss
        self.learningRate = learningRate
        self.gradientNorm = gradientNorm
        self.tokensPerSecond = tokensPerSecond
        self.metrics = metrics
        self.elapsedSeconds = elapsedSeconds
    }

    enum CodingKeys: String, CodingKey {
        case event, step, epoch, loss, learningRate = "learning_rate", gradientNorm = "gradient_norm"
        case tokensPerSecond = "tokens_per_second", metrics, elapsedSeconds = "elapsed_seconds"
    }
}

/// Appends records to a JSON-lines file, one object per line, flushed as written.
///
/// ```swift
/// let log = try TrainingLog(url: output.appendingPathComponent("log.jsonl"), appending: false)
/// log.write(LogRecord(event: .step, step: 10, epoch: 0.1, loss: 0.61))
/// ```
public final class TrainingLog {
    public let url: URL
    private let handle: FileHandle
    private let encoder: JSONEncoder

    public init(url: URL, appending: Bool) throws {
        self.url = url
        if !appending || !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
    }

    deinit { try? handle.close() }

    public func write(_ record: LogRecord) {
        guard var line = try? encoder.encode(record) else { return }
        line.append(0x0A)
        try? handle.write(contentsOf: line)
    }
}

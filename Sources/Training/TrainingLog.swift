import Foundation

/// One line of the training log.
public struct LogRecord: Codable, Sendable, Equatable {
    public enum Event: String, Codable, Sendable {
        case start, resume, step, evaluation, end
        /// The run's measured peak memory beside the estimate made before it started.
        case memory
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
    /// Resident memory: the run's peak, at its start, and the estimator's peak of a training step.
    public var peakMemoryBytes: Int?
    public var startMemoryBytes: Int?
    public var estimatedPeakMemoryBytes: Int?

    public init(event: Event, step: Int, epoch: Double, loss: Double? = nil, learningRate: Double? = nil,
                gradientNorm: Double? = nil, tokensPerSecond: Double? = nil, metrics: ClassificationMetrics? = nil,
                elapsedSeconds: Double? = nil, peakMemoryBytes: Int? = nil, startMemoryBytes: Int? = nil,
                estimatedPeakMemoryBytes: Int? = nil) {
        self.event = event
        self.step = step
        self.epoch = epoch
        self.loss = loss
        self.learningRate = learningRate
        self.gradientNorm = gradientNorm
        self.tokensPerSecond = tokensPerSecond
        self.metrics = metrics
        self.elapsedSeconds = elapsedSeconds
        self.peakMemoryBytes = peakMemoryBytes
        self.startMemoryBytes = startMemoryBytes
        self.estimatedPeakMemoryBytes = estimatedPeakMemoryBytes
    }

    enum CodingKeys: String, CodingKey {
        case event, step, epoch, loss, learningRate = "learning_rate", gradientNorm = "gradient_norm"
        case tokensPerSecond = "tokens_per_second", metrics, elapsedSeconds = "elapsed_seconds"
        case peakMemoryBytes = "peak_memory_bytes", startMemoryBytes = "start_memory_bytes"
        case estimatedPeakMemoryBytes = "estimated_peak_memory_bytes"
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
